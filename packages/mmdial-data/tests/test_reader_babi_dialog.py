"""Dialog bAbI reader on the real sample (task 6, the first 10 dialogues of Mem2Seq's dev file) and other input.

Expected counts are computed here from the raw lines with plain string operations, independently of the reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import samples_dir
from mmdial_data.validate import validate_dialogue


def _folder() -> Path:
    return samples_dir("dialog_babi_task6_dstc2") / "data" / "dialog-bAbI-tasks"


def _blocks(path: Path) -> list[list[str]]:
    """The dialogues of a file as lists of lines (blocks separated by blank lines)."""
    text = path.read_text(encoding="utf-8")
    return [[x for x in block.split("\n") if x] for block in text.split("\n\n") if block.strip()]


@pytest.mark.samples
def test_counts_match_source() -> None:
    dev = _folder() / "dialog-babi-task6dev.txt"
    blocks = _blocks(dev)
    dialogues = list(read_source("babi_dialog", dev))
    assert len(dialogues) == len(blocks) == 10
    assert [d.dialogue_id for d in dialogues] == [f"babi_dialog/validation/task6/{i}" for i in range(1, 11)]
    exchanges = [x for b in blocks for x in b if "\t" in x]
    silences = [x for x in exchanges if x.split(" ", 1)[1].startswith("<SILENCE>\t")]
    results = [x for b in blocks for x in b if "\t" not in x]
    assert len(exchanges) == 75
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == 2 * len(exchanges) - len(silences)
    assert sum(1 for t in turns if t.role == "user") == len(exchanges) - len(silences)
    assert sum(1 for t in turns if t.role == "system") == len(exchanges)
    assert sum(1 for t in turns if "user_text" in t.annotations.extra) == len(silences)
    assert sum(len(t.annotations.extra.get("api_results", [])) for t in turns) == len(results)
    n_calls = sum(1 for x in exchanges if x.split("\t", 1)[1].startswith("api_call "))
    assert sum(1 for t in turns for a in t.annotations.dialogue_acts if a.act == "api_call") == n_calls
    for d, block in zip(dialogues, blocks, strict=True):
        validate_dialogue(d)
        bot = [x.split("\t", 1)[1].strip() for x in block if "\t" in x]
        assert [t.text for t in d.turns if t.role == "system"] == bot
        user = [x.split("\t", 1)[0].split(" ", 1)[1] for x in block if "\t" in x]
        assert [t.text for t in d.turns if t.role == "user"] == [u for u in user if u != "<SILENCE>"]
        assert d.meta["task"] == 6 and d.meta["file"] == dev.name


@pytest.mark.samples
def test_spot_checks() -> None:
    dialogues = list(read_source("babi_dialog", _folder()))  # the folder: the KB file is not read
    assert {d.split for d in dialogues} == {"validation"}  # dev (the tst file of the sample is kept aside)
    assert {d.meta["source_split"] for d in dialogues} == {"dev"}
    first, second = dialogues[0], dialogues[1]
    t0 = first.turns[0]
    assert (t0.speaker, t0.role) == ("system", "system") and t0.annotations.extra["user_text"] == "<SILENCE>"
    assert t0.text.startswith("Hello , welcome to the Cambridge restaurant system .")
    assert (first.turns[1].text, first.turns[1].role) == ("expensive restaurant in the south part of town", "user")
    bye = first.turns[-1]
    assert bye.text == "you are welcome" and bye.annotations.extra == {"line": 6, "raw_text": " you are welcome"}
    call = second.turns[4]
    assert call.text == "api_call lebanese west R_price"
    assert [(a.act, a.values) for a in call.annotations.dialogue_acts] == [
        ("api_call", ["lebanese", "west", "R_price"])
    ]
    assert call.annotations.extra["api_results"] == ["api_call no result"]
    thai = next(t for t in second.turns if t.text == "api_call thai west R_price")
    assert thai.annotations.extra["api_results"][0] == "sala_thong R_post_code sala_thong_post_code"
    assert thai.annotations.extra["api_result_lines"] == list(range(7, 14))
    assert second.turns[5].text == "Sorry there is no lebanese restaurant in the west of town"


@pytest.mark.samples
def test_split_names(tmp_path: Path) -> None:
    src = (_folder() / "dialog-babi-task6dev.txt").read_bytes()
    for name, split in [
        ("dialog-babi-task1-API-calls-trn.txt", "train"),
        ("dialog-babi-task5-full-dialogs-tst-OOV.txt", "test_oov"),
        ("dialog-babi-task6-dstc2-tst.txt", "test"),
    ]:
        f = tmp_path / name
        f.write_bytes(src)
        d = next(read_source("babi_dialog", f))
        assert (d.split, d.dialogue_id.split("/")[2]) == (split, f"task{name.split('task')[1][0]}")


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    kb = _folder() / "dialog-babi-task6-dstc2-kb.txt"
    with pytest.raises(SourceFormatError, match=r"kb\.txt, line 1: not a dialog bAbI dialogue file"):
        list(read_source("babi_dialog", kb, on_error="skip"))  # refused whatever the policy
    dnd = samples_dir("dealornodeal") / "src" / "data" / "negotiate" / "val.txt"
    with pytest.raises(SourceFormatError, match="not a dialog bAbI dialogue file"):
        list(read_source("babi_dialog", dnd))
    with pytest.raises(SourceFormatError, match="no dialog-babi-task"):
        list(read_source("babi_dialog", samples_dir("dealornodeal")))


@pytest.mark.samples
def test_bad_dialogue_is_skipped_and_reported(tmp_path: Path) -> None:
    blocks = _blocks(_folder() / "dialog-babi-task6dev.txt")[:3]
    blocks[1][2] = blocks[1][2].replace("3 ", "4 ", 1)
    f = tmp_path / "dialog-babi-task6-dstc2-dev.txt"
    f.write_text("\n\n".join("\n".join(b) for b in blocks) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"line 10: line number 4, expected 3"):
        list(read_source("babi_dialog", f))
    policy = ErrorPolicy("skip")
    kept = list(read_source("babi_dialog", f, on_error=policy))
    assert [d.dialogue_id for d in kept] == ["babi_dialog/validation/task6/1", "babi_dialog/validation/task6/3"]
    assert [s.record for s in policy.skipped] == ["line 10"]
