"""`mmdial export instructions`: records for every task the demo data supports, seeded template choice."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest

from mmdial_data import build_dataset, read_source
from mmdial_data.cli import main
from mmdial_data.exports.instructions import instruction_records, list_tasks, load_templates
from mmdial_data.testing import demo_dir, repo_root


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    build_dataset(repo_root() / "datasets" / "recipes" / "demo_all.yaml", out, progress=False)
    return out


def test_every_task_is_supported_by_the_demo_data(demo_build: Path, tmp_path: Path) -> None:
    assert main(["export", "instructions", str(tmp_path), "--data", str(demo_build), "--seed", "1"]) == 0
    records = [json.loads(line) for f in sorted(tmp_path.glob("*.jsonl")) for line in f.read_text().splitlines()]
    tasks = Counter(r["task"] for r in records)
    assert set(tasks) == set(list_tasks())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sum(sum(c.values()) for c in manifest["counts"].values()) == len(records)
    # exact counts derived from the demo inputs
    assert tasks["image_grounded_qa"] == 5  # VisDial demo: 3 + 2 rounds
    assert tasks["photo_sharing_intent"] == 3  # PhotoChat demo: photo at turn 2 and turn 1
    assert tasks["knowledge_grounded_response"] == 2  # WoW demo: two wizard turns with a checked sentence
    for r in records:
        assert set(r) == {"task", "instruction", "input", "output", "images", "source", "dialogue_id", "split",
                          "turn_index", "template_id"}  # fmt: skip
        assert r["instruction"] in load_templates()["tasks"][r["task"]]["instructions"] and r["output"]
    qa = next(r for r in records if r["task"] == "image_grounded_qa")
    assert qa["images"] == ["VisualDialog_val2018_000000000042.jpg"] and qa["output"] == "yes"
    assert qa["input"].startswith("Image caption: a cat sleeping on a sofa")
    dst = next(r for r in records if r["task"] == "dialogue_state_tracking" and r["source"] == "multiwoz")
    assert dst["output"] == "hotel-area=east; hotel-stars=4"


def test_template_choice_is_seeded_and_order_free() -> None:
    dialogues = list(read_source("dailydialog", demo_dir() / "dailydialog"))
    a = list(instruction_records(dialogues, ["response_generation"], seed=0))
    b = list(instruction_records(reversed(dialogues), ["response_generation"], seed=0))
    key = lambda r: (r["dialogue_id"], r["turn_index"])  # noqa: E731
    assert sorted(a, key=key) == sorted(b, key=key)
    c = list(instruction_records(dialogues, ["response_generation"], seed=5))
    assert [r["instruction"] for r in a] != [r["instruction"] for r in c]
    assert len({r["template_id"] for r in a + c}) > 1


def test_unknown_task_and_bad_usage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="did you mean 'emotion_detection'"):
        list(instruction_records([], ["emotion_detectoin"]))
    assert main(["export", "instructions", str(tmp_path), "--data", str(tmp_path / "nope.parquet")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["export"]) == 2


def test_source_bound_tasks_follow_their_templates_sources_list() -> None:
    photochat = list(read_source("photochat", demo_dir() / "photochat"))
    assert load_templates()["tasks"]["photo_sharing_intent"]["sources"] == ["photochat"]
    own = list(instruction_records(photochat, ["photo_sharing_intent"]))
    # one "no" per turn before the first photo and one "yes" at it, in each dialogue that shares a photo
    first = [next(i for i, t in enumerate(d.turns) if t.images) for d in photochat if any(t.images for t in d.turns)]
    assert Counter(r["output"] for r in own) == {"yes": len(first), "no": sum(f - 1 for f in first)}
    # the same dialogues under another source name: the task does not apply, whatever their images
    renamed = [dataclasses.replace(d, source="mine") for d in photochat]
    assert list(instruction_records(renamed, ["photo_sharing_intent"])) == []
    assert len(list(instruction_records(renamed, ["response_generation"]))) == len(
        list(instruction_records(photochat, ["response_generation"]))
    )
