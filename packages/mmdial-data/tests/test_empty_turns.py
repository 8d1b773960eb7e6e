"""The schema's empty-turn rule (``mmdial_data.validate.drop_empty_turns``) on a real SGD dialogue.

SGD's released test files end some dialogues with a SYSTEM GOODBYE turn whose utterance is empty. Such a
turn (blank text, no image) leaves its dialogue, is kept whole in ``meta["empty_turns"]`` and is counted in
the build's card and ``mmdial convert``'s report; the dialogue itself is kept. The input here is the first
dialogue of the real sample ``train/dialogues_001.json`` with its last turn (SYSTEM GOODBYE, "Have a good
time!") blanked, written with the next dialogue into a temporary folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mmdial_data import read_source
from mmdial_data.build import build_dataset
from mmdial_data.cli import main
from mmdial_data.errors import ErrorPolicy, ValidationError
from mmdial_data.testing import samples_dir

pytestmark = pytest.mark.samples


def _sample() -> list[dict[str, Any]]:
    path = samples_dir("schema_guided_dialogue") / "train" / "dialogues_001.json"
    raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))[:2]
    return raw


def _write(tmp_path: Path, raw: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "dialogues_001.json").write_text(json.dumps(raw), encoding="utf-8")
    shutil.copy(samples_dir("schema_guided_dialogue") / "train" / "schema.json", folder / "schema.json")
    return folder


def _goodbye_blanked(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    raw = _sample()
    last = raw[0]["turns"][-1]
    assert (last["speaker"], [a["act"] for f in last["frames"] for a in f["actions"]]) == ("SYSTEM", ["GOODBYE"])
    original = json.loads(json.dumps(raw))
    last["utterance"] = ""
    return _write(tmp_path, raw), original


def test_an_empty_turn_leaves_its_dialogue_not_the_dialogue(tmp_path: Path) -> None:
    folder, original = _goodbye_blanked(tmp_path)
    first, second = read_source("sgd", folder)
    turns = original[0]["turns"]
    assert len(turns) == 24 and len(first.turns) == 23  # the 24 turns of 1_00000, less the blanked GOODBYE
    assert [t.text for t in first.turns] == [t["utterance"] for t in turns[:-1]]
    assert [t.turn_index for t in first.turns] == list(range(23))
    assert [t.annotations.dialogue_acts[0].act for t in first.turns[-2:]] == ["INFORM", "THANK_YOU"]  # turns 21, 22
    (dropped,) = first.meta["empty_turns"]
    assert (dropped["turn_index"], dropped["speaker"], dropped["role"], dropped["text"]) == (23, "SYSTEM", "system", "")
    assert [a["act"] for a in dropped["annotations"]["dialogue_acts"]] == ["GOODBYE"]  # nothing of the turn is lost
    assert dropped["annotations"]["extra"]["frames"][0]["service"] == "Restaurants_1"
    assert len(second.turns) == len(original[1]["turns"]) and "empty_turns" not in second.meta


def test_convert_and_build_report_the_dropped_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = _goodbye_blanked(tmp_path)
    assert main(["convert", "sgd", str(folder), "--out", str(tmp_path / "sgd.jsonl")]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"wrote 2 dialogues to {tmp_path / 'sgd.jsonl'}"
    assert err.strip() == "dropped 1 empty turns (no text, no image; kept in meta.empty_turns)"
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: sgd-empty\nsources:\n  - reader: sgd\n    paths: [{folder}]\n", encoding="utf-8")
    result = build_dataset(recipe, tmp_path / "build", progress=False)
    assert result.dialogues == 2 and not result.skipped
    assert result.per_source["sgd"]["empty_turns_dropped"] == 1
    assert result.counts["sgd"]["train"]["turns"] == 23 + len(_sample()[1]["turns"])
    card = (tmp_path / "build" / "card.md").read_text(encoding="utf-8")
    assert "| source | read | empty_turns_dropped | kept |" in card and "| sgd | 2 | 1 | 2 |" in card
    assert "Empty turns dropped: 1 (no text and no image" in card


def test_a_dialogue_left_without_turns_is_an_error_of_its_record(tmp_path: Path) -> None:
    raw = _sample()
    for t in raw[1]["turns"]:
        t["utterance"] = " \t"
    folder = _write(tmp_path, raw)
    with pytest.raises(ValidationError, match=r"dialogue sgd/train/1_00001: every turn is empty"):
        list(read_source("sgd", folder))
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in read_source("sgd", folder, on_error=policy)] == ["sgd/train/1_00000"]
    assert [s.reason for s in policy.skipped] == ["every turn is empty (no text, no image)"]
