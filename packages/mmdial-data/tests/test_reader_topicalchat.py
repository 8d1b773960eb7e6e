"""Topical-Chat reader on the real sample (alexa/Topical-Chat: the first 7 conversations of ``valid_freq``,
``valid_rare`` and ``test_freq`` with their pre-build reading sets, in the original formatting). Counts are computed
here from the raw JSON. The built reading sets need the release's build script (Reddit credentials, the Washington
Post endpoint), so the post-build layout is exercised with the sample's reading sets filled in the way
``src/build.py`` fills them (pointers replaced by texts, the article added)."""

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

SPLITS = ("valid_freq", "valid_rare", "test_freq")


def _root() -> Path:
    return samples_dir("topical_chat")


def _raw(split: str, root: Path | None = None, build: str = "pre-build") -> tuple[dict[str, Any], dict[str, Any]]:
    root = root or _root()
    conversations = json.loads((root / "conversations" / f"{split}.json").read_text(encoding="utf-8"))
    reading_sets = json.loads((root / "reading_sets" / build / f"{split}.json").read_text(encoding="utf-8"))
    return conversations, reading_sets


def _expected_doc_ids(turn: dict[str, Any], rs: dict[str, Any]) -> list[str]:
    """The turn's knowledge sources that its agent's reading set (or the built article) has, in their order."""
    agent, article = turn["agent"], rs.get("article", {})
    ids = []
    for s in turn["knowledge_source"]:
        if s in rs[agent]:
            ids.append(f"{agent}/{s}")
        elif s.startswith("AS") and s in article:
            ids.append(f"article/{s}")
    return ids


@pytest.mark.samples
@pytest.mark.parametrize(("split", "turns"), [("valid_freq", 149), ("valid_rare", 152), ("test_freq", 150)])
def test_sample_counts(split: str, turns: int) -> None:
    conversations, reading_sets = _raw(split)
    dialogues = list(read_source("topicalchat", _root() / "conversations" / f"{split}.json"))
    assert len(dialogues) == len(conversations) == 7
    assert [d.dialogue_id for d in dialogues] == [f"topicalchat/{canonical_split(split)}/{k}" for k in conversations]
    assert {d.split for d in dialogues} == {canonical_split(split)}
    assert {d.meta.get("source_split", d.split) for d in dialogues} == {split}  # the release's name kept
    raw_turns = [t for c in conversations.values() for t in c["content"]]
    all_turns = [t for d in dialogues for t in d.turns]
    assert len(all_turns) == sum(bool(t["message"].strip()) for t in raw_turns) == turns  # SOURCE.md's counts
    assert [t.annotations.emotion for t in all_turns] == [t["sentiment"] for t in raw_turns]
    assert [t.speaker for t in all_turns] == [t["agent"] for t in raw_turns]
    assert {(t.speaker, t.role) for t in all_turns} == {("agent_1", "speaker_a"), ("agent_2", "speaker_b")}
    docs = [documents_of(d) for d in dialogues]
    assert [len(x) for x in docs] == [len(rs["agent_1"]) + len(rs["agent_2"]) for rs in reading_sets.values()]
    assert all(doc.text is None for x in docs for doc in x)  # pre-build: pointers only
    expected = [_expected_doc_ids(t, reading_sets[k]) for k, c in conversations.items() for t in c["content"]]
    assert [t.annotations.extra[DOC_IDS] for t in all_turns] == expected
    assert sum(map(len, expected)) > 0
    assert {d.meta["reading_set"] for d in dialogues} == {"pre-build"}


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("topicalchat", _root()))
    assert len(dialogues) == 21 and dialogues[0].split == "test_freq"  # test_freq.json sorts first
    d = next(
        x for x in dialogues if x.dialogue_id == "topicalchat/validation_freq/t_a2b769a0-c082-4c26-8d8d-e2c5b8a79d93"
    )
    assert d.meta["config"] == "B" and d.meta["article_url"].startswith("https://www.washingtonpost.com/news/")
    t0, t1 = d.turns[:2]
    assert (t0.speaker, t0.text, t0.annotations.emotion) == (
        "agent_1",
        "Are you a football fan?",
        "Curious to dive deeper",
    )
    assert t0.annotations.extra == {
        "knowledge_source": ["AS1", "FS1", "FS3", "Personal Knowledge"],
        "turn_rating": "Passable",
        DOC_IDS: ["agent_1/FS1", "agent_1/FS3"],
    }
    assert (t1.text, [x.doc_id for x in turn_documents(d, 1)]) == ("yes, I'm. a football fan.", ["agent_2/FS3"])
    fs1 = next(x for x in documents_of(d) if x.doc_id == "agent_2/FS1")
    assert (fs1.title, fs1.text, fs1.source) == ("Quarterback", None, "wikipedia")
    assert fs1.extra == {
        "agent": "agent_2",
        "section": "FS1",
        "summarized_wiki_lead_section": 10472,
        "fun_facts": ["t3_42gqyk", "t3_5952ul", "t3_1l46kh", "t3_3w2fm9", "t3_7fjq1n"],
    }


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for split in SPLITS:
        conversations, reading_sets = _raw(split)
        dialogues = read_source("topicalchat", _root() / "conversations" / f"{split}.json")
        for d, (key, conversation) in zip(dialogues, conversations.items(), strict=True):
            assert_fields_covered({"conversation": conversation, "reading_set": reading_sets[key]}, d)


def _built(tmp_path: Path) -> Path:
    """A release folder whose post-build reading sets are the sample's, filled as ``src/build.py`` fills them."""
    root = tmp_path / "Topical-Chat"
    shutil.copytree(_root() / "conversations", root / "conversations")
    (root / "reading_sets" / "post-build").mkdir(parents=True)
    for split in SPLITS:
        _, reading_sets = _raw(split)
        for rs in reading_sets.values():
            url = rs.pop("article_url")
            for agent in ("agent_1", "agent_2"):
                for fs in rs[agent].values():
                    fs["fun_facts"] = [f"TIL fact {t}" for t in fs["fun_facts"]]
                    for lead in ("shortened_wiki_lead_section", "summarized_wiki_lead_section"):
                        if lead in fs:
                            fs[lead] = f"{fs['entity']} is a lead section ({lead} {fs[lead]})."
            rs["article"] = {"url": url}
            if rs["config"] != "C":
                rs["article"].update(
                    {"headline": "A headline", **{f"AS{i}": f"Article section {i}." for i in range(1, 5)}}
                )
        path = root / "reading_sets" / "post-build" / f"{split}.json"
        path.write_text(json.dumps(reading_sets, indent=2), encoding="utf-8")
    return root


@pytest.mark.samples
def test_post_build_reading_sets(tmp_path: Path) -> None:
    root = _built(tmp_path)
    for split in SPLITS:
        conversations, reading_sets = _raw(split, root, "post-build")
        dialogues = list(read_source("topicalchat", root / "conversations" / f"{split}.json"))
        assert {d.meta["reading_set"] for d in dialogues} == {"post-build"}
        for d, (key, conversation) in zip(dialogues, conversations.items(), strict=True):
            rs = reading_sets[key]
            n_article = sum(k.startswith("AS") for k in rs["article"])
            assert len(documents_of(d)) == len(rs["agent_1"]) + len(rs["agent_2"]) + n_article
            assert [t.annotations.extra[DOC_IDS] for t in d.turns] == [
                _expected_doc_ids(t, rs) for t in conversation["content"]
            ]
            assert_fields_covered({"conversation": conversation, "reading_set": rs}, d)
    d = next(read_source("topicalchat", root / "conversations" / "valid_freq.json"))
    docs = {x.doc_id: x for x in documents_of(d)}
    assert docs["agent_1/FS1"].text == "Quarterback is a lead section (shortened_wiki_lead_section 81356)."
    assert docs["agent_1/FS1"].extra["lead_section"] == "shortened_wiki_lead_section"
    assert docs["agent_1/FS1"].extra["fun_facts"][0] == "TIL fact t3_42gqyk"
    assert (docs["article/AS1"].title, docs["article/AS1"].text) == ("A headline", "Article section 1.")
    assert d.meta["article"] == {"url": d.meta["article_url"], "headline": "A headline"}
    assert [x.doc_id for x in turn_documents(d, 0)] == ["article/AS1", "agent_1/FS1", "agent_1/FS3"]


@pytest.mark.samples
def test_reading_sets_out_of_order_or_absent(tmp_path: Path) -> None:
    root = tmp_path / "tc"
    (root / "conversations").mkdir(parents=True)
    (root / "reading_sets" / "pre-build").mkdir(parents=True)
    conversations, reading_sets = _raw("valid_rare")
    (root / "conversations" / "valid_rare.json").write_text(json.dumps(conversations), encoding="utf-8")
    reversed_sets = dict(reversed(list(reading_sets.items())))
    (root / "reading_sets" / "pre-build" / "valid_rare.json").write_text(json.dumps(reversed_sets), encoding="utf-8")
    expected = list(read_source("topicalchat", _root() / "conversations" / "valid_rare.json"))
    assert list(read_source("topicalchat", root)) == expected
    shutil.rmtree(root / "reading_sets")
    alone = list(read_source("topicalchat", root))
    assert [len(d.turns) for d in alone] == [len(d.turns) for d in expected]
    assert not any("documents" in d.meta or DOC_IDS in t.annotations.extra for d in alone for t in d.turns)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    reading_set = _root() / "reading_sets" / "pre-build" / "valid_freq.json"
    with pytest.raises(SourceFormatError, match=r"pre-build/valid_freq\.json, top level: not Topical-Chat"):
        list(read_source("topicalchat", reading_set, on_error="skip"))
    dream = samples_dir("dream") / "data" / "train.json"
    with pytest.raises(SourceFormatError, match=r"train\.json, top level: not Topical-Chat"):
        list(read_source("topicalchat", dream, on_error="skip"))


@pytest.mark.samples
def test_malformed_conversation_is_skipped_and_named(tmp_path: Path) -> None:
    conversations, _ = _raw("test_freq")
    keys = list(conversations)
    del conversations[keys[1]]["content"][3]["agent"]
    conversations[keys[2]]["content"][0]["message"] = " "
    path = tmp_path / "test_freq.json"
    path.write_text(json.dumps(conversations), encoding="utf-8")
    with pytest.raises(
        SourceFormatError, match=rf"test_freq\.json, conversation {keys[1]}, turn 3: a turn needs an agent"
    ):
        list(read_source("topicalchat", path))
    policy = ErrorPolicy("skip")
    dialogues = list(read_source("topicalchat", path, on_error=policy))
    assert [d.dialogue_id for d in dialogues] == [f"topicalchat/test_freq/{k}" for k in keys if k != keys[1]]
    assert len(policy.skipped) == 1
    blank = dialogues[1]
    assert len(blank.turns) == len(conversations[keys[2]]["content"]) - 1
    assert blank.meta["messages_without_text"] == [{"index": 0, **conversations[keys[2]]["content"][0]}]
    assert_fields_covered(conversations[keys[2]], blank)
