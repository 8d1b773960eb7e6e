"""Options, answers and knowledge documents (``mmdial_data.tasks``): typed helpers, validation, round trips."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmdial_data import (
    Annotations,
    Dialogue,
    ErrorPolicy,
    Turn,
    ValidationError,
    read_dialogues,
    validate_dialogue,
    write_dialogues,
)
from mmdial_data.tasks import (
    CHOICES,
    DOC_IDS,
    DOCUMENTS,
    KnowledgeDocument,
    MultipleChoice,
    check_tasks,
    choices_of,
    doc_ids_of,
    documents_of,
    turn_documents,
)
from mmdial_data.validate import validated


def grounded_dialogue(i: int = 0) -> Dialogue:
    docs = [
        KnowledgeDocument("agent_1/FS1", "Lighthouse", "A lighthouse is a tower.", "wikipedia", {"fun_facts": ["x"]}),
        KnowledgeDocument("article/AS1", "Headline", None, "washington_post", {"pointer": 81356}),
    ]
    choices = [
        MultipleChoice("Where do they meet?", ["at the port", "at the lighthouse", "at home"], answer=1),
        MultipleChoice(None, ["f : yes .", "f : no ."], answer=None, after_turn=1, extra={"id": "test_1"}),
    ]
    turns = [
        Turn(
            0, "agent_1", "speaker_a", "Ünïcödé lighthouse?", annotations=Annotations(extra={DOC_IDS: ["agent_1/FS1"]})
        ),
        Turn(
            1,
            "agent_2",
            "speaker_b",
            "Yes.",
            annotations=Annotations(knowledge=["A lighthouse is a tower."], extra={DOC_IDS: []}),
        ),
    ]
    meta = {CHOICES: [c.to_dict() for c in choices], DOCUMENTS: [d.to_dict() for d in docs], "config": "A"}
    return Dialogue(f"demo/train/{i}", "demo", "train", turns, meta)


def test_typed_helpers() -> None:
    d = grounded_dialogue()
    choices = choices_of(d)
    assert [c.answer_text for c in choices] == ["at the lighthouse", None]
    assert choices[1] == MultipleChoice(None, ["f : yes .", "f : no ."], None, 1, {"id": "test_1"})
    assert [doc.doc_id for doc in documents_of(d)] == ["agent_1/FS1", "article/AS1"]
    assert documents_of(d)[1].text is None and documents_of(d)[1].extra == {"pointer": 81356}
    assert [doc.title for doc in turn_documents(d, 0)] == ["Lighthouse"]
    assert turn_documents(d, 1) == [] and doc_ids_of(d, 1) == []
    assert check_tasks(d) is None
    validate_dialogue(d)
    plain = Dialogue("demo/train/9", "demo", "train", [Turn(0, "A", "user", "hi")])
    assert choices_of(plain) == [] and documents_of(plain) == [] and turn_documents(plain, 0) == []


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    dialogues = [grounded_dialogue(i) for i in range(3)]
    path = tmp_path / f"d{suffix}"
    assert write_dialogues(dialogues, path) == 3
    back = list(read_dialogues(path))
    assert back == dialogues
    assert [choices_of(d) for d in back] == [choices_of(d) for d in dialogues]
    assert [documents_of(d) for d in back] == [documents_of(d) for d in dialogues]
    assert turn_documents(back[2], 0)[0].extra == {"fun_facts": ["x"]}


def _broken(change: Any) -> Dialogue:
    d = grounded_dialogue()
    change(d)
    return d


BROKEN = [
    (
        lambda d: d.meta[CHOICES][0].update(answer=3),
        r"meta\['choices'\]\[0\]: answer 3 is not an index of its 3 options",
    ),
    (lambda d: d.meta[CHOICES][0].update(answer=-1), r"answer -1 is not an index"),
    (lambda d: d.meta[CHOICES][0].update(answer=True), r"answer True is not an index"),
    (lambda d: d.meta[CHOICES][0].update(answer="B"), r"answer 'B' is not an index"),
    (lambda d: d.meta[CHOICES][1].update(options=[]), r"meta\['choices'\]\[1\] has no options"),
    (lambda d: d.meta[CHOICES][1].update(options=["a", " "]), r"every option must be a non-empty string"),
    (lambda d: d.meta[CHOICES][1].update(after_turn=2), r"after_turn 2 is not a turn of the dialogue \(0\.\.1\)"),
    (lambda d: d.meta[CHOICES][1].update(question=3), r"question must be a string or null"),
    (lambda d: d.meta[CHOICES][1].update(label="A"), r"meta\['choices'\]\[1\] has unknown key 'label'"),
    (lambda d: d.meta.update(choices={"options": ["a"]}), r"meta\['choices'\] must be a list"),
    (lambda d: d.meta[DOCUMENTS].append(dict(d.meta[DOCUMENTS][0])), r"doc_id 'agent_1/FS1' is not unique"),
    (lambda d: d.meta[DOCUMENTS][1].update(doc_id=""), r"meta\['documents'\]\[1\] has no doc_id"),
    (lambda d: d.meta[DOCUMENTS][1].update(text=["a"]), r"text must be a string or null"),
    (lambda d: d.meta[DOCUMENTS][1].update(extra=[]), r"extra must be an object"),
    (lambda d: d.turns[1].annotations.extra.update(doc_ids=["FS9"]), r"turn 1: extra\['doc_ids'\] names 'FS9', which"),
    (
        lambda d: d.turns[0].annotations.extra.update(doc_ids="agent_1/FS1"),
        r"turn 0: extra\['doc_ids'\] must be a list",
    ),
    (lambda d: d.meta.pop(DOCUMENTS), r"turn 0: extra\['doc_ids'\] names 'agent_1/FS1', which is not in"),
]


@pytest.mark.parametrize(("change", "message"), BROKEN)
def test_validation_errors(change: Any, message: str) -> None:
    d = _broken(change)
    assert check_tasks(d) is not None
    with pytest.raises(ValidationError, match=rf"^d\.jsonl, dialogue demo/train/0: (meta\S* )?{message}"):
        validate_dialogue(d, path="d.jsonl")


def test_only_checked_where_the_keys_are() -> None:
    d = Dialogue("demo/train/1", "demo", "train", [Turn(0, "A", "user", "hi")], {"choice": "not ours", "docs": [1]})
    assert check_tasks(d) is None
    validate_dialogue(d)


def test_validated_skips_a_broken_choice_with_its_reason() -> None:
    good, bad = grounded_dialogue(0), grounded_dialogue(1)
    bad.meta[CHOICES][0]["answer"] = 7
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in validated([good, bad], path="in.jsonl", policy=policy)] == ["demo/train/0"]
    (skipped,) = policy.skipped
    assert (skipped.path, skipped.record) == ("in.jsonl", "dialogue demo/train/1")
    assert skipped.reason == "meta['choices'][0]: answer 7 is not an index of its 3 options"
