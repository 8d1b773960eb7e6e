"""CMU_DoG reader on the real sample (festvox/datasets-CMU_DoG: the first 8 conversation files of ``train`` and
``valid`` and the ``WikiData`` documents they use, byte for byte). Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.splits import canonical_split
from mmdial_data.tasks import DOC_IDS, documents_of, turn_documents
from mmdial_data.testing import assert_fields_covered, samples_dir


def _root() -> Path:
    return samples_dir("cmu_dog")


def _raw(split: str) -> list[tuple[Path, dict[str, Any]]]:
    files = sorted((_root() / "Conversations" / split).glob("*.json"))
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in files]


def _wiki() -> dict[int, tuple[str, dict[str, Any]]]:
    out = {}
    for p in (_root() / "WikiData").glob("*.json"):
        document = json.loads(p.read_text(encoding="utf-8"))
        out[document["wikiDocumentIdx"]] = (p.name, document)
    return out


@pytest.mark.samples
@pytest.mark.parametrize(("split", "turns"), [("train", 198), ("valid", 247)])
def test_sample_counts(split: str, turns: int) -> None:
    raw, wiki = _raw(split), _wiki()
    dialogues = list(read_source("cmu_dog", _root() / "Conversations" / split))
    assert len(dialogues) == len(raw) == 8
    assert [d.dialogue_id for d in dialogues] == [f"cmu_dog/{canonical_split(split)}/{p.stem}" for p, _ in raw]
    assert {d.split for d in dialogues} == {canonical_split(split)}
    assert {d.meta.get("source_split", d.split) for d in dialogues} == {split}  # the release's name kept
    messages = [m for _, x in raw for m in x["history"]]
    all_turns = [t for d in dialogues for t in d.turns]
    assert len(all_turns) == sum(bool(m["text"].strip()) for m in messages) == turns  # SOURCE.md's counts
    assert [(t.speaker, t.text) for t in all_turns] == [(m["uid"], m["text"]) for m in messages]
    assert {(t.speaker, t.role) for t in all_turns} == {("user1", "speaker_a"), ("user2", "speaker_b")}
    assert [t.annotations.extra[DOC_IDS] for t in all_turns] == [[str(m["docIdx"])] for m in messages]
    for d, (_, x) in zip(dialogues, raw, strict=True):
        name, document = wiki[x["wikiDocumentIdx"]]
        assert d.meta["wiki_document"] == name
        assert [doc.doc_id for doc in documents_of(d)] == sorted(k for k in document if k.isdigit())
        assert [doc.text for doc in documents_of(d)][1:] == [document[k] for k in ("1", "2", "3")]
        assert {doc.title for doc in documents_of(d)} == {document["0"]["movieName"]}


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("cmu_dog", _root()))
    assert len(dialogues) == 16 and dialogues[0].split == "train"  # WikiData/ files are not conversations
    d = dialogues[0]
    assert d.dialogue_id == "cmu_dog/train/000dcd312b337a413d9b030846c5ea6cabbded9e"
    assert d.meta["wikiDocumentIdx"] == 17 and d.meta["whoSawDoc"] == ["user2"]
    assert d.meta["uid1response"]["feedback"] == "I hate facebook and mark as a company"
    t9 = d.turns[9]
    assert (t9.speaker, t9.text) == (
        "user1",
        "Yes I think it could be, although I personally do not like facebook as a company.",
    )
    assert t9.annotations.extra == {"docIdx": 1, "utcTimestamp": "2018-02-20T19:18:05.350Z", DOC_IDS: ["1"]}
    (section,) = turn_documents(d, 9)
    assert (section.doc_id, section.title, section.source) == ("1", "The Social Network", "wikipedia")
    card = documents_of(d)[0]
    assert card.text is not None and card.text.startswith("The Social Network is a 2010 American biographical drama")
    assert card.extra["director"] == "David Fincher" and "introduction" not in card.extra
    trailing = [t for t in d.turns if t.text != t.text.strip()]
    assert trailing and trailing[0].text.endswith(" ")  # texts verbatim


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    wiki = _wiki()
    for split in ("train", "valid"):
        for d, (_, x) in zip(read_source("cmu_dog", _root() / "Conversations" / split), _raw(split), strict=True):
            assert_fields_covered({"conversation": x, "document": wiki[x["wikiDocumentIdx"]][1]}, d)


@pytest.mark.samples
def test_without_wikidata_and_with_a_missing_document(tmp_path: Path) -> None:
    folder = tmp_path / "Conversations" / "valid"
    shutil.copytree(_root() / "Conversations" / "valid", folder)
    alone = list(read_source("cmu_dog", folder))
    assert len(alone) == 8 and not any("documents" in d.meta for d in alone)
    assert not any(DOC_IDS in t.annotations.extra for d in alone for t in d.turns)
    (tmp_path / "WikiData").mkdir()
    first = _raw("valid")[0][1]["wikiDocumentIdx"]
    for p in (_root() / "WikiData").glob("*.json"):
        if json.loads(p.read_text(encoding="utf-8"))["wikiDocumentIdx"] != first:
            shutil.copy(p, tmp_path / "WikiData" / p.name)
    name = _raw("valid")[0][0].name
    with pytest.raises(SourceFormatError, match=rf"{name}, conversation \w+: wikiDocumentIdx {first} is not in"):
        list(read_source("cmu_dog", tmp_path))
    policy = ErrorPolicy("skip")
    kept = list(read_source("cmu_dog", tmp_path, on_error=policy))
    assert len(kept) == 8 - sum(x["wikiDocumentIdx"] == first for _, x in _raw("valid")) and policy.skipped


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    with pytest.raises(SourceFormatError, match=r"Iron_Man\.json, top level: not CMU_DoG"):
        list(read_source("cmu_dog", _root() / "WikiData" / "Iron_Man.json", on_error="skip"))
    dream = samples_dir("dream") / "data" / "dev.json"
    with pytest.raises(SourceFormatError, match=r"dev\.json, top level: not CMU_DoG"):
        list(read_source("cmu_dog", dream, on_error="skip"))


@pytest.mark.samples
def test_malformed_conversation_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "Conversations" / "train"
    folder.mkdir(parents=True)
    shutil.copytree(_root() / "WikiData", tmp_path / "WikiData")
    raw = _raw("train")[:3]
    for p, x in raw:
        (folder / p.name).write_text(json.dumps(x), encoding="utf-8")
    bad_path, bad = raw[1]
    del bad["history"][4]["uid"]
    (folder / bad_path.name).write_text(json.dumps(bad), encoding="utf-8")
    blank_path, blank = raw[2]
    blank["history"][0]["text"] = ""
    (folder / blank_path.name).write_text(json.dumps(blank), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=rf"conversation {bad_path.stem}, message 4: a message needs a uid"):
        list(read_source("cmu_dog", folder))
    policy = ErrorPolicy("skip")
    dialogues = list(read_source("cmu_dog", folder, on_error=policy))
    assert [d.dialogue_id for d in dialogues] == [f"cmu_dog/train/{p.stem}" for p in (raw[0][0], blank_path)]
    assert len(policy.skipped) == 1
    assert len(dialogues[1].turns) == len(blank["history"]) - 1
    assert dialogues[1].meta["messages_without_text"] == [{"index": 0, **blank["history"][0]}]
    (folder / bad_path.name).write_text(json.dumps(bad)[:-50], encoding="utf-8")  # truncated
    policy = ErrorPolicy("skip")
    assert len(list(read_source("cmu_dog", folder, on_error=policy))) == 2
    assert "malformed JSON" in policy.skipped[0].reason
