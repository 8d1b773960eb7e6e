"""CrossWOZ reader on the real sample (val.json.zip: the first 4 dialogues) and on other input.

Expected counts are computed here from the zipped JSON with ``zipfile`` and ``json``, independently of the reader.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mmdial_data import Dialogue, ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir
from mmdial_data.validate import validate_dialogue

#: dialog_act tuples become DialogueAct columns; role is mapped onto speaker/role.
MAPPED = {"dialog_act": "Annotations.dialogue_acts", "role": "Turn.speaker"}


def _sample() -> Path:
    return samples_dir("crosswoz") / "data" / "crosswoz" / "val.json.zip"


def _raw() -> dict:
    with zipfile.ZipFile(_sample()) as z:
        return json.loads(z.read("val.json").decode("utf-8"))


@pytest.mark.samples
def test_counts_match_source() -> None:
    raw = _raw()
    dialogues = list(read_source("crosswoz", _sample()))
    assert len(dialogues) == len(raw) == 4
    assert [d.dialogue_id for d in dialogues] == [f"crosswoz/validation/{k}" for k in raw]
    messages = [m for r in raw.values() for m in r["messages"]]
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == len(messages) == 72
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == sum(len(m["dialog_act"]) for m in messages) == 145
    n_state = sum(
        1
        for m in messages
        if m["role"] == "sys"
        for slots in m["sys_state"].values()
        for k, v in slots.items()
        if k != "selectedResults" and v
    )
    assert sum(len(t.annotations.state) for t in turns) == n_state
    assert sum(1 for t in turns if "user_state" in t.annotations.extra) == sum(
        1 for m in messages if m["role"] == "usr"
    )
    for d, (task_id, r) in zip(dialogues, raw.items(), strict=True):
        validate_dialogue(d)
        assert [t.text for t in d.turns] == [m["content"] for m in r["messages"]]  # Chinese text, exactly
        assert d.meta["goal"] == r["goal"] and d.meta["task description"] == r["task description"]
        assert d.meta["original_id"] == task_id
        assert_fields_covered(r, d, mapped=MAPPED)


@pytest.mark.samples
def test_spot_checks() -> None:
    d = next(read_source("crosswoz", _sample().parent))  # the folder
    assert (
        d.dialogue_id == "crosswoz/validation/11290"
        and d.meta["type"] == "不独立多领域"
        and d.meta["sys-usr"] == [120, 20]
    )
    t0, t1 = d.turns[0], d.turns[1]
    assert (t0.speaker, t0.role) == ("usr", "user")
    assert t0.text == "你好，我想找家人均消费在100-150元的餐馆吃驴杂汤这道菜，请给我推荐一家餐馆用餐吧。"
    assert [(a.act, a.domain, a.slot, a.values) for a in t0.annotations.dialogue_acts][:2] == [
        ("General", "greet", "none", ["none"]),
        ("Inform", "餐馆", "人均消费", ["100-150元"]),
    ]
    assert t0.annotations.extra["user_state"][0] == [1, "餐馆", "推荐菜", ["驴杂汤"], True]
    assert (t1.speaker, t1.role) == ("sys", "system")
    assert t1.text == "抱歉，消费价格没有符合您要求的，推荐您去人均消费68元的讲礼驴肉馆用餐。"
    assert t1.annotations.state == {"餐馆-推荐菜": ["驴杂汤"]}
    assert t1.annotations.extra["sys_state"]["餐馆"]["selectedResults"] == ["讲礼驴肉馆"]
    assert t1.annotations.extra["sys_state_init"]["餐馆"]["人均消费"] == "100-150元"
    # the unified record stores the text as UTF-8 and gives it back unchanged
    assert Dialogue.from_dict(json.loads(json.dumps(d.to_dict(), ensure_ascii=False))) == d


@pytest.mark.samples
def test_unzipped_json_and_split_override(tmp_path: Path) -> None:
    f = tmp_path / "test.json"
    f.write_text(json.dumps(_raw(), ensure_ascii=False), encoding="utf-8")
    from_json = list(read_source("crosswoz", f))
    from_zip = list(read_source("crosswoz", _sample(), split="test"))
    assert [d.to_dict() for d in from_json] == [d.to_dict() for d in from_zip]


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "train.json.zip"
    with zipfile.ZipFile(wrong, "w") as z:
        z.writestr("train.json", (samples_dir("esconv") / "FailedESConv.json").read_bytes())
    with pytest.raises(SourceFormatError, match=r"train\.json\.zip!train\.json, top level: not a CrossWOZ file"):
        list(read_source("crosswoz", wrong, on_error="skip"))  # refused whatever the policy
    with zipfile.ZipFile(wrong, "w") as z:
        z.writestr("README.md", "no json here")
    with pytest.raises(SourceFormatError, match=r"holds no \.json member"):
        list(read_source("crosswoz", wrong))
    multiwoz_like = tmp_path / "val.json"
    multiwoz_like.write_text(json.dumps({"SNG01": {"goal": {}, "log": []}}))
    with pytest.raises(SourceFormatError, match="not a CrossWOZ file: the first dialogue has no 'messages'"):
        list(read_source("crosswoz", multiwoz_like))


@pytest.mark.samples
def test_bad_dialogue_is_skipped_and_reported(tmp_path: Path) -> None:
    raw = _raw()
    second = list(raw)[1]
    raw[second]["messages"][3]["role"] = "bot"
    f = tmp_path / "val.json.zip"
    with zipfile.ZipFile(f, "w") as z:
        z.writestr("val.json", json.dumps(raw, ensure_ascii=False))
    with pytest.raises(SourceFormatError, match=rf"dialogue {second}, message 3: unknown role 'bot'"):
        list(read_source("crosswoz", f))
    policy = ErrorPolicy("skip")
    kept = list(read_source("crosswoz", f, on_error=policy))
    assert [d.meta["original_id"] for d in kept] == [k for k in raw if k != second]
    assert [s.path for s in policy.skipped] == [f"{f}!val.json"]
