"""Wizard of Wikipedia reader on hand-written files.

Followed: ParlAI's Wizard of Wikipedia task documentation and data (``parlai/tasks/wizard_of_wikipedia``:
``train.json``/``valid_random_split.json``; dialogue keys chosen_topic, persona, wizard_eval,
chosen_topic_passage, dialog; turn keys speaker, text, checked_sentence, checked_passage,
retrieved_passages, retrieved_topics; ``no_passages_used``).
"""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir

PATH = demo_dir() / "wizard_of_wikipedia" / "valid_random_split.json"


def test_counts_and_mapping() -> None:
    raw = json.loads(PATH.read_text())
    dialogues = list(read_source("wizard_of_wikipedia", PATH))
    assert [d.dialogue_id for d in dialogues] == [
        "wizard_of_wikipedia/validation/random_split/0",
        "wizard_of_wikipedia/validation/random_split/1",
    ]
    assert [len(d.turns) for d in dialogues] == [len(x["dialog"]) for x in raw] == [4, 2]
    first = dialogues[0]
    assert [t.role for t in first.turns] == ["apprentice", "wizard", "apprentice", "wizard"]
    assert first.turns[3].annotations.knowledge == []  # no_passages_used
    assert first.turns[3].annotations.extra["checked_sentence"] == {"no_passages_used": "no_passages_used"}
    assert first.meta["chosen_topic"] == "Lighthouse" and first.meta["wizard_eval"] == 5
    assert dialogues[1].turns[0].annotations.knowledge[0].startswith("Espresso is coffee brewed")
    for d, source in zip(dialogues, raw, strict=True):
        assert_fields_covered(source, d)


def test_errors(tmp_path) -> None:
    raw = json.loads(PATH.read_text())
    raw[0]["dialog"][2]["text"] = " "  # a blank turn: the schema's empty-turn rule takes it out, keeps the dialogue
    raw[1]["dialog"][0]["text"] = 7
    bad = tmp_path / "test_topic_split.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"test_topic_split\.json, dialogue 1, turn 0: no text"):
        list(read_source("wizard_of_wikipedia", bad))
    policy = ErrorPolicy("skip")
    (d,) = read_source("wizard_of_wikipedia", bad, on_error=policy)
    assert d.dialogue_id == "wizard_of_wikipedia/test/topic_split/0" and len(policy.skipped) == 1
    assert [t.text for t in d.turns] == [t["text"] for i, t in enumerate(raw[0]["dialog"]) if i != 2]
    assert [x["turn_index"] for x in d.meta["empty_turns"]] == [2]
    bad.write_text(PATH.read_text()[:-200])
    policy = ErrorPolicy("skip")
    assert len(list(read_source("wizard_of_wikipedia", bad, on_error=policy))) == 1
    assert "truncated" in policy.skipped[0].reason and policy.skipped[0].record in ("item 1", "line 1 column 1")
