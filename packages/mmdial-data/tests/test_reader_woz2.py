"""WOZ 2.0 / DSTC2-clean reader on the real WOZ 2.0 slices (first 12 dialogues of train and validate, the NBT
repository's bytes) and DSTC2-clean's ontology. Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.splits import canonical_split
from mmdial_data.testing import assert_fields_covered, samples_dir

#: An empty ``system_transcript`` (the first exchange) gives no system turn: the key maps onto ``Turn.text``.
MAPPED = {"system_transcript": "Turn.text of the system turn; empty gives no turn"}


def _woz() -> Path:
    return samples_dir("woz2.0") / "data" / "woz"


def _counts(raw: list[dict]) -> dict[str, int]:
    exchanges = [x for d in raw for x in d["dialogue"]]
    return {
        "turns": sum(bool(x["transcript"].strip()) + bool(x["system_transcript"].strip()) for x in exchanges),
        "user": sum(bool(x["transcript"].strip()) for x in exchanges),
        "acts": sum(len(x["turn_label"]) + len(x["system_acts"]) for x in exchanges),
        "state": sum(
            len({s[0] for b in x["belief_state"] if b["act"] == "inform" for s in b["slots"]}) for x in exchanges
        ),
        "requested": sum(len(b["slots"]) for x in exchanges for b in x["belief_state"] if b["act"] == "request"),
    }


@pytest.mark.samples
@pytest.mark.parametrize(
    ("name", "split", "turns"), [("woz_train_en.json", "train", 86), ("woz_validate_en.json", "validate", 84)]
)
def test_sample_counts(name: str, split: str, turns: int) -> None:
    path = _woz() / name
    raw = json.loads(path.read_text(encoding="utf-8"))
    expected = _counts(raw)
    dialogues = list(read_source("woz2", path))
    assert len(dialogues) == len(raw) == 12
    assert {d.split for d in dialogues} == {canonical_split(split)}
    assert {d.meta.get("source_split", d.split) for d in dialogues} == {split}  # the release's name kept
    assert [d.dialogue_id for d in dialogues] == [f"woz2/{canonical_split(split)}/{d['dialogue_idx']}" for d in raw]
    all_turns = [t for d in dialogues for t in d.turns]
    assert len(all_turns) == expected["turns"] == turns
    assert sum(t.role == "user" for t in all_turns) == expected["user"]
    assert sum(len(t.annotations.dialogue_acts) for t in all_turns) == expected["acts"]
    assert sum(len(t.annotations.state) for t in all_turns) == expected["state"]
    assert sum(len(t.annotations.extra.get("requested_slots", [])) for t in all_turns) == expected["requested"]
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("woz2", _woz()))
    assert len(dialogues) == 24
    first = dialogues[0]
    assert first.dialogue_id == "woz2/train/0" and first.meta["corpus"] == "woz2.0" and first.meta["language"] == "en"
    assert first.meta["ontology_file"] == "ontology_dstc2_en.json"
    assert "price range" in first.meta["ontology"]["informable"]
    t0, t1, t2, t3 = first.turns[:4]
    assert (t0.role, t0.text) == ("user", "Are there any eritrean restaurants in town?")
    assert t0.annotations.state == {"food": ["eritrean"]}
    assert [(a.act, a.slot, a.values) for a in t0.annotations.dialogue_acts] == [("inform", "food", ["eritrean"])]
    assert t0.annotations.extra["asr"] == [["Are there any eritrean restaurants in town?", 1.0]]
    assert t1.role == "system" and t1.text.startswith("No, there are no eritrean restaurants in town.")
    assert t2.annotations.state == {"food": ["chinese"]}
    assert [(a.act, a.slot) for a in t3.annotations.dialogue_acts] == [("request", "area")]
    asks = first.turns[6]  # exchange 3: the user asks for postcode, phone and address
    assert asks.text == "Could I get the address, phone number, and postcode of Yu Garden?"
    assert [(a.act, a.slot) for a in asks.annotations.dialogue_acts] == [
        ("request", "postcode"),
        ("request", "phone"),
        ("request", "address"),
    ]
    assert asks.annotations.extra["requested_slots"] == ["postcode", "phone", "address"]
    assert asks.annotations.state == {"food": ["chinese"], "area": ["east"]}


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = _woz() / "woz_validate_en.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    for d, source in zip(read_source("woz2", path), raw, strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


@pytest.mark.samples
def test_dstc2_clean_layout_and_empty_utterances(tmp_path: Path) -> None:
    """DSTC2-clean's dialogues share WOZ 2.0's layout: a file under a DSTC2 folder gets corpus ``dstc2_clean`` in
    its ids and meta, and the ontology beside it. Empty utterances give no turn and lose nothing."""
    folder = tmp_path / "DSTC2-Clean"
    folder.mkdir()
    ontology = (
        samples_dir("dstc2_clean") / "dialogstudio" / "task-oriented-dialogues" / "DSTC2-Clean" / "ontology_en.json"
    )
    shutil.copy(ontology, folder / "ontology_en.json")
    raw = json.loads((_woz() / "woz_train_en.json").read_text(encoding="utf-8"))[:2]
    raw[0]["dialogue"][1]["transcript"] = ""  # a system turn with no user reply in that exchange
    raw[1]["dialogue"].insert(1, {**raw[1]["dialogue"][1], "transcript": "", "system_transcript": ""})
    (folder / "original_examples.json").write_text(json.dumps(raw), encoding="utf-8")
    dialogues = list(read_source("woz2", folder))
    assert [d.dialogue_id for d in dialogues] == ["woz2/train/dstc2_clean/0", "woz2/train/dstc2_clean/1"]
    assert dialogues[0].meta["corpus"] == "dstc2_clean" and dialogues[0].meta["ontology_file"] == "ontology_en.json"
    assert len(dialogues[0].turns) == _counts(raw[:1])["turns"]
    side = dialogues[0].turns[1].annotations.extra["user_side"]
    assert side["transcript"] == "" and side["turn_label"] == [["food", "chinese"]]
    assert dialogues[1].meta["exchanges_without_text"][0]["transcript"] == ""
    for d, source in zip(dialogues, raw, strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    mwoz22 = samples_dir("multiwoz22") / "dialogstudio" / "task-oriented-dialogues" / "MULTIWOZ2_2"
    with pytest.raises(SourceFormatError, match=r"original_examples\.json, dialogue 0: not WOZ 2\.0/DSTC2"):
        list(read_source("woz2", mwoz22 / "original_examples.json", on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"schema\.json, dialogue 0: not WOZ 2\.0/DSTC2"):
        list(read_source("woz2", mwoz22 / "schema.json"))
    ontology = samples_dir("woz2.0") / "ontologies" / "ontology_dstc2_en.json"
    with pytest.raises(SourceFormatError, match=r"ontology_dstc2_en\.json, top level: not WOZ 2\.0/DSTC2"):
        list(read_source("woz2", ontology))


@pytest.mark.samples
def test_malformed_dialogue_is_skipped_and_named(tmp_path: Path) -> None:
    raw = json.loads((_woz() / "woz_train_en.json").read_text(encoding="utf-8"))
    raw[2]["dialogue"][1]["turn_label"] = [["food"]]
    bad = tmp_path / "woz_test_en.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(
        SourceFormatError, match=r"woz_test_en\.json, dialogue 2 \(dialogue_idx \d+\), exchange 1: turn_label"
    ):
        list(read_source("woz2", bad))
    policy = ErrorPolicy("skip")
    got = list(read_source("woz2", bad, on_error=policy))
    assert len(got) == 11 and {d.split for d in got} == {"test"}
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(bad)
