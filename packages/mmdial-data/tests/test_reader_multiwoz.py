"""MultiWOZ reader: the real ConvLab-2 val.json slice (bare ids, CRLF) and the demo data.json (``.json`` ids)."""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


@pytest.mark.samples
def test_sample_counts_and_spot_checks() -> None:
    path = samples_dir("multiwoz") / "val.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    dialogues = list(read_source("multiwoz", path))
    assert len(dialogues) == len(raw) == 30
    assert sum(len(d.turns) for d in dialogues) == sum(len(v["log"]) for v in raw.values()) == 444
    n_acts = sum(len(pairs) for v in raw.values() for t in v["log"] for pairs in t["dialog_act"].values())
    assert sum(len(t.annotations.dialogue_acts) for d in dialogues for t in d.turns) == n_acts
    first = dialogues[0]
    assert first.dialogue_id == "multiwoz/validation/PMUL1635" and first.split == "validation"
    assert first.turns[0].text == "I need to book a hotel in the east that has 4 stars ."
    assert [t.role for t in first.turns[:3]] == ["user", "system", "user"]
    acts = [(a.domain, a.act, a.slot, a.values) for a in first.turns[0].annotations.dialogue_acts]
    assert acts == [("Hotel", "Inform", "Area", ["east"]), ("Hotel", "Inform", "Stars", ["4"])]
    assert first.turns[0].annotations.extra["span_info"][0] == ["Hotel-Inform", "Area", "east", 8, 8]
    state = first.turns[1].annotations.state
    assert state["hotel-area"] == ["east"] and state["hotel-stars"] == ["4"] and "hotel-name" not in state
    assert first.meta["goal"]["hotel"]["info"]["stars"] == "4"
    assert "hotel" in first.meta["domains"] and "train" in first.meta["domains"]


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = samples_dir("multiwoz") / "val.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for d, (key, source) in zip(read_source("multiwoz", path), raw.items(), strict=True):
        assert d.meta["original_id"] == key
        assert_fields_covered(source, d)


def test_demo_official_ids_and_list_files() -> None:
    path = demo_dir() / "multiwoz"
    dialogues = list(read_source("multiwoz", path))
    assert [(d.dialogue_id, d.split) for d in dialogues] == [
        ("multiwoz/train/SNG0001", "train"),
        ("multiwoz/validation/MUL0002", "validation"),
        ("multiwoz/test/PMUL0003", "test"),
    ]
    raw = json.loads((path / "data.json").read_text())
    for d, source in zip(dialogues, raw.values(), strict=True):
        assert_fields_covered(source, d)
    booked = dialogues[0].turns[3].annotations
    assert booked.state["hotel-book people"] == ["2"]
    assert booked.extra["metadata"]["hotel"]["book"]["booked"][0]["reference"] == "AB12CD34"
    assert dialogues[1].turns[1].annotations.state["train-leaveAt"] == ["dontcare"]
    assert dialogues[2].turns[0].annotations.extra["dialog_act"] == "No Annotation"


def test_coverage_check_detects_a_dropped_field() -> None:
    path = demo_dir() / "multiwoz" / "data.json"
    source = next(iter(json.loads(path.read_text()).values()))
    d = next(read_source("multiwoz", path))
    d.turns[0].annotations.extra.pop("span_info")
    with pytest.raises(AssertionError, match="span_info"):
        assert_fields_covered(source, d)


def test_truncated_file_names_file_and_record(tmp_path) -> None:
    text = (demo_dir() / "multiwoz" / "data.json").read_text()
    bad = tmp_path / "val.json"
    bad.write_text(text[: text.index('"MUL0002.json"') + 40])
    with pytest.raises(SourceFormatError, match=r"val\.json, .*(MUL0002|SNG0001|line)"):
        list(read_source("multiwoz", bad))
    policy = ErrorPolicy("skip")
    got = list(read_source("multiwoz", bad, on_error=policy))
    assert [d.dialogue_id for d in got] == ["multiwoz/validation/SNG0001"]
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(bad)


def test_malformed_dialogue_is_skipped_and_reported(tmp_path) -> None:
    data = json.loads((demo_dir() / "multiwoz" / "data.json").read_text())
    data["MUL0002.json"]["log"][1]["dialog_act"] = {"TrainInform": [["Leave", "09:00"]]}
    bad = tmp_path / "test.json"
    bad.write_text(json.dumps(data))
    message = r"test\.json, dialogue MUL0002\.json, turn 1: dialog act 'TrainInform'"
    with pytest.raises(SourceFormatError, match=message):
        list(read_source("multiwoz", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("multiwoz", bad, on_error=policy))) == 2
    assert policy.skipped[0].record == "dialogue MUL0002.json, turn 1"
