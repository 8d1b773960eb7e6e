"""mmdial_metrics.names is a copy of mmdial_data.registry + did_you_mean (metrics' core imports nothing of ours):
the two must give the same answers and the same messages."""

from __future__ import annotations

import pytest

import mmdial_data.registry as original
import mmdial_metrics.names as copy
from mmdial_data.names import did_you_mean


@pytest.mark.parametrize(("name", "choices"), [("ofline", ["offline", "openclip"]), ("zzz", ["b", "a"]), ("x", [])])
def test_did_you_mean_is_the_same(name: str, choices: list[str]) -> None:
    for list_known in (False, True):
        assert copy.did_you_mean(name, choices, list_known=list_known) == did_you_mean(
            name, choices, list_known=list_known
        )


def _messages(module: object) -> list[str]:
    loaded: list[str] = []

    def plugins(reg: object) -> None:
        loaded.append("scan")
        reg.register("plugged", 3)  # type: ignore[attr-defined]

    reg = module.Registry("shape", {"round": 1}, plugins=plugins, hint=" (or draw one)")  # type: ignore[attr-defined]
    out = [repr(reg.get("round")), str(loaded)]  # a built-in name: no plugin scan
    for bad in ("rund", "zzz"):
        with pytest.raises(KeyError) as info:
            reg.get(bad)
        assert isinstance(info.value, ValueError)
        out.append(str(info.value))
    out.append(str(loaded))
    with pytest.raises(ValueError) as taken:
        reg.register("plugged", 4)
    out += [str(taken.value), repr(reg.names()), repr(reg.items()), repr(reg.values()), str(len(reg))]
    other = reg.copy()
    other.register("square", 2)
    out += [repr("square" in reg), repr("square" in other), repr(other.unregister("square")), repr(list(other))]
    return out


def test_registry_copy_behaves_as_the_original() -> None:
    got = _messages(copy)
    assert got == _messages(original)
    assert got[2:5] == [
        "unknown shape 'rund'; did you mean 'round'? (or draw one)",
        "unknown shape 'zzz'; known: plugged, round (or draw one)",
        "['scan']",
    ]
