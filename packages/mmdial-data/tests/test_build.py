"""The recipe builder: shards, card, provenance, determinism, skip reporting."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmdial_data import MMDialDataError, build_dataset, read_dialogues
from mmdial_data.testing import broken_dailydialog, demo_dir, repo_root

DEMO_RECIPE = Path(repo_root() or ".") / "datasets" / "recipes" / "demo.yaml"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_build_outputs_and_counts(tmp_path: Path) -> None:
    result = build_dataset(DEMO_RECIPE, tmp_path, progress=False)
    assert result.dialogues == 8
    assert sorted(str(p.relative_to(tmp_path)) for p in result.shards) == [
        "data/train/part-00000.parquet",
        "data/validation/part-00000.parquet",
    ]
    assert len(list(read_dialogues(tmp_path / "data"))) == 8
    card = (tmp_path / "card.md").read_text()
    assert "| dailydialog | train | 3 | 12 | 0 |" in card
    assert "| sgd | train | 2 | 7 | 0 |" in card
    assert "![turn lengths](turn_lengths.svg)" in card
    svg = ET.parse(tmp_path / "turn_lengths.svg").getroot()
    bars = svg.findall(".//{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}rect")
    assert sum(int(b.findtext("{http://www.w3.org/2000/svg}title").rsplit(", ", 1)[1]) for b in bars) == sum(
        c["turns"] for v in result.counts.values() for c in v.values()
    )
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["config"]["name"] == "demo" and prov["seed"] == 0
    assert "mmdial-data" in prov["versions"] and "pyarrow" in prov["versions"]
    assert set(prov["git"]) == {"commit", "dirty"}
    assert any(k.endswith("dialogues_train.txt") for k in prov["inputs"])
    assert all(len(h) == 64 for h in prov["inputs"].values())
    assert set(prov["outputs"]) == {"data/train/part-00000.parquet", "data/validation/part-00000.parquet"}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    build_dataset(DEMO_RECIPE, tmp_path / "a", progress=False)
    build_dataset(DEMO_RECIPE, tmp_path / "b", progress=False)
    build_dataset(DEMO_RECIPE, tmp_path / "a", progress=False)  # over an earlier build
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def _recipe(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shard_size_filters_and_cap(tmp_path: Path) -> None:
    recipe = _recipe(
        tmp_path,
        f"""
name: capped
seed: 3
shard_size: 1
sources:
  - reader: dailydialog
    paths: [{demo_dir() / "dailydialog"}]
    max_dialogues: 2
  - reader: sgd
    paths: [{demo_dir() / "sgd" / "train"}]
filters:
  min_turns: 3
""",
    )
    result = build_dataset(recipe, tmp_path / "out", progress=False)
    assert result.counts["dailydialog"]["train"]["dialogues"] == 2
    assert result.filtered == {"min_turns": 1}  # the 2-turn SGD dialogue
    assert len(result.shards) == result.dialogues == 3
    again = build_dataset(recipe, tmp_path / "out2", progress=False)
    assert [d.dialogue_id for d in read_dialogues(tmp_path / "out" / "data")] == [
        d.dialogue_id for d in read_dialogues(tmp_path / "out2" / "data")
    ]
    assert again.dialogues == 3


def test_skip_mode_writes_skips_into_card(tmp_path: Path) -> None:
    dd = broken_dailydialog(tmp_path)
    recipe = _recipe(tmp_path, f"name: skip\nsources:\n  - reader: dailydialog\n    paths: [{dd}]\n")
    with pytest.raises(MMDialDataError, match="line 2: 3 utterances but 2 act"):
        build_dataset(recipe, tmp_path / "out", progress=False)
    result = build_dataset(recipe, tmp_path / "out", on_error="skip", progress=False)
    assert result.dialogues == 2 and len(result.skipped) == 1
    card = (tmp_path / "out" / "card.md").read_text()
    assert "| line 2 | 3 utterances but 2 act and 3 emotion labels |" in card
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["skipped"][0]["record"] == "line 2"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name: x\nsources: []\ncolour: red\n", "unknown key 'colour'"),
        ("name: x\nsources:\n  - reader: sgd\n", "'reader' and 'paths' are required"),
        ("name: x\nsources: []\non_error: ignore\n", "'on_error' must be 'raise' or 'skip'"),
        ("name: [unclosed\n", "invalid recipe"),
        ("name: x\nsources:\n  - reader: sgd\n    paths: ['${MMDIAL_UNSET_VAR_FOR_TEST}/x']\n", "MMDIAL_UNSET_VAR"),
    ],
)
def test_bad_recipes(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises((MMDialDataError, ValueError), match=message):
        build_dataset(_recipe(tmp_path, body), tmp_path / "out", progress=False)


@pytest.mark.parametrize("read_ahead", [False, True])
def test_lone_surrogates_are_reported_with_their_record(tmp_path: Path, read_ahead: bool) -> None:
    """A JSON "\\ud800" escape decodes to a string that UTF-8 (so Arrow and Parquet) cannot hold: the build
    names the dialogue (raise) or skips and reports it (skip) instead of failing somewhere in the writer."""
    demo = json.loads((demo_dir() / "photochat" / "train" / "train_00.json").read_text())
    items = [{**demo[i % 2], "dialogue_id": i} for i in range(6)]  # the second shares its photo in turn 1
    items[0] = {**items[0], "dialogue": [{**items[0]["dialogue"][0], "message": "hi \ud800"}, *demo[0]["dialogue"][1:]]}
    items[3] = {**items[3], "photo_description": "a \udfff photo"}
    folder = tmp_path / "pc" / "train"
    folder.mkdir(parents=True)
    (folder / "train_00.json").write_text(json.dumps(items))  # ASCII JSON: the surrogates as \u escapes
    recipe = _recipe(tmp_path, f"name: sur\nsources:\n  - reader: photochat\n    paths: [{tmp_path / 'pc'}]\n")
    with pytest.raises(MMDialDataError, match="turn 0 text: a string is not valid Unicode"):
        build_dataset(recipe, tmp_path / "out", progress=False, read_ahead=read_ahead)
    result = build_dataset(recipe, tmp_path / "out", on_error="skip", progress=False, read_ahead=read_ahead)
    assert [(s.record, s.reason.split(":")[0]) for s in result.skipped] == [
        ("dialogue photochat/train/train_00/0", "turn 0 text"),
        ("dialogue photochat/train/train_00/3", "meta"),  # the description is in meta before the image
    ]
    assert result.dialogues == 4
    assert [d.dialogue_id[-1] for d in read_dialogues(tmp_path / "out" / "data")] == ["1", "2", "4", "5"]
    assert len(json.loads((tmp_path / "out" / "provenance.json").read_text())["skipped"]) == 2
