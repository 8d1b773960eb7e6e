"""STAR reader on the real sample (RasaHQ/STAR ``dialogues/*.json`` with the lowest ids, byte for byte). Counts
are computed here from the raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir

#: Agent maps onto ``Turn.speaker``/``role``.
MAPPED = {"Agent": "Turn.speaker"}


def _folder() -> Path:
    return samples_dir("star") / "dialogues"


def _raw() -> list[dict]:
    files = sorted(_folder().glob("*.json"), key=lambda p: int(p.stem))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def _is_turn(e: dict) -> bool:
    return e["Agent"] in ("User", "Wizard") and e["Action"] in ("utter", "pick_suggestion")


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _raw()
    dialogues = list(read_source("star", _folder()))
    assert len(dialogues) == len(raw) and len(raw) >= 17
    assert [d.dialogue_id for d in dialogues] == [f"star/full/{x['DialogueID']}" for x in raw]
    events = [e for x in raw for e in x["Events"]]
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == sum(_is_turn(e) for e in events)
    assert sum(t.role == "user" for t in turns) == sum(_is_turn(e) and e["Agent"] == "User" for e in events)
    acts = sum(_is_turn(e) and "ActionLabel" in e for e in events)
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == acts
    kept = sum(len(t.annotations.extra.get("events_before", [])) for t in turns)
    kept += sum(len(d.meta.get("events_after_last_turn", [])) for d in dialogues)
    assert kept == sum(not _is_turn(e) for e in events)
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    first = next(iter(read_source("star", _folder() / "1.json")))
    assert first.meta["Scenario"]["Domains"] == ["doctor"] and first.meta["CompletionLevel"] == "Complete"
    t0, t1 = first.turns[:2]
    assert (t0.speaker, t0.role) == ("User", "user")
    assert (
        t0.text
        == "Hello, I'm really worried. I forgot what I'm supposed to do and forgot to write it down... What do I do?"
    )
    assert t0.annotations.extra["events_before"][0]["Action"] == "instruct"
    assert (t1.speaker, t1.role, t1.text) == ("Wizard", "system", "Could I get your name, please?")
    assert t1.annotations.extra["ActionLabelOptions"] == ["ask_name", "goodbye_1"]
    assert t1.annotations.extra["events_before"][-1] == {
        "Action": "request_suggestions",
        "Agent": "Wizard",
        "Text": "What is your name? ",
        "UnixTime": 1589375711,
    }
    query = next(e for t in first.turns for e in t.annotations.extra.get("events_before", []) if e["Action"] == "query")
    assert query["APIName"] == "doctor_followup"
    assert first.meta["events_after_last_turn"] == [{"Action": "complete", "Agent": "User", "UnixTime": 1589375965}]


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for d, source in zip(read_source("star", _folder()), _raw(), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    convlab = samples_dir("convlab3_unified") / "data" / "unified_datasets" / "camrest" / "dummy_data.json"
    with pytest.raises(SourceFormatError, match=r"dummy_data\.json, top level: not STAR"):
        list(read_source("star", convlab, on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"corpus\.json, top level: not STAR"):
        list(read_source("star", samples_dir("convokit_subreddit_cornell") / "data" / "corpus.json"))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    for x in _raw()[:3]:
        (tmp_path / f"{x['DialogueID']}.json").write_text(json.dumps(x), encoding="utf-8")
    bad = json.loads((tmp_path / "2.json").read_text(encoding="utf-8"))
    index = next(i for i, e in enumerate(bad["Events"]) if _is_turn(e))
    del bad["Events"][index]["Text"]
    (tmp_path / "2.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=rf"2\.json, dialogue 2, event {index}: an utterance needs a Text"):
        list(read_source("star", tmp_path))
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in read_source("star", tmp_path, on_error=policy)] == ["star/full/1", "star/full/3"]
    assert len(policy.skipped) == 1
