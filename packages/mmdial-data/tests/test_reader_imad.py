"""IMAD reader on hand-written files.

Followed: the IMAD dataset card (huggingface.co/datasets/VityaVitalich/IMAD, "Data Fields": image_id,
source_data, utter, context; train.json/test.json) and the paper (arXiv 2305.10512, utterances replaced by
Unsplash images).
"""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir

PATH = demo_dir() / "imad" / "test.json"
MAPPED = {"utter": "text of the replacement turn"}


def test_records_and_mapping() -> None:
    raw = json.loads(PATH.read_text())
    dialogues = list(read_source("imad", PATH))
    assert [len(d.turns) for d in dialogues] == [len(r["context"]) + 1 for r in raw] == [3, 2]
    d = dialogues[0]
    assert d.dialogue_id == "imad/test/0" and [t.role for t in d.turns] == ["speaker_a", "speaker_b", "speaker_a"]
    image = d.turns[-1].images[0]
    assert (image.image_id, image.uri, image.source, image.level) == (
        "aB3xYz9Q",
        "unsplash/aB3xYz9Q.jpg",
        "unsplash",
        "replacement",
    )
    assert dialogues[1].meta["image_like"] == 1
    for d, source in zip(dialogues, raw, strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


def test_column_and_jsonl_layouts_give_the_same_dialogues(tmp_path) -> None:
    raw = json.loads(PATH.read_text())
    keys = ["image_id", "source_data", "utter", "context"]
    columns = {k: {str(i): r[k] for i, r in enumerate(raw)} for k in keys}
    (tmp_path / "cols").mkdir()
    (tmp_path / "cols" / "test.json").write_text(json.dumps(columns))
    (tmp_path / "test.jsonl").write_text("".join(json.dumps({k: r[k] for k in keys}) + "\n" for r in raw))
    a = list(read_source("imad", tmp_path / "cols" / "test.json"))
    b = list(read_source("imad", tmp_path / "test.jsonl"))
    assert [d.turns for d in a] == [d.turns for d in b] == [d.turns for d in read_source("imad", PATH)]


def test_errors(tmp_path) -> None:
    raw = json.loads(PATH.read_text())
    del raw[1]["utter"]
    bad = tmp_path / "train.json"
    bad.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"train\.json, record 1: missing 'utter'"):
        list(read_source("imad", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("imad", bad, on_error=policy))) == 1 and policy.skipped[0].record == "record 1"
    bad.write_text(PATH.read_text()[:-30])
    with pytest.raises(SourceFormatError, match=r"train\.json"):
        list(read_source("imad", bad))
