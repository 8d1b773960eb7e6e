"""Chit-Chat reader: the installed ``chitchat-dataset`` package's dataset.json, and a hand-written file.

Followed: the chitchat-dataset package (BYU PCC lab; README and ``chitchat_dataset/__init__.py``: a JSON
object of conversations with ``messages`` = lists of {text, timestamp, sender}, plus start/prompt/ratings).
"""

from __future__ import annotations

import itertools
import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir

MAPPED = {"sender": "Turn.speaker"}


def _installed():
    pytest.importorskip("chitchat_dataset")
    from mmdial_data.readers.chitchat import installed_path

    return installed_path()


def test_installed_dataset_first_conversations() -> None:
    path = _installed()
    raw = json.loads(path.read_text())
    assert len(raw) == 7168
    n = 300
    dialogues = list(itertools.islice(read_source("chitchat", path), n))
    sources = list(itertools.islice(raw.items(), n))
    for d, (conv_id, source) in zip(dialogues, sources, strict=True):
        assert d.dialogue_id == f"chitchat/train/{conv_id}"
        nonblank = [m for m in source["messages"] if any(u["text"].strip() for u in m)]
        assert len(d.turns) == len(nonblank)
        assert d.turns[0].text == "\n".join(u["text"].strip() for u in nonblank[0] if u["text"].strip())
        assert_fields_covered(source, d, mapped=MAPPED)
    first = dialogues[0]
    assert first.turns[0].text == "Hello\nHow are you doing today?"
    assert first.turns[1].text == "whats up MD\nim doing good\nhow are you doing?"
    assert first.turns[0].speaker == "720840be-e522-47ba-9e9f-143f66372673" and first.turns[1].role == "speaker_b"


@pytest.mark.slow
def test_installed_dataset_full_counts() -> None:
    path = _installed()
    raw = json.loads(path.read_text())
    dialogues = list(read_source("chitchat", path))
    assert len(dialogues) == len(raw) == 7168
    blank = sum(1 for c in raw.values() for m in c["messages"] if not any(u["text"].strip() for u in m))
    assert sum(len(d.turns) for d in dialogues) == sum(len(c["messages"]) for c in raw.values()) - blank
    assert sum(len(d.meta.get("blank_messages", [])) for d in dialogues) == blank


def test_demo_file_and_errors(tmp_path) -> None:
    path = demo_dir() / "chitchat" / "dataset.json"
    raw = json.loads(path.read_text())
    dialogues = list(read_source("chitchat", path.parent))
    assert [len(d.turns) for d in dialogues] == [3, 2]
    assert dialogues[0].meta["ratings"]["u-2"]["overall"] == 4 and "prompt" not in dialogues[1].meta
    for d, source in zip(dialogues, raw.values(), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)
    raw["0d4f0e5c-demo-0001"]["messages"][1].append({"text": "x", "timestamp": "t", "sender": "u-9"})
    bad = tmp_path / "dataset.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"dataset\.json, conversation 0d4f0e5c-demo-0001, message 1"):
        list(read_source("chitchat", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("chitchat", bad, on_error=policy))) == 1 and len(policy.skipped) == 1
    bad.write_text(path.read_text()[:-100])
    policy = ErrorPolicy("skip")
    assert len(list(read_source("chitchat", bad, on_error=policy))) == 1
    assert "truncated" in policy.skipped[0].reason
