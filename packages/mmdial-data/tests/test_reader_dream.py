"""DREAM reader on the real sample (nlpdata/dream ``data/train.json`` and ``dev.json``, the first 25 items of each,
cut from the original bytes). Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.readers._common import _ijson
from mmdial_data.splits import canonical_split
from mmdial_data.tasks import choices_of
from mmdial_data.testing import assert_fields_covered, samples_dir

#: A question's ``answer`` (its option's text) becomes the choice's index; the key is the choice row's.
MAPPED = {"answer": "MultipleChoice.answer"}


def _untagged(value: str) -> str:
    """A line without its speaker (the speaker is ``Turn.speaker``); other strings as they are."""
    return value.split(": ", 1)[-1]


def _data() -> Path:
    return samples_dir("dream") / "data"


def _raw(split: str) -> list[Any]:
    data: list[Any] = json.loads((_data() / f"{split}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.samples
@pytest.mark.parametrize(("split", "turns", "questions"), [("train", 118, 36), ("dev", 112, 39)])
def test_sample_counts(split: str, turns: int, questions: int) -> None:
    raw = _raw(split)
    dialogues = list(read_source("dream", _data() / f"{split}.json"))
    assert len(dialogues) == len(raw) == 25
    assert [d.dialogue_id for d in dialogues] == [f"dream/{canonical_split(split)}/{x[2]}" for x in raw]
    assert {d.split for d in dialogues} == {canonical_split(split)}
    assert {d.meta.get("source_split", d.split) for d in dialogues} == {split}  # the release's name kept
    assert [len(d.turns) for d in dialogues] == [len(x[0]) for x in raw]
    assert sum(len(d.turns) for d in dialogues) == turns  # SOURCE.md's counts.json
    assert [[t.speaker for t in d.turns] for d in dialogues] == [[line.split(":")[0] for line in x[0]] for x in raw]
    choices = [choices_of(d) for d in dialogues]
    assert [len(c) for c in choices] == [len(x[1]) for x in raw]
    assert sum(map(len, choices)) == questions
    flat = [c for cs in choices for c in cs]
    raw_questions = [q for x in raw for q in x[1]]
    assert sum(len(c.options) for c in flat) == sum(len(q["choice"]) for q in raw_questions) == 3 * questions
    assert [c.question for c in flat] == [q["question"] for q in raw_questions]
    assert [c.answer for c in flat] == [
        next(i for i, o in enumerate(q["choice"]) if o == q["answer"]) for q in raw_questions
    ]
    assert {c.after_turn for c in flat} == {None}
    for d, x in zip(dialogues, raw, strict=True):
        assert [f"{t.speaker}: {t.text}" for t in d.turns] == x[0]
        assert not any(t.annotations.extra for t in d.turns)  # every line rebuilds exactly


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("dream", _data()))
    assert len(dialogues) == 50 and dialogues[0].dialogue_id == "dream/validation/14-349"  # dev.json sorts first
    first = next(d for d in dialogues if d.dialogue_id == "dream/train/5-510")
    assert [(t.speaker, t.role) for t in first.turns] == [("M", "speaker_a"), ("W", "speaker_b")]
    assert first.turns[1].text == "If I were you, I stick with it. It's definitely worth time and effort."
    (choice,) = choices_of(first)
    assert choice.question == "What does the man suggest the woman do?"
    assert choice.options == [
        "Consult her dancing teacher.",
        "Take a more interesting class.",
        "Continue her dancing class.",
    ]
    assert (choice.answer, choice.answer_text) == (2, "Continue her dancing class.")
    family = next(d for d in dialogues if any(t.speaker == "Daughter" for t in d.turns))
    assert {t.speaker: t.role for t in family.turns}.keys() <= {"Daughter", "Father", "Mother"}


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for split in ("train", "dev"):
        for d, x in zip(read_source("dream", _data() / f"{split}.json"), _raw(split), strict=True):
            assert_fields_covered(x, d, mapped=MAPPED, normalize=_untagged)


@pytest.mark.samples
def test_untagged_and_irregular_lines_are_kept(tmp_path: Path) -> None:
    raw = _raw("dev")[:1]
    lines = raw[0][0]
    lines[0] = lines[0].replace(": ", ":  ", 1)  # two spaces after the speaker
    lines.append("(They leave the room.)")
    raw[0][1][0]["note"] = "kept"
    path = tmp_path / "test.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    (d,) = read_source("dream", path)
    assert d.split == "test"
    assert d.turns[0].text.startswith(" ") and d.turns[0].annotations.extra == {}  # rebuilds: one space is the tag's
    assert (d.turns[-1].speaker, d.turns[-1].role, d.turns[-1].text) == ("", "unknown", "(They leave the room.)")
    assert d.turns[-1].annotations.extra == {"line": "(They leave the room.)"}
    assert choices_of(d)[0].extra == {"note": "kept"}
    assert_fields_covered(raw[0], d, mapped=MAPPED, normalize=_untagged)


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    mutual = samples_dir("mutual") / "data" / "mutual" / "dev" / "dev_1.txt"
    with pytest.raises(SourceFormatError, match=r"dev_1\.txt, top level: not DREAM"):
        list(read_source("dream", mutual, on_error="skip"))
    photochat = samples_dir("photochat") / "test" / "test_00.json"
    with pytest.raises(SourceFormatError, match=r"test_00\.json, top level: not DREAM"):
        list(read_source("dream", photochat, on_error="skip"))


@pytest.mark.samples
def test_malformed_items_are_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw("train")[:3]
    raw[1][1][0]["answer"] = "None of them."
    path = tmp_path / "train.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    bad_id = raw[1][2]
    with pytest.raises(
        SourceFormatError, match=rf"train\.json, item 1 \({bad_id}\), question 0: answer 'None of them\.' is none of"
    ):
        list(read_source("dream", path))
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in read_source("dream", path, on_error=policy)] == [
        f"dream/train/{raw[0][2]}",
        f"dream/train/{raw[2][2]}",
    ]
    assert len(policy.skipped) == 1
    text = json.dumps(raw[:1] + raw[2:])
    path.write_text(text[: len(text) - len(json.dumps(raw[2])) // 2], encoding="utf-8")  # truncated in item 1
    policy = ErrorPolicy("skip")
    kept = [d.dialogue_id for d in read_source("dream", path, on_error=policy)]
    assert kept == ([] if _ijson() is None else [f"dream/train/{raw[0][2]}"])  # json.load: all or none
    assert "truncated" in policy.skipped[0].reason or "malformed" in policy.skipped[0].reason
