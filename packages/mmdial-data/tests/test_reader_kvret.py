"""KVRET reader on the real slice (first 25 dialogues of kvret_dev_public.json, original bytes, and the whole
kvret_entities.json). Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir

#: The assistant's ``slots`` are mapped onto ``Annotations.state``.
MAPPED = {"slots": "Annotations.state"}


def _folder() -> Path:
    return samples_dir("kvret") / "data" / "KVR"


def _raw() -> list[dict]:
    return json.loads((_folder() / "kvret_dev_public.json").read_text(encoding="utf-8"))


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _raw()
    dialogues = list(read_source("kvret", _folder()))  # the entities file beside it is skipped
    assert len(dialogues) == len(raw) == 25
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == sum(len(x["dialogue"]) for x in raw) == 124
    assert sum(t.role == "user" for t in turns) == sum(t["turn"] == "driver" for x in raw for t in x["dialogue"])
    n_slots = sum(len(t["data"].get("slots", {})) for x in raw for t in x["dialogue"])
    assert sum(len(t.annotations.state) for t in turns) == n_slots
    n_requested = sum(v is True for x in raw for t in x["dialogue"] for v in t["data"].get("requested", {}).values())
    assert sum(len(t.annotations.extra.get("requested_slots", [])) for t in turns) == n_requested
    n_rows = sum(len(x["scenario"]["kb"]["items"] or []) for x in raw)
    assert sum(len(d.meta["kb"]["items"] or []) for d in dialogues) == n_rows
    domains = [x["scenario"]["task"]["intent"] for x in raw]
    assert [d.meta["domain"] for d in dialogues] == domains
    assert {domains.count(k) for k in ("navigate", "schedule", "weather")} == {7, 8, 10}


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("kvret", _folder() / "kvret_dev_public.json"))
    first = dialogues[0]
    assert (first.dialogue_id, first.split) == ("kvret/validation/95c74b9f-b560-41ff-95da-6581d70514f9", "validation")
    assert first.meta["kb"] == {
        "items": None,
        "column_names": ["event", "time", "date", "room", "agenda", "party"],
        "kb_title": "calendar",
    }
    d0, a0, d1, a1 = first.turns
    assert d1.text == "Monday at 3pm."
    assert (d0.speaker, d0.role) == ("driver", "user")
    assert d0.text == "make an appointment to reserve conference room 100 later this week for a meeting"
    assert d0.annotations.state == {} and d0.annotations.extra == {"end_dialogue": False}
    assert (a0.speaker, a0.role) == ("assistant", "system")
    assert a0.annotations.state == {"event": ["meeting"], "agenda": ["for a meeting"], "room": ["conference room 100"]}
    assert a0.annotations.extra["requested_slots"] == ["room", "agenda", "event"]
    assert a1.annotations.state == {"date": ["Monday "], "time": ["3pm"]}  # as written, trailing space kept
    weather = next(d for d in dialogues if d.meta["domain"] == "weather" and d.meta["kb"]["items"])
    assert weather.meta["kb"]["kb_title"] == "weekly forecast"


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for d, source in zip(read_source("kvret", _folder() / "kvret_dev_public.json"), _raw(), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    with pytest.raises(SourceFormatError, match=r"kvret_entities\.json, top level: not KVRET dialogues"):
        list(read_source("kvret", _folder() / "kvret_entities.json", on_error="skip"))
    woz = samples_dir("woz2.0") / "data" / "woz" / "woz_train_en.json"
    with pytest.raises(SourceFormatError, match=r"woz_train_en\.json, dialogue 0: not KVRET"):
        list(read_source("kvret", woz))
    schema = samples_dir("multiwoz22") / "data" / "MultiWOZ_2.2" / "schema.json"
    with pytest.raises(SourceFormatError, match=r"schema\.json, dialogue 0: not KVRET"):
        list(read_source("kvret", schema))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw()
    raw[4]["dialogue"][1]["turn"] = "passenger"
    bad = tmp_path / "kvret_test_public.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    uuid = raw[4]["scenario"]["uuid"]
    with pytest.raises(SourceFormatError, match=rf"kvret_test_public\.json, dialogue 4 \({uuid}\), turn 1: unknown"):
        list(read_source("kvret", bad))
    policy = ErrorPolicy("skip")
    got = list(read_source("kvret", bad, on_error=policy))
    assert len(got) == 24 and {d.split for d in got} == {"test"}
    assert [s.record for s in policy.skipped] == [f"dialogue 4 ({uuid}), turn 1"]
