"""ESConv reader on the real sample (FailedESConv.json, the first 20 of 196 conversations) and on broken input.

Expected counts are computed here from the raw JSON with ``json``, independently of the reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir
from mmdial_data.validate import validate_dialogue

MAPPED = {"speaker": "Turn.speaker", "annotation": "Annotations.extra"}


def _sample() -> Path:
    return samples_dir("esconv") / "FailedESConv.json"


@pytest.mark.samples
def test_counts_match_source() -> None:
    raw = json.loads(_sample().read_text(encoding="utf-8"))
    dialogues = list(read_source("esconv", _sample()))
    assert len(dialogues) == len(raw) == 20
    assert [d.dialogue_id for d in dialogues] == [f"esconv/failed/{i}" for i in range(len(raw))]
    assert {d.split for d in dialogues} == {"failed"}
    assert sum(len(d.turns) for d in dialogues) == sum(len(r["dialog"]) for r in raw) == 476
    turns = [t for d in dialogues for t in d.turns]
    raw_turns = [t for r in raw for t in r["dialog"]]
    n_strategy = sum(1 for t in raw_turns if "strategy" in t["annotation"])
    n_feedback = sum(1 for t in raw_turns if "feedback" in t["annotation"])
    assert sum(1 for t in turns if "strategy" in t.annotations.extra) == n_strategy == 243
    assert sum(1 for t in turns if "feedback" in t.annotations.extra) == n_feedback == 99
    n_listener = sum(1 for t in raw_turns if t["speaker"] == "listener")
    assert sum(1 for t in turns if t.role == "supporter") == n_listener
    assert sum(1 for t in turns if t.role == "seeker") == len(raw_turns) - n_listener
    for d, r in zip(dialogues, raw, strict=True):
        validate_dialogue(d)
        assert [t.text for t in d.turns] == [t["content"].strip() for t in r["dialog"]]
        assert d.meta["survey_score"] == r["survey_score"]
        assert {t.annotations.emotion for t in d.turns if t.role == "seeker"} == {r["emotion_type"]}
        assert {t.annotations.emotion for t in d.turns if t.role == "supporter"} <= {None}
        assert_fields_covered(r, d, mapped=MAPPED)


@pytest.mark.samples
def test_spot_checks() -> None:
    first = next(read_source("esconv", _sample().parent))  # the folder: FailedESConv.json, strategy.json skipped
    assert first.dialogue_id == "esconv/failed/0"
    assert first.meta["emotion_type"] == "depression" and first.meta["problem_type"] == "ongoing depression"
    assert first.meta["situation"] == "General depression made worse by the ongoing pandemic in my country."
    assert first.meta["survey_score"]["seeker"]["initial_emotion_intensity"] == "5"
    t0, t2, t4 = first.turns[0], first.turns[2], first.turns[4]
    assert (t0.speaker, t0.role, t0.text) == ("speaker", "seeker", "Hey there")
    assert t0.annotations.extra == {"raw_content": "Hey there\n"}
    assert (t2.speaker, t2.role, t2.text) == ("listener", "supporter", "hi")
    assert t2.annotations.extra == {"strategy": "Other"}
    assert t4.text == "I am depressed about the Covid-19 pandemic"
    assert t4.annotations.extra["feedback"] == "4" and t4.annotations.emotion == "depression"


@pytest.mark.samples
def test_split_override_and_train_default(tmp_path: Path) -> None:
    assert {d.split for d in read_source("esconv", _sample(), split="test")} == {"test"}
    copy = tmp_path / "ESConv.json"
    copy.write_bytes(_sample().read_bytes())
    assert next(read_source("esconv", copy)).dialogue_id == "esconv/train/0"


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    casino = samples_dir("casino") / "data" / "split" / "casino_train.json"
    with pytest.raises(SourceFormatError, match=r"casino_train\.json, item 0: not an ESConv file"):
        list(read_source("esconv", casino, on_error="skip"))  # refused whatever the policy
    strategy = _sample().parent / "strategy.json"
    with pytest.raises(SourceFormatError, match=r"strategy\.json, item 0: not an ESConv file"):
        list(read_source("esconv", strategy))
    with pytest.raises(SourceFormatError, match="no ESConv file"):
        list(read_source("esconv", samples_dir("casino")))
    empty = tmp_path / "ESConv.json"
    empty.write_text("[]")
    with pytest.raises(SourceFormatError, match="not an ESConv file"):
        list(read_source("esconv", empty))


@pytest.mark.samples
def test_bad_conversation_is_skipped_and_reported(tmp_path: Path) -> None:
    raw = json.loads(_sample().read_text(encoding="utf-8"))[:3]
    raw[1]["dialog"][3]["speaker"] = "robot"
    broken = tmp_path / "FailedESConv.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"conversation 1, turn 3: unknown speaker 'robot'"):
        list(read_source("esconv", broken))
    policy = ErrorPolicy("skip")
    kept = list(read_source("esconv", broken, on_error=policy))
    assert [d.dialogue_id for d in kept] == ["esconv/failed/0", "esconv/failed/2"]
    assert [(s.record, s.path) for s in policy.skipped] == [("conversation 1, turn 3", str(broken))]
