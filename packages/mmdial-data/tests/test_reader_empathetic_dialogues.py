"""EmpatheticDialogues reader: the real train.csv slice and the hand-written demo (format of the official README)."""

from __future__ import annotations

from collections import Counter

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.readers.empathetic_dialogues import unescape
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


def _rows(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    return [dict(zip(header, line.split(","), strict=True)) for line in lines[1:] if line]


@pytest.mark.samples
def test_sample_counts_and_spot_checks() -> None:
    path = samples_dir("empathetic_dialogues") / "train.csv"
    rows = _rows(path)
    per_conv = Counter(r["conv_id"] for r in rows)
    dialogues = list(read_source("empathetic_dialogues", path))
    assert len(rows) == 136 and len(per_conv) == 29
    assert [d.meta["conv_id"] for d in dialogues] == list(per_conv)
    assert [len(d.turns) for d in dialogues] == list(per_conv.values())
    first = dialogues[0]
    assert first.dialogue_id == "empathetic_dialogues/train/hit:0_conv:1"
    assert first.meta["emotion"] == "sentimental"
    assert first.meta["prompt"].endswith("There was a lot of people, but it only felt like us in the world.")
    assert first.turns[1].text == "Was this a friend you were in love with, or just a best friend?"
    assert [t.role for t in first.turns[:3]] == ["speaker", "listener", "speaker"]
    assert [t.annotations.emotion for t in first.turns[:2]] == ["sentimental", None]
    assert first.turns[0].annotations.extra["selfeval"] == "5|5|5_2|2|5"
    one = next(d for d in dialogues if d.meta["conv_id"] == "hit:6_conv:13")
    assert len(one.turns) == 1
    assert any(t.text == "I don'" for d in dialogues for t in d.turns)  # the truncated utterance stays as it is


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = samples_dir("empathetic_dialogues") / "train.csv"
    by_conv: dict[str, list[dict[str, str]]] = {}
    for r in _rows(path):
        by_conv.setdefault(r["conv_id"], []).append(r)
    for d in read_source("empathetic_dialogues", path):
        assert_fields_covered(by_conv[d.meta["conv_id"]], d, normalize=unescape)


def test_demo_follows_official_format() -> None:
    # Written by hand from the EmpatheticDialogues README (facebookresearch/EmpatheticDialogues): header,
    # _comma_ escaping, 1-based utterance_idx, speaker_idx crowdworker ids.
    path = demo_dir() / "empathetic_dialogues" / "train.csv"
    dialogues = list(read_source("empathetic_dialogues", path))
    assert [len(d.turns) for d in dialogues] == [3, 2]
    assert dialogues[0].meta["prompt"] == "I finally finished my first marathon, after a year of training."
    assert dialogues[0].turns[2].text == "Thanks! I could barely walk the day after."
    assert dialogues[0].turns[2].annotations.extra["tags"] == "<HI> "
    assert [t.speaker for t in dialogues[1].turns] == ["12", "58"]
    by_conv: dict[str, list[dict[str, str]]] = {}
    for r in _rows(path):
        by_conv.setdefault(r["conv_id"], []).append(r)
    for d in dialogues:
        assert_fields_covered(by_conv[d.meta["conv_id"]], d, normalize=unescape)


def test_bad_rows_name_file_and_line(tmp_path) -> None:
    lines = (demo_dir() / "empathetic_dialogues" / "train.csv").read_text().split("\n")
    lines[2] = lines[2] + ",extra"
    bad = tmp_path / "valid.csv"
    bad.write_text("\n".join(lines))
    with pytest.raises(SourceFormatError, match=r"valid\.csv, line 3: expected 8 comma-separated fields, found 9"):
        list(read_source("empathetic_dialogues", bad))
    policy = ErrorPolicy("skip")
    got = list(read_source("empathetic_dialogues", bad, on_error=policy))
    assert [d.dialogue_id for d in got] == ["empathetic_dialogues/validation/hit:901_conv:1803"]
    assert [s.record for s in policy.skipped] == ["line 3"]


def test_truncated_file_and_gaps(tmp_path) -> None:
    text = (demo_dir() / "empathetic_dialogues" / "train.csv").read_text()
    bad = tmp_path / "test.csv"
    bad.write_text(text[: text.index("hit:901_conv:1803,2") + 25])  # last row cut in the middle
    with pytest.raises(SourceFormatError, match=r"test\.csv, line 6"):
        list(read_source("empathetic_dialogues", bad))
    lines = text.split("\n")
    del lines[2]  # utterance 2 of the first conversation
    bad.write_text("\n".join(lines))
    with pytest.raises(SourceFormatError, match="utterance_idx 3, expected 2"):
        list(read_source("empathetic_dialogues", bad))
