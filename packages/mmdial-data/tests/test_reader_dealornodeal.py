"""Deal or No Deal reader on the real sample (the first 40 lines of val.txt) and on other input.

Expected counts and values are computed here from the raw lines with plain string operations, independently of
the reader's regular expressions and tokenizer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir
from mmdial_data.validate import validate_dialogue


def _sample() -> Path:
    return samples_dir("dealornodeal") / "src" / "data" / "negotiate" / "val.txt"


def _between(line: str, tag: str) -> str:
    return line.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0].strip()


def _parse(line: str) -> dict:
    """One release line as a record: the numbers, the turns split at <eos>, the output tokens."""
    turns = []
    for segment in _between(line, "dialogue").split("<eos>"):
        speaker, _, text = segment.strip().partition(": ")
        turns.append({"speaker": speaker, "text": text.strip()})
    numbers = [int(x) for x in _between(line, "input").split(" ")]
    partner = [int(x) for x in _between(line, "partner_input").split(" ")]
    return {"input": numbers, "turns": turns, "output": _between(line, "output").split(" "), "partner": partner}


def _lines() -> list[str]:
    return [x for x in _sample().read_text(encoding="utf-8").split("\n") if x.strip()]


@pytest.mark.samples
def test_counts_match_source() -> None:
    records = [_parse(x) for x in _lines()]
    dialogues = list(read_source("dealornodeal", _sample()))
    assert len(dialogues) == len(records) == 40
    assert [d.dialogue_id for d in dialogues] == [
        f"dealornodeal/validation/{i}" for i in range(1, 41)
    ]  # no blank lines
    assert sum(len(d.turns) for d in dialogues) == sum(len(r["turns"]) for r in records) == 252
    assert sum(1 for d in dialogues for t in d.turns if t.annotations.dialogue_acts) == 40  # one <selection> each
    no_deal = sum(1 for r in records if r["output"][0] in ("<disagree>", "<no_agreement>"))
    assert sum(1 for d in dialogues if not d.meta["agreement"]) == no_deal
    assert sum(1 for d in dialogues if "selection" in d.meta) == len(records) - no_deal
    for d, r in zip(dialogues, records, strict=True):
        validate_dialogue(d)
        assert [(t.speaker, t.text) for t in d.turns] == [(x["speaker"], x["text"]) for x in r["turns"]]
        assert [t.role for t in d.turns] == [{"YOU": "self", "THEM": "partner"}[x["speaker"]] for x in r["turns"]]
        assert d.meta["counts"] == r["input"][0::2] == r["partner"][0::2]
        assert (d.meta["values"], d.meta["partner_values"]) == (r["input"][1::2], r["partner"][1::2])
        assert d.meta["output"] == r["output"]
        assert_fields_covered(r, d)


@pytest.mark.samples
def test_spot_checks() -> None:
    dialogues = list(read_source("dealornodeal", _sample().parent))
    first, second, third = dialogues[:3]
    assert [(t.speaker, t.text) for t in first.turns] == [
        ("YOU", "you can have all the hats if i get the book and basketballs ."),
        ("THEM", "<selection>"),
    ]
    assert first.meta["agreement"] is False and first.meta["output"] == ["<disagree>"] * 6
    assert (first.meta["counts"], first.meta["values"], first.meta["partner_values"]) == (
        [1, 3, 2],
        [6, 0, 2],
        [2, 2, 1],
    )
    assert second.turns[2].text == "its a trilogy so i really need to hold on to all the books"
    assert second.meta["selection"] == {"you": [2, 0, 1], "them": [1, 3, 0]}
    # the same negotiation seen by the other agent: turns mirrored, selection swapped
    assert [t.text for t in third.turns] == [t.text for t in second.turns]
    assert [t.speaker for t in third.turns] == [{"YOU": "THEM", "THEM": "YOU"}[t.speaker] for t in second.turns]
    assert third.meta["selection"] == {"you": [1, 3, 0], "them": [2, 0, 1]}
    assert [a.act for a in third.turns[-1].annotations.dialogue_acts] == ["selection"]


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    babi = next((samples_dir("dialog_babi_task6_dstc2")).rglob("*dev.txt"))
    with pytest.raises(SourceFormatError, match=r"dev\.txt, line 1: not a Deal or No Deal file"):
        list(read_source("dealornodeal", babi, on_error="skip"))  # refused whatever the policy
    empty = tmp_path / "val.txt"
    empty.write_text("\n")
    with pytest.raises(SourceFormatError, match="not a Deal or No Deal file: no lines"):
        list(read_source("dealornodeal", empty))


@pytest.mark.samples
def test_bad_line_is_skipped_and_reported(tmp_path: Path) -> None:
    lines = _lines()[:4]
    lines[1] = lines[1].replace("<input> 3 3 3 0 1 1 </input>", "<input> 3 3 3 0 1 </input>")
    lines[2] = lines[2].replace(" <eos> YOU: let me", " YOU: let me")
    f = tmp_path / "test.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"test\.txt, line 2: <input>: expected 6 numbers"):
        list(read_source("dealornodeal", f))
    policy = ErrorPolicy("skip")
    kept = list(read_source("dealornodeal", f, on_error=policy))
    assert [d.dialogue_id for d in kept] == ["dealornodeal/test/1", "dealornodeal/test/4"]
    assert [s.record for s in policy.skipped] == ["line 2", "line 3"]
    assert "no <eos> before YOU:" in policy.skipped[1].reason
