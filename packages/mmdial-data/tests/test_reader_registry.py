"""The reader registry: built-in readers, readers registered at run time, and ``mmdial.readers`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

import mmdial_data.readers as readers


@pytest.fixture()
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty registry whose entry-point scan finds one plugin reader; returns the groups scanned."""
    scanned: list[str] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        scanned.append(group)
        value = "mmdial_data.readers.dailydialog:read_dailydialog"
        return [EntryPoint("plugin_chat", value, group), EntryPoint("photochat", "elsewhere:read", group)]

    monkeypatch.setattr(readers, "_REGISTRY", {})
    monkeypatch.setattr(readers, "_LOADED_ENTRY_POINTS", False)
    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    return scanned


def test_builtin_reader_needs_no_entry_point_scan(fresh_registry: list[str]) -> None:
    assert readers.get_reader("photochat").target == "mmdial_data.readers.photochat:read_photochat"
    assert fresh_registry == []  # the scan (all installed distributions) is skipped for a built-in name


def test_entry_point_readers_are_found_and_never_replace_builtins(fresh_registry: list[str]) -> None:
    info = readers.get_reader("plugin_chat")
    assert (info.name, info.target) == ("plugin_chat", "mmdial_data.readers.dailydialog:read_dailydialog")
    assert fresh_registry == ["mmdial.readers"]
    assert readers.get_reader("photochat").target == "mmdial_data.readers.photochat:read_photochat"
    names = [r.name for r in readers.list_readers()]
    assert "plugin_chat" in names and names.count("photochat") == 1 and fresh_registry == ["mmdial.readers"]
    with pytest.raises(KeyError, match="did you mean 'plugin_chat'"):
        readers.get_reader("plugin_chta")


def test_runtime_registration_rejects_taken_names(fresh_registry: list[str]) -> None:
    def read_nothing(path: Any, *, split: Any, policy: Any) -> Any:
        return iter(())

    readers.register_reader("nothing", "reads nothing")(read_nothing)
    assert readers.get_reader("nothing").target is read_nothing
    with pytest.raises(ValueError, match="already registered"):
        readers.register_reader("plugin_chat", "taken by an entry point")(read_nothing)
