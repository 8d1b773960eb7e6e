"""DialogStudio converted-format reader on the real SODA ``converted_examples.json`` (5 dialogues, whole) and on a
task-oriented entry written in the same format (dst, intent, side information as JSON text). Counts are computed
here from the raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.readers.dialogstudio import dialog_history
from mmdial_data.testing import assert_fields_covered, samples_dir

#: ``dialog history`` is rebuilt from the earlier turns (checked equal below) and kept only where it differs.
IGNORE = {"dialog history"}
MAPPED = {"user utterance": "Turn.text of the user turn", "system response": "Turn.text of the system turn"}


def _soda() -> Path:
    return samples_dir("dialogstudio_format") / "open-domain-dialogues" / "SODA" / "converted_examples.json"


def _raw() -> dict[str, dict]:
    return json.loads(_soda().read_text(encoding="utf-8"))


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _raw()
    dialogues = list(read_source("dialogstudio", samples_dir("dialogstudio_format") / "open-domain-dialogues"))
    assert len(dialogues) == len(raw) == 5
    assert [d.dialogue_id for d in dialogues] == [f"dialogstudio/train/SODA_PROCESSED/{i}" for i in range(1, 6)]
    entries = [e for x in raw.values() for e in x["log"]]
    assert len(entries) == 24
    turns = [t for d in dialogues for t in d.turns]
    n_user = sum(bool(e["user utterance"].strip()) for e in entries)
    n_system = sum(bool(e["system response"].strip()) for e in entries)
    assert len(turns) == n_user + n_system == 44
    assert sum(t.role == "user" for t in turns) == n_user and sum(t.role == "system" for t in turns) == n_system
    assert {d.split for d in dialogues} == {"train"}
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))
    for x in raw.values():  # the history the reader leaves out is exactly the rebuilt one
        assert [e["dialog history"] for e in x["log"]] == [dialog_history(x["log"], i) for i in range(len(x["log"]))]
    assert not any("dialog history" in t.annotations.extra for t in turns)


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("dialogstudio", _soda()))
    first = dialogues[0]
    assert first.meta["dataset"] == "SODA_PROCESSED" and first.meta["key"] == "SODA_PROCESSED--train--1"
    assert first.meta["dialog index"] == 1 and first.meta["original dialog id"] == ""
    assert first.meta["original dialog info"]["relation"] == "xNeed"
    assert first.meta["prompt"][0].startswith("Imagine you are Priest and you are talking to Veda.")
    t0, t1 = first.turns[:2]
    assert (t0.role, t0.text) == (
        "user",
        "Hi, Father. I'm Veda. I'm new to the area and was curious about your church. "
        "Could you tell me a little bit about it?",
    )
    assert t1.role == "system" and t1.text.startswith("Of course, Veda. Our church is based on the teachings")
    assert t0.annotations.extra == {"turn id": 1, "original user side information": {}}
    assert t1.annotations.extra == {"turn id": 1, "original system side information": {}}
    last = dialogues[1].turns[-1]  # the last entry has no system response: it stays with the user turn
    assert last.role == "user" and last.annotations.extra["system response"] == ""
    assert last.annotations.extra["turn id"] == 6


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for d, (key, source) in zip(read_source("dialogstudio", _soda()), _raw().items(), strict=True):
        assert_fields_covered({"key": key, **source}, d, ignore=IGNORE, mapped=MAPPED)


def _tod_entry() -> dict:
    log = [
        {
            "turn id": 1,
            "user utterance": "I am looking for a Chinese place in the centre.",
            "system response": "I have 10 restaurants matching your request.",
            "dialog history": "",
            "original user side information": json.dumps({"frames": [{"service": "restaurant", "slots": []}]}),
            "original system side information": "{}",
            "dst": "restaurant area centre , restaurant food chinese",
            "dst accumulated": "restaurant area centre , restaurant food chinese",
            "intent": "find_restaurant",
        },
        {
            "turn id": 2,
            "user utterance": "Book it for 4 at 15:00.",
            "system response": "",
            "dialog history": "not the rebuilt history",
            "original user side information": "{}",
            "original system side information": "{}",
            "dst": "restaurant bookpeople 4 , restaurant booktime 15:00",
            "dst accumulated": "restaurant area centre , restaurant bookpeople 4 , restaurant booktime 15:00 , "
            "restaurant food chinese",
            "intent": "book_restaurant",
        },
    ]
    return {
        "original dialog id": "SSNG0007.json",
        "dialog index": 1,
        "original dialog info": {"services": ["restaurant"]},
        "log": log,
        "external knowledge non-flat": {"metadata": {}, "intents": {"restaurant": ["find_restaurant"]}},
        "external knowledge": "( restaurant : ( name : jinling ) )",
        "dst knowledge": "( restaurant : ( area : ( centre ) ) )",
        "intent knowledge": "( restaurant : ( find_restaurant ) )",
        "prompt": ["This is a bot helping users to find a restaurant."],
    }


def test_task_oriented_entry(tmp_path: Path) -> None:
    """dst accumulated -> state, intent -> intent, dst and side information (JSON text here) verbatim in extra."""
    path = tmp_path / "MULTIWOZ2_2" / "converted_examples.json"
    path.parent.mkdir()
    raw = {"MULTIWOZ2_2--val--1": _tod_entry()}
    path.write_text(json.dumps(raw), encoding="utf-8")
    (d,) = read_source("dialogstudio", tmp_path)
    assert d.dialogue_id == "dialogstudio/validation/MULTIWOZ2_2/1" and d.split == "validation"
    u0, s0, u1 = d.turns
    assert u0.annotations.intent == "find_restaurant" and u1.annotations.intent == "book_restaurant"
    assert u0.annotations.state == {"restaurant-area": ["centre"], "restaurant-food": ["chinese"]}
    assert u1.annotations.state["restaurant-booktime"] == ["15:00"] and len(u1.annotations.state) == 4
    assert u0.annotations.extra["dst"] == "restaurant area centre , restaurant food chinese"
    assert json.loads(u0.annotations.extra["original user side information"])["frames"][0]["service"] == "restaurant"
    assert s0.annotations.extra["original system side information"] == "{}"
    assert u1.annotations.extra["dialog history"] == "not the rebuilt history"
    assert d.meta["external knowledge"] == "( restaurant : ( name : jinling ) )"
    assert_fields_covered({"key": "MULTIWOZ2_2--val--1", **raw["MULTIWOZ2_2--val--1"]}, d, ignore=IGNORE, mapped=MAPPED)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    original = samples_dir("soda") / "dialogstudio"
    files = sorted(original.rglob("original_examples.json"))
    assert files
    with pytest.raises(SourceFormatError, match=r"original_examples\.json, top level: not DialogStudio"):
        list(read_source("dialogstudio", files[0], on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"no DialogStudio converted_examples\.json in this folder"):
        list(read_source("dialogstudio", samples_dir("star")))
    convlab = samples_dir("convlab3_unified") / "data" / "unified_datasets" / "camrest" / "dummy_data.json"
    with pytest.raises(SourceFormatError, match=r"dummy_data\.json, top level: not DialogStudio"):
        list(read_source("dialogstudio", convlab))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw()
    key = list(raw)[2]
    raw[key]["log"][1]["user utterance"] = 7
    bad = tmp_path / "converted_examples.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"dialogue 'SODA_PROCESSED--train--3', log entry 1: user utterance"):
        list(read_source("dialogstudio", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("dialogstudio", bad, on_error=policy))) == 4
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(bad)
