"""MultiWOZ 2.2 reader on the real sample (DialogStudio's 5-dialogue ``original_examples.json`` in the 2.2 record
schema, with the release's ``schema.json`` beside it). Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir


def _folder() -> Path:
    return samples_dir("multiwoz22") / "dialogstudio" / "task-oriented-dialogues" / "MULTIWOZ2_2"


def _raw() -> list[dict]:
    return json.loads((_folder() / "original_examples.json").read_text(encoding="utf-8"))


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _raw()
    dialogues = list(read_source("multiwoz22", _folder()))
    assert len(dialogues) == len(raw) == 5
    assert sum(len(d.turns) for d in dialogues) == sum(len(x["turns"]) for x in raw) == 46
    frames = [f for x in raw for t in x["turns"] for f in t["frames"]]
    got_frames = [f for d in dialogues for t in d.turns for f in t.annotations.extra["frames"]]
    assert len(got_frames) == len(frames) == 186
    n_state = sum(len(f["state"]["slot_values"]) for f in frames if "state" in f)
    assert sum(len(t.annotations.state) for d in dialogues for t in d.turns) == n_state
    n_spans = sum(len(f["slots"]) for f in frames)
    assert sum(len(f["slots"]) for f in got_frames) == n_spans == 9
    n_requested = sum(len(f["state"]["requested_slots"]) for f in frames if "state" in f)
    assert sum(len(f.get("state", {}).get("requested_slots", [])) for f in got_frames) == n_requested == 6
    n_intent_turns = sum(
        any(f.get("state", {}).get("active_intent", "NONE") != "NONE" for f in t["frames"])
        for x in raw
        for t in x["turns"]
    )
    assert sum(t.annotations.intent is not None for d in dialogues for t in d.turns) == n_intent_turns
    roles = [t.role for d in dialogues for t in d.turns]
    assert roles.count("user") == sum(t["speaker"] == "USER" for x in raw for t in x["turns"])


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("multiwoz22", _folder()))
    first = dialogues[0]
    assert first.dialogue_id == "multiwoz22/train/SSNG0007" and first.split == "train" and first.source == "multiwoz22"
    assert first.meta["original_id"] == "SSNG0007.json" and first.meta["services"] == ["restaurant"]
    assert first.meta["source_fields"] == {"filename": "dialogues_006"}
    assert [s["service_name"] for s in first.meta["schema"]] == ["restaurant"]
    t0 = first.turns[0]
    assert (t0.speaker, t0.role, t0.text) == ("USER", "user", "I am looking for a Chinese place in the centre.")
    assert t0.annotations.state == {"restaurant-area": ["centre"], "restaurant-food": ["chinese"]}
    assert t0.annotations.intent == "find_restaurant"
    span = t0.annotations.extra["frames"][0]["slots"][0]
    assert span == {"exclusive_end": 26, "slot": "restaurant-food", "start": 19, "value": "Chinese"}
    assert t0.text[span["start"] : span["exclusive_end"]] == "Chinese"
    assert t0.annotations.extra["turn_id"] == "0"
    t1 = first.turns[1]
    assert t1.role == "system" and t1.annotations.state == {} and t1.annotations.extra["frames"] == []
    assert t1.text == "I have 10 restaurants matching your request. Did you have a price range you would like?"
    t4 = first.turns[4]
    assert t4.annotations.intent == "book_restaurant" and t4.annotations.state["restaurant-booktime"] == ["15:00"]


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for d, source in zip(read_source("multiwoz22", _folder()), _raw(), strict=True):
        assert_fields_covered(source, d, mapped={"slot_values": "Annotations.state", "actions": "dialogue_acts"})


@pytest.mark.samples
def test_release_layout_splits_and_dialog_acts(tmp_path: Path) -> None:
    """The official layout (``train/``, ``dev/``, ``test/``; schema.json and dialog_acts.json at the top), made
    in tmp_path from the real dialogues; ``dev`` stays ``dev`` as with the sgd reader."""
    raw = _raw()
    root = tmp_path / "MultiWOZ_2.2"
    for name, part in (("train", raw[:2]), ("dev", raw[2:4]), ("test", raw[4:])):
        (root / name).mkdir(parents=True)
        (root / name / "dialogues_001.json").write_text(json.dumps(part), encoding="utf-8")
    shutil.copy(_folder() / "schema.json", root / "schema.json")
    acts = {
        "SSNG0007.json": {
            "0": {"dialog_act": {"Restaurant-Inform": [["food", "chinese"], ["area", "centre"]]}, "span_info": []},
            "1": {"dialog_act": {}, "span_info": []},
        }
    }
    (root / "dialog_acts.json").write_text(json.dumps(acts), encoding="utf-8")
    dialogues = list(read_source("multiwoz22", root))
    assert [(d.dialogue_id, d.split) for d in dialogues] == [
        ("multiwoz22/train/SSNG0007", "train"),
        ("multiwoz22/train/SNG1161", "train"),
        ("multiwoz22/validation/MUL1443", "validation"),
        ("multiwoz22/validation/SNG01678", "validation"),
        ("multiwoz22/test/MUL1170", "test"),
    ]
    t0, t1 = dialogues[0].turns[:2]
    assert [(a.domain, a.act, a.slot, a.values) for a in t0.annotations.dialogue_acts] == [
        ("Restaurant", "Inform", "food", ["chinese"]),
        ("Restaurant", "Inform", "area", ["centre"]),
    ]
    assert t0.annotations.extra["span_info"] == [] and t1.annotations.extra["dialog_act"] == {}
    assert [d.dialogue_id for d in read_source("multiwoz22", root / "dev")] == [
        "multiwoz22/validation/MUL1443",
        "multiwoz22/validation/SNG01678",
    ]


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    sgd = samples_dir("schema_guided_dialogue") / "train" / "dialogues_001.json"
    with pytest.raises(SourceFormatError, match=r"dialogues_001\.json, dialogue 0: not MultiWOZ 2\.2: services"):
        list(read_source("multiwoz22", sgd, on_error="skip"))
    mwoz21 = samples_dir("multiwoz") / "val.json"
    with pytest.raises(SourceFormatError, match=r"val\.json, top level: not MultiWOZ 2\.2"):
        list(read_source("multiwoz22", mwoz21))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw()
    raw[1]["turns"][2]["speaker"] = "WIZARD"
    bad = tmp_path / "dialogues_001.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"dialogues_001\.json, dialogue 1 \(SNG1161\.json\): turn 2"):
        list(read_source("multiwoz22", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("multiwoz22", bad, on_error=policy))) == 4
    assert [s.record for s in policy.skipped] == ["dialogue 1 (SNG1161.json)"]
