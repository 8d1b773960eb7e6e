"""MuTual / MuTual-plus reader on the real sample (Nealcly/MuTual ``data/{mutual,mutual_plus}/{train,dev}/``, the
ten lowest-numbered examples of each, byte for byte). Counts are computed here from the raw JSON, by tokens
rather than by the reader's regular expression."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.splits import canonical_split
from mmdial_data.tasks import choices_of
from mmdial_data.testing import assert_fields_covered, samples_dir

#: ``article`` is split into the turns (rebuilt exactly below), ``answers`` becomes the choice's index.
IGNORE = ("article", "answers")


def _data() -> Path:
    return samples_dir("mutual") / "data"


def _raw(variant: str, split: str) -> list[dict[str, Any]]:
    files = sorted((_data() / variant / split).glob("*.txt"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def _tags(article: str, variant: str) -> list[str]:
    """The speaker tags of an article: ``m``/``f`` followed by a ``:`` token, or an ``M:``/``F:`` token."""
    tokens = article.split()
    if variant == "mutual":
        return [a for a, b in pairwise(tokens) if a in ("m", "f") and b == ":"]
    return [t[0] for t in tokens if t in ("M:", "F:")]


@pytest.mark.samples
@pytest.mark.parametrize("variant", ["mutual", "mutual_plus"])
@pytest.mark.parametrize(("split", "turns"), [("train", 95), ("dev", 58)])
def test_sample_counts(variant: str, split: str, turns: int) -> None:
    raw = _raw(variant, split)
    dialogues = list(read_source("mutual", _data() / variant / split))
    assert len(dialogues) == len(raw) == 10
    assert [d.dialogue_id for d in dialogues] == [f"mutual/{canonical_split(split)}/{variant}/{x['id']}" for x in raw]
    assert {(d.split, d.meta["variant"]) for d in dialogues} == {(canonical_split(split), variant)}
    assert [len(d.turns) for d in dialogues] == [len(_tags(x["article"], variant)) for x in raw]
    assert sum(len(d.turns) for d in dialogues) == turns  # SOURCE.md's counts.json
    assert [[t.speaker for t in d.turns] for d in dialogues] == [_tags(x["article"], variant) for x in raw]
    choices = [choices_of(d) for d in dialogues]
    assert [len(c) for c in choices] == [1] * 10
    assert [c[0].options for c in choices] == [x["options"] for x in raw]
    assert sum(len(c[0].options) for c in choices) == sum(len(x["options"]) for x in raw) == 40
    assert [c[0].answer for c in choices] == ["ABCD".index(x["answers"]) for x in raw]
    assert [c[0].after_turn for c in choices] == [len(d.turns) - 1 for d in dialogues]
    joiner = " : " if variant == "mutual" else ": "
    for d, x in zip(dialogues, raw, strict=True):
        assert " ".join(f"{t.speaker}{joiner}{t.text}" for t in d.turns) == x["article"]
        assert "article" not in d.meta  # rebuilt exactly, so not stored twice


@pytest.mark.samples
def test_whole_release_folder() -> None:
    dialogues = list(read_source("mutual", _data()))
    assert len(dialogues) == 40
    assert len({d.dialogue_id for d in dialogues}) == 40  # the variants share ids; the variant keeps them apart


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    (d,) = read_source("mutual", _data() / "mutual" / "train" / "train_1.txt")
    assert d.dialogue_id == "mutual/train/mutual/train_1"
    assert [(t.speaker, t.role) for t in d.turns[:3]] == [("m", "speaker_a"), ("f", "speaker_b"), ("m", "speaker_a")]
    assert d.turns[0].text == "excuse me . how much is this suit ?"
    assert d.turns[1].text == "it 's on sale today for $ 750 . it 's normally $ 900 ."
    (choice,) = choices_of(d)
    assert choice.question is None and choice.answer == 1
    assert choice.answer_text == (
        "f : although the suit you sew is the same as it , the material of this suit is imported from italy ."
    )
    (plus,) = read_source("mutual", _data() / "mutual_plus" / "dev" / "dev_1.txt")
    assert plus.dialogue_id == "mutual/validation/mutual_plus/dev_1"
    assert (plus.turns[0].speaker, plus.turns[0].text) == ("M", "Hi, Della. How long are you going to stay here?")
    assert choices_of(plus)[0].answer_text == (
        "M: I really want to say that your performance in Manchester must will be great!"
    )


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    for variant in ("mutual", "mutual_plus"):
        for split in ("train", "dev"):
            for d, x in zip(read_source("mutual", _data() / variant / split), _raw(variant, split), strict=True):
                assert_fields_covered(x, d, ignore=IGNORE)


@pytest.mark.samples
def test_test_split_without_answers(tmp_path: Path) -> None:
    folder = tmp_path / "mutual_plus" / "test"
    folder.mkdir(parents=True)
    x = _raw("mutual_plus", "dev")[0]
    del x["answers"]
    x["id"] = "test_1"
    (folder / "test_1.txt").write_text(json.dumps(x), encoding="utf-8")
    (d,) = read_source("mutual", tmp_path)
    assert d.dialogue_id == "mutual/test/mutual_plus/test_1"
    assert choices_of(d)[0].answer is None and choices_of(d)[0].options == x["options"]


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    dream = samples_dir("dream") / "data" / "dev.json"
    with pytest.raises(SourceFormatError, match=r"dev\.json, top level: not MuTual"):
        list(read_source("mutual", dream, on_error="skip"))
    topical = samples_dir("topical_chat") / "conversations" / "valid_freq.json"
    with pytest.raises(SourceFormatError, match=r"valid_freq\.json, top level: not MuTual"):
        list(read_source("mutual", topical, on_error="skip"))


@pytest.mark.samples
def test_malformed_examples_are_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "mutual" / "dev"
    folder.mkdir(parents=True)
    for p in sorted((_data() / "mutual" / "dev").glob("dev_[123].txt")):
        (folder / p.name).write_bytes(p.read_bytes())
    bad = json.loads((folder / "dev_2.txt").read_text(encoding="utf-8"))
    bad["answers"] = "E"
    (folder / "dev_2.txt").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"dev_2\.txt, example dev_2: answers 'E' is not one of"):
        list(read_source("mutual", folder))
    (folder / "dev_3.txt").write_text((folder / "dev_3.txt").read_text(encoding="utf-8")[:-40], encoding="utf-8")
    policy = ErrorPolicy("skip")
    assert [d.dialogue_id for d in read_source("mutual", folder, on_error=policy)] == ["mutual/validation/mutual/dev_1"]
    assert [(Path(s.path or "").name, (s.record or "").split(" column")[0]) for s in policy.skipped] == [
        ("dev_2.txt", "example dev_2"),
        ("dev_3.txt", "line 1"),
    ]
    assert "malformed JSON" in policy.skipped[1].reason
