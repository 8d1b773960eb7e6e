"""ABCD reader on the real sample (the authors' ``abcd_sample.json``, 3 conversations whole, with ``kb.json`` and
``ontology.json``) and on the release layout built from it (``{"train", "dev", "test"}``, gzipped). Counts are
computed here from the raw JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.readers.abcd import read_abcd_ontology
from mmdial_data.testing import assert_fields_covered, samples_dir

#: ``original`` pairs and the delexed ``speaker`` map onto Turn.speaker/role; ``targets`` onto intent/acts/extra.
MAPPED = {"speaker": "Turn.speaker/role", "targets": "intent, dialogue_acts, extra"}
#: ``turn_count`` is the turn's position + 1 (checked below); kept in ``extra`` only where it is not.
IGNORE = {"turn_count"}


def _file() -> Path:
    return samples_dir("abcd") / "data" / "abcd_sample.json"


def _raw() -> list[dict]:
    return json.loads(_file().read_text(encoding="utf-8"))


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _raw()
    dialogues = list(read_source("abcd", samples_dir("abcd")))
    assert len(dialogues) == len(raw) == 3
    assert [d.dialogue_id for d in dialogues] == [f"abcd/full/{x['convo_id']}" for x in raw]
    turns = [t for d in dialogues for t in d.turns]
    pairs = [p for x in raw for p in x["original"]]
    assert len(turns) == len(pairs) == 72
    assert [(t.speaker, t.text) for t in turns] == [tuple(p) for p in pairs]
    roles = {"customer": "user", "agent": "system", "action": "system"}
    assert [t.role for t in turns] == [roles[p[0]] for p in pairs]
    delexed = [e for x in raw for e in x["delexed"]]
    actions = [e for e in delexed if e["speaker"] == "action"]
    assert len(actions) == sum(p[0] == "action" for p in pairs) == 9
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == len(actions)
    assert [a.act for t in turns for a in t.annotations.dialogue_acts] == [e["targets"][2] for e in actions]
    assert [t.annotations.intent for t in turns] == [e["targets"][0] for e in delexed]
    assert [t.annotations.extra["candidates"] for t in turns] == [e["candidates"] for e in delexed]
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))
    assert {d.split for d in dialogues} == {"full"}


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    first = next(iter(read_source("abcd", _file())))
    assert first.meta["convo_id"] == 3592 and first.meta["scenario"]["subflow"] == "return_size"
    assert first.meta["scenario"]["personal"]["customer_name"] == "crystal minh"
    kb = json.loads((samples_dir("abcd") / "data" / "kb.json").read_text(encoding="utf-8"))
    assert first.meta["kb_actions"] == kb["return_size"]
    t0, t9, t12 = first.turns[0], first.turns[9], first.turns[12]
    assert (t0.speaker, t0.role, t0.text, t0.annotations.intent) == ("agent", "system", "Hi!", "return_size")
    assert t0.annotations.extra["next_step"] == "retrieve_utterance" and t0.annotations.extra["utterance_rank"] == 87
    assert len(t0.annotations.extra["candidates"]) == 100 and t0.annotations.extra["delexed"] == "hi!"
    assert (t9.role, t9.text, t9.annotations.extra["delexed"]) == ("user", "Username: cminh730", "username: <username>")
    assert t9.annotations.extra["next_step"] is None and t9.annotations.extra["utterance_rank"] == -1
    assert (t12.speaker, t12.role, t12.text) == ("action", "system", "Purchase validation in progress ...")
    assert [(a.act, a.values) for a in t12.annotations.dialogue_acts] == [
        ("validate-purchase", ["cminh730", "cminh730@email.com", "3348917502"])
    ]
    assert t12.annotations.extra["next_step"] == "take_action"
    ontology = read_abcd_ontology(_file())
    assert "product_defect" in ontology["ontology"]["intents"]["flows"] and ontology["kb"] == kb


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for d, source in zip(read_source("abcd", _file()), _raw(), strict=True):
        assert [e["turn_count"] for e in source["delexed"]] == [t.turn_index + 1 for t in d.turns]
        assert not any("turn_count" in t.annotations.extra for t in d.turns)
        assert_fields_covered(source, d, mapped=MAPPED, ignore=IGNORE)


@pytest.mark.samples
def test_release_layout_gzipped(tmp_path: Path) -> None:
    """``abcd_v1.1.json.gz``: an object of splits, read without unzipping; ``dev`` stays ``dev``."""
    raw = _raw()
    release = {"train": raw[:1], "dev": raw[1:2], "test": raw[2:]}
    path = tmp_path / "abcd_v1.1.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(release, fh)
    dialogues = list(read_source("abcd", tmp_path))
    assert [d.dialogue_id for d in dialogues] == ["abcd/train/3592", "abcd/validation/9489", "abcd/test/3695"]
    assert "kb_actions" not in dialogues[0].meta  # no kb.json beside it
    assert dialogues[1].turns == list(read_source("abcd", _file()))[1].turns
    assert [d.split for d in read_source("abcd", path, split="test")] == ["test"] * 3


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"kb\.json, top level: not ABCD"):
        list(read_source("abcd", samples_dir("abcd") / "data" / "kb.json", on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"no ABCD abcd\*\.json"):
        list(read_source("abcd", samples_dir("star")))
    star = sorted((samples_dir("star") / "dialogues").glob("*.json"))[0]
    other = tmp_path / "abcd_other.json"
    other.write_text(json.dumps([json.loads(star.read_text(encoding="utf-8"))]), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"abcd_other\.json, item 0: not ABCD"):
        list(read_source("abcd", other, on_error="skip"))
    (tmp_path / "abcd_v1.1.json.gz").write_bytes(b"not gzip")
    with pytest.raises(SourceFormatError, match=r"abcd_v1\.1\.json\.gz: not a readable gzip file"):
        list(read_source("abcd", tmp_path / "abcd_v1.1.json.gz"))


@pytest.mark.samples
def test_malformed_conversation_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw()
    raw[1]["original"][3] = ["robot", "hello"]
    bad = tmp_path / "abcd_sample.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"full conversation 1 \(9489\), turn 3: unknown speaker 'robot'"):
        list(read_source("abcd", bad))
    policy = ErrorPolicy("skip")
    assert [d.meta["convo_id"] for d in read_source("abcd", bad, on_error=policy)] == [3592, 3695]
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(bad)
