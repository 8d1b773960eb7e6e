"""PhotoChat reader: the real test_00.json slice and the hand-written demo in the release format."""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir

MAPPED = {"message": "Turn.text (empty on the image turn)", "share_photo": "Turn.images"}


@pytest.mark.samples
def test_sample_counts_and_spot_checks() -> None:
    path = samples_dir("photochat") / "test" / "test_00.json"
    raw = json.loads(path.read_text())
    dialogues = list(read_source("photochat", samples_dir("photochat")))
    assert len(dialogues) == len(raw) == 20
    assert sum(len(d.turns) for d in dialogues) == sum(len(x["dialogue"]) for x in raw) == 292
    first = dialogues[0]
    assert first.dialogue_id == "photochat/test/test_00/0" and first.split == "test"
    image_turns = [t for d in dialogues for t in d.turns if t.images]
    assert len(image_turns) == 20 and all(t.text == "" for t in image_turns)
    shared = first.turns[11]
    assert shared.images[0].uri == raw[0]["photo_url"] and shared.images[0].caption == raw[0]["photo_description"]
    assert shared.annotations.extra == {"share_photo": True} and shared.role == "speaker_a"
    assert first.turns[0].role == "speaker_b" and first.turns[0].text == "How are you?"


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = samples_dir("photochat") / "test" / "test_00.json"
    for d, source in zip(read_source("photochat", path), json.loads(path.read_text()), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


def test_demo_and_coverage() -> None:
    # Written by hand from google-research multimodalchat/photochat README (JSON list, share_photo turns).
    path = demo_dir() / "photochat" / "train" / "train_00.json"
    dialogues = list(read_source("photochat", path))
    assert [d.dialogue_id for d in dialogues] == ["photochat/train/train_00/0", "photochat/train/train_00/1"]
    assert (
        dialogues[1].turns[1].images[0].image_id == "ffee0011"
        and dialogues[0].turns[2].images[0].image_id == "0a1b2c3d"
    )
    for d, source in zip(dialogues, json.loads(path.read_text()), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


def test_errors_name_file_and_record(tmp_path) -> None:
    raw = json.loads((demo_dir() / "photochat" / "train" / "train_00.json").read_text())
    raw[0]["dialogue"][1]["message"] = "  "
    path = tmp_path / "dev_00.json"
    path.write_text(json.dumps(raw))
    first, _ = read_source("photochat", path)  # the blank turn leaves its dialogue (the empty-turn rule)
    assert len(first.turns) == len(raw[0]["dialogue"]) - 1 and first.meta["empty_turns"][0]["turn_index"] == 1
    assert first.dialogue_id == "photochat/validation/dev_00/0" and first.meta["source_split"] == "dev"
    raw[0]["dialogue"][1]["user_id"] = 5
    path.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"dev_00\.json, item 0 \(dialogue_id 0\), turn 1: user_id 5"):
        list(read_source("photochat", path))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("photochat", path, on_error=policy))) == 1 and len(policy.skipped) == 1
    path.write_text(json.dumps(raw)[:-40])
    policy = ErrorPolicy("skip")
    assert list(read_source("photochat", path, on_error=policy)) == []
    assert policy.skipped[-1].path == str(path) and "truncated" in policy.skipped[-1].reason
