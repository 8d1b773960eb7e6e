"""ConvLab-3 unified-format reader on the real samples (ConvLab-3's own ``dummy_data.json`` of multiwoz21 and
camrest, whole) and on a ``data.zip`` layout built from them. Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir

#: Keys the reader maps onto columns (or leaves out as the format's default: an empty ``db_results``).
MAPPED = {
    "speaker": "Turn.speaker/role",
    "state": "Annotations.state",
    "db_results": "empty: the default",
    "categorical": "Annotations.dialogue_acts",
    "non-categorical": "Annotations.dialogue_acts",
    "binary": "Annotations.dialogue_acts",
}


def _datasets() -> Path:
    return samples_dir("convlab3_unified") / "data" / "unified_datasets"


def _raw(name: str) -> list[dict]:
    return json.loads((_datasets() / name / "dummy_data.json").read_text(encoding="utf-8"))


def _acts(t: dict) -> int:
    return sum(len(t["dialogue_acts"].get(k, [])) for k in ("categorical", "non-categorical", "binary"))


@pytest.mark.samples
@pytest.mark.parametrize(("name", "turns"), [("multiwoz21", 120), ("camrest", 82)])
def test_sample_counts(name: str, turns: int) -> None:
    raw = _raw(name)
    dialogues = list(read_source("convlab3", _datasets() / name))
    assert len(dialogues) == len(raw) == 10
    assert [d.dialogue_id for d in dialogues] == [f"convlab3/{x['data_split']}/{x['dialogue_id']}" for x in raw]
    all_turns = [t for d in dialogues for t in d.turns]
    raw_turns = [t for x in raw for t in x["turns"]]
    assert len(all_turns) == len(raw_turns) == turns
    assert [t.role for t in all_turns] == [t["speaker"] for t in raw_turns]
    assert sum(len(t.annotations.dialogue_acts) for t in all_turns) == sum(_acts(t) for t in raw_turns)
    spans = sum(1 for t in raw_turns for a in t["dialogue_acts"]["non-categorical"] if "start" in a)
    got_spans = sum(1 for t in all_turns for a in t.annotations.extra.get("dialogue_acts", []) if "start" in a)
    assert got_spans == spans
    filled = sum(1 for t in raw_turns for s in t.get("state", {}).values() for v in s.values() if v != "")
    assert sum(len(t.annotations.state) for t in all_turns) == filled
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("convlab3", _datasets()))
    assert len(dialogues) == 20 and dialogues[0].dialogue_id == "convlab3/train/camrest-train-0"
    mwoz = next(d for d in dialogues if d.dialogue_id == "convlab3/train/multiwoz21-train-0")
    assert mwoz.meta["original_id"] == "SNG01856.json" and mwoz.meta["domains"] == ["hotel", "general"]
    assert mwoz.meta["goal"]["inform"]["hotel"]["book stay"] == "3|2" and mwoz.meta["dataset"] == "multiwoz21"
    t0, t1 = mwoz.turns[:2]
    assert t0.text == "am looking for a place to to stay that has cheap price range it should be in a type of hotel"
    assert [(a.act, a.domain, a.slot, a.values) for a in t0.annotations.dialogue_acts] == [
        ("inform", "hotel", "price range", ["cheap"]),
        ("inform", "hotel", "type", ["hotel"]),
    ]
    assert t0.annotations.extra["dialogue_acts"] == [
        {"type": "categorical"},
        {"type": "non-categorical", "start": 87, "end": 92},
    ]
    assert t0.text[87:92] == "hotel"
    assert t0.annotations.state == {"hotel-price range": ["cheap"], "hotel-type": ["hotel"]}
    assert list(t0.annotations.extra["state_empty"]["taxi"]) == ["leave at", "destination", "departure", "arrive by"]
    assert (t1.role, t1.text) == ("system", "Okay, do you have a specific area you want to stay in?")
    assert [(a.act, a.slot, a.values) for a in t1.annotations.dialogue_acts] == [("request", "area", [])]
    assert t1.annotations.extra["booked"]["hotel"] == [] and t1.annotations.state == {}
    camrest = dialogues[0]
    assert camrest.meta["finished"] is True and camrest.meta["original_id"] == 0


@pytest.mark.samples
@pytest.mark.parametrize("name", ["multiwoz21", "camrest"])
def test_sample_field_coverage(name: str) -> None:
    for d, source in zip(read_source("convlab3", _datasets() / name), _raw(name), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


@pytest.mark.samples
def test_data_zip_layout_with_ontology(tmp_path: Path) -> None:
    """``data.zip`` with ``data/dialogues.json`` and ``data/ontology.json``, read from the archive; the ontology's
    entries of each dialogue's domains go to its ``meta``; a text-less turn is kept in ``meta``."""
    raw = _raw("camrest")
    raw[1]["turns"].append({"speaker": "user", "utterance": "", "utt_idx": len(raw[1]["turns"]), "state": {}})
    raw[2]["data_split"], raw[2]["dialogue_id"] = "test", "camrest-test-0"
    ontology = {
        "domains": {"restaurant": {"description": "find a restaurant", "slots": {}}},
        "intents": {},
        "state": {},
        "dialogue_acts": {},
    }
    folder = tmp_path / "camrest"
    folder.mkdir()
    with zipfile.ZipFile(folder / "data.zip", "w") as z:
        z.writestr("data/dialogues.json", json.dumps(raw))
        z.writestr("data/ontology.json", json.dumps(ontology))
    dialogues = list(read_source("convlab3", folder))
    assert [d.split for d in dialogues].count("test") == 1 and dialogues[
        2
    ].dialogue_id == "convlab3/test/camrest-test-0"
    assert dialogues[0].meta["ontology_domains"] == {"restaurant": ontology["domains"]["restaurant"]}
    assert dialogues[1].meta["turns_without_text"][0]["utterance"] == ""
    assert len(dialogues[1].turns) == len(raw[1]["turns"]) - 1
    assert next(iter(read_source("convlab3", folder / "data.zip"))) == dialogues[0]


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    sgd = samples_dir("multiwoz22") / "dialogstudio" / "task-oriented-dialogues" / "MULTIWOZ2_2"
    with pytest.raises(SourceFormatError, match=r"original_examples\.json, dialogue 0: not ConvLab-3 unified"):
        list(read_source("convlab3", sgd / "original_examples.json", on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"not a ConvLab-3 unified dataset: no data\.zip"):
        list(read_source("convlab3", samples_dir("star")))
    bad_zip = tmp_path / "data.zip"
    with zipfile.ZipFile(bad_zip, "w") as z:
        z.writestr("other.json", "[]")
    with pytest.raises(SourceFormatError, match=r"data\.zip: not a ConvLab-3 data\.zip: no data/dialogues\.json"):
        list(read_source("convlab3", bad_zip, on_error="skip"))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw("camrest")
    raw[3]["turns"][2]["dialogue_acts"]["categorical"] = [{"domain": "restaurant"}]
    bad = tmp_path / "dialogues.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(
        SourceFormatError, match=r"dialogues\.json, dialogue 3 \(camrest-train-3\), turn 2: categorical"
    ):
        list(read_source("convlab3", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("convlab3", bad, on_error=policy))) == 9
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(bad)
