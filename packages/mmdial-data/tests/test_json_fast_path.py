"""Small JSON files parsed whole give exactly what the incremental (ijson) parser gives, errors included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmdial_data.errors import SourceFormatError
from mmdial_data.readers import _common

pytest.importorskip("ijson")


def _run(path: Path, prefix: str) -> tuple[list[Any], str | None]:
    items: list[Any] = []
    try:
        for item in _common.iter_json_array(path, prefix):
            items.append(item)
    except SourceFormatError as exc:
        return items, str(exc)
    return items, None


@pytest.mark.parametrize(
    ("text", "prefix"),
    [
        ('[{"a": 1, "b": [1.5, null, true]}, {"a": "é \\u00e9"}, 12345678901234567890]', "item"),
        ('[{"a": 1}, {"a": ', "item"),  # truncated
        ('[{"a": 1}, {"a": NaN}]', "item"),  # not JSON: ijson rejects NaN
        ('[{"a": 1}] trailing', "item"),
        ('{"data": {"dialogs": [{"x": 1}, {"x": 2}]}}', "data.dialogs.item"),
        ('{"data": {"dialogs": {"x": 1}}}', "data.dialogs.item"),  # not a list at the path
        ('{"data": {}}', "data.dialogs.item"),  # no such path
        ("[]", "item"),
        ('[1, 2.0, -0.5e3, "x"]', "item"),
    ],
)
def test_whole_file_equals_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, prefix: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(text, encoding="utf-8")
    fast = _run(path, prefix)
    monkeypatch.setattr(_common, "WHOLE_FILE_JSON_BYTES", -1)
    incremental = _run(path, prefix)
    assert fast == incremental
    assert [type(x) for x in fast[0]] == [type(x) for x in incremental[0]]


def test_invalid_utf8_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b'[{"a": "ok"}, {"a": "\xff"}]')
    fast = _run(path, "item")
    monkeypatch.setattr(_common, "WHOLE_FILE_JSON_BYTES", -1)
    assert fast == _run(path, "item")
    assert fast[1] is not None
