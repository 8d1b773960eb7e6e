"""SODA reader on the real sample (DialogStudio's original_examples.json: 5 records) and on other input.

Expected counts are computed here from the raw JSON with ``json``, independently of the reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir
from mmdial_data.validate import validate_dialogue

MAPPED = {"speakers": "Turn.speaker", "dialogue": "Turn.text"}


def _sample() -> Path:
    return samples_dir("soda") / "dialogstudio" / "open-domain-dialogues" / "SODA" / "original_examples.json"


def _raw() -> list[dict]:
    return json.loads(_sample().read_text(encoding="utf-8"))


@pytest.mark.samples
def test_counts_match_source() -> None:
    raw = _raw()
    dialogues = list(read_source("soda", _sample()))
    assert len(dialogues) == len(raw) == 5
    assert [d.dialogue_id for d in dialogues] == [f"soda/{r['split']}/{r['original_index']}" for r in raw]
    assert sum(len(d.turns) for d in dialogues) == sum(len(r["dialogue"]) for r in raw) == 44
    for d, r in zip(dialogues, raw, strict=True):
        validate_dialogue(d)
        assert [t.text for t in d.turns] == r["dialogue"]
        assert [t.speaker for t in d.turns] == r["speakers"]
        assert len({t.role for t in d.turns}) == len(set(r["speakers"]))
        assert d.meta["narrative"] == r["narrative"]
        assert (d.meta["head"], d.meta["relation"], d.meta["tail"]) == (r["head"], r["relation"], r["tail"])
        assert_fields_covered(r, d, mapped=MAPPED)
    # no xReact record in the sample, so no emotion
    assert {r["relation"] for r in raw}.isdisjoint({"xReact"})
    assert all(t.annotations.emotion is None for d in dialogues for t in d.turns)


@pytest.mark.samples
def test_spot_checks() -> None:
    dialogues = {d.dialogue_id: d for d in read_source("soda", _sample().parent)}  # the folder: README.md skipped
    d = dialogues["soda/train/6027731"]
    assert d.split == "train" and d.meta["PersonX"] == "Veda" and d.meta["PersonY"] == ""
    assert d.meta["literal"] == "Veda was interested in going to church. Veda thought about going to church."
    assert (d.meta["head_answer"], d.meta["pmi_relation_tail_answer"]) == ("Yes", "No")
    assert (d.turns[0].speaker, d.turns[0].role) == ("Veda", "speaker_a")
    assert (d.turns[1].speaker, d.turns[1].role) == ("Priest", "speaker_b")
    assert d.turns[1].text.startswith("Of course, Veda. Our church is based on the teachings of Jesus Christ.")
    assert d.turns[3].text.endswith('We try to emulate that in our own lives."')  # kept verbatim, stray quote too
    d = dialogues["soda/train/6027739"]
    assert len(d.turns) == 11 and d.turns[2].text == "Of course, man. I'm always here for you. What's going on?"


@pytest.mark.samples
def test_jsonl_split_and_xreact_emotion(tmp_path: Path) -> None:
    raw = _raw()
    raw[0]["relation"], raw[0]["tail"] = "xReact", "curious"
    raw[1]["split"] = "valid"
    del raw[2]["split"]
    lines = [json.dumps(r) for r in raw]
    lines.insert(3, "{broken")
    jsonl = tmp_path / "test.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"test\.jsonl, line 4: malformed JSON"):
        list(read_source("soda", jsonl))
    policy = ErrorPolicy("skip")
    dialogues = list(read_source("soda", jsonl, on_error=policy))
    assert [s.record for s in policy.skipped] == ["line 4"]
    assert [d.split for d in dialogues] == ["train", "validation", "test", "train", "train"]  # no field: file name
    assert dialogues[1].meta["source_split"] == "valid" and dialogues[1].dialogue_id.startswith("soda/validation/")
    assert [t.annotations.emotion for t in dialogues[0].turns] == ["curious", None] * 3  # Veda is PersonX
    assert {d.split for d in read_source("soda", jsonl, split="dev", on_error="skip")} == {"validation"}
    with pytest.raises(ValueError, match=r"unknown split 'x'; use one of train, validation, test, full"):
        list(read_source("soda", jsonl, split="x"))


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    esconv = samples_dir("esconv") / "FailedESConv.json"
    with pytest.raises(SourceFormatError, match=r"FailedESConv\.json, record 0: not a SODA file"):
        list(read_source("soda", esconv, on_error="skip"))  # refused whatever the policy
    with pytest.raises(SourceFormatError, match="no SODA"):
        list(read_source("soda", samples_dir("casino") / "data"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(SourceFormatError, match="not a SODA file: no records"):
        list(read_source("soda", empty))


@pytest.mark.samples
def test_bad_record_is_skipped_and_reported(tmp_path: Path) -> None:
    raw = _raw()
    raw[2]["speakers"] = raw[2]["speakers"][:-1]
    broken = tmp_path / "soda.json"
    broken.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"record 2: 9 utterances but 8 speakers"):
        list(read_source("soda", broken))
    policy = ErrorPolicy("skip")
    kept = list(read_source("soda", broken, on_error=policy))
    assert [d.meta["index"] for d in kept] == [0, 1, 3, 4]
    assert [(s.path, s.record) for s in policy.skipped] == [(str(broken), "record 2")]
