"""VisDial v1.0 reader: the real val slice (pools by index) and a hand-written demo file in the same format."""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


@pytest.mark.samples
def test_sample_counts_and_spot_checks() -> None:
    path = samples_dir("visdial") / "visdial_1.0_val.json"
    raw = json.loads(path.read_text())
    dialogs = raw["data"]["dialogs"]
    dialogues = list(read_source("visdial", path))
    assert len(dialogues) == len(dialogs) == 33
    rounds = sum(len(d["dialog"]) for d in dialogs)
    assert rounds == 330 and sum(len(d.turns) for d in dialogues) == len(dialogs) + 2 * rounds
    first = dialogues[0]
    assert first.dialogue_id == "visdial/validation/185565" and first.meta["image_id"] == 185565
    image = first.turns[0].images[0]
    assert (image.level, image.source, image.uri) == ("shared", "coco", "VisualDialog_val2018_000000185565.jpg")
    assert first.turns[0].text == "a bedroom is filled with lots of posters and a busy computer desk"
    r0 = dialogs[0]["dialog"][0]
    assert first.turns[1].text == raw["data"]["questions"][r0["question"]]
    assert first.turns[2].text == raw["data"]["answers"][r0["answer"]]
    extra = first.turns[2].annotations.extra
    assert (
        len(extra["answer_options"]) == 100 and extra["answer_option_texts"][extra["gt_index"]] == first.turns[2].text
    )
    assert [t.role for t in first.turns[:3]] == ["caption", "questioner", "answerer"]
    assert all(not t.images for d in dialogues for t in d.turns[1:])


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = samples_dir("visdial") / "visdial_1.0_val.json"
    dialogs = json.loads(path.read_text())["data"]["dialogs"]
    for d, source in zip(read_source("visdial", path), dialogs, strict=True):
        assert_fields_covered(source, d)


def test_demo_and_coverage() -> None:
    # Written by hand from the VisDial v1.0 format description (visualdialog.org/data, "Dataset format").
    path = demo_dir() / "visdial" / "visdial_1.0_val.json"
    raw = json.loads(path.read_text())
    dialogues = list(read_source("visdial", path))
    assert [len(d.turns) for d in dialogues] == [7, 5]
    assert dialogues[1].turns[3].text == "is it sunny" and dialogues[1].turns[4].text == "no"
    for d, source in zip(dialogues, raw["data"]["dialogs"], strict=True):
        assert_fields_covered(source, d)


def test_test_split_without_answers(tmp_path) -> None:
    raw = json.loads((demo_dir() / "visdial" / "visdial_1.0_val.json").read_text())
    raw["split"] = "test2018"
    last = raw["data"]["dialogs"][0]["dialog"][-1]
    del last["answer"], last["gt_index"]
    path = tmp_path / "visdial_1.0_test.json"
    path.write_text(json.dumps(raw))
    d = next(read_source("visdial", path))
    assert d.dialogue_id == "visdial/test/42" and d.turns[0].images[0].uri == "VisualDialog_test2018_000000000042.jpg"
    assert len(d.turns) == 6 and d.turns[-1].role == "questioner"
    assert len(d.turns[-1].annotations.extra["answer_options"]) == 4


def test_bad_index_and_truncation_name_file_and_record(tmp_path) -> None:
    raw = json.loads((demo_dir() / "visdial" / "visdial_1.0_val.json").read_text())
    raw["data"]["dialogs"][1]["dialog"][0]["answer"] = 999
    path = tmp_path / "visdial_1.0_val.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"dialog 1 \(image_id 7\), round 0: answer index 999 out of range"):
        list(read_source("visdial", path))
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in read_source("visdial", path, on_error=policy)] == ["visdial/validation/42"]
    assert policy.skipped[0].record == "dialog 1 (image_id 7), round 0"
    text = (demo_dir() / "visdial" / "visdial_1.0_val.json").read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(SourceFormatError, match=r"visdial_1\.0_val\.json"):
        list(read_source("visdial", path))
