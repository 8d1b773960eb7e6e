"""The base install reads and builds without the optional ``stream`` extra (msgspec, ijson), with the same results.

``nox -s deps-mmdial-data`` checks the imports in a venv without them; this checks the outputs, here, with msgspec
and ijson made unimportable (``sys.modules[name] = None``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mmdial_data import read_source, write_dialogues
from mmdial_data.build import build_dataset
from mmdial_data.testing import demo_dir, repo_root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _inputs(tmp_path: Path) -> Path:
    """A PhotoChat folder whose file msgspec would decode (``photo_id`` and string ids: not the Arrow path), and a
    recipe over it and the demo recipe's sources; no re-split, so PhotoChat takes the columnar path."""
    demo = json.loads((demo_dir() / "photochat" / "train" / "train_00.json").read_text())
    items = [{**demo[i % 2], "dialogue_id": f"d{i}", "photo_id": f"p{i}"} for i in range(5)]
    folder = tmp_path / "pc" / "train"
    folder.mkdir(parents=True)
    (folder / "train_00.json").write_text(json.dumps(items))
    demo_recipe = (repo_root() / "datasets" / "recipes" / "demo.yaml").read_text()
    body = demo_recipe.replace("../demo/", f"{repo_root() / 'datasets' / 'demo'}/").replace(
        "sources:\n", f"sources:\n  - reader: photochat\n    paths: [{tmp_path / 'pc'}]\n", 1
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(body)
    return recipe


def _without_stream_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mmdial_data import validate
    from mmdial_data.readers import photochat

    for name in ("msgspec", "ijson"):
        monkeypatch.setitem(sys.modules, name, None)  # import msgspec -> ImportError
    for module, cached in ((validate, "_utf8_json_encoder"), (photochat, "_typed_item")):  # as in a fresh process
        monkeypatch.setattr(module, cached, getattr(module, cached).__wrapped__)


def test_build_and_convert_without_msgspec_and_ijson_give_identical_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("msgspec")
    recipe = _inputs(tmp_path)
    with_extra = build_dataset(recipe, tmp_path / "with", progress=False, read_ahead=False)
    write_dialogues(read_source("photochat", tmp_path / "pc"), tmp_path / "with.jsonl")
    _without_stream_extra(monkeypatch)
    without = build_dataset(recipe, tmp_path / "without", progress=False, read_ahead=False)
    write_dialogues(read_source("photochat", tmp_path / "pc"), tmp_path / "without.jsonl")
    assert without.dialogues == with_extra.dialogues == 13
    assert _files(tmp_path / "without") == _files(tmp_path / "with")
    assert (tmp_path / "without.jsonl").read_bytes() == (tmp_path / "with.jsonl").read_bytes()
