"""CaSiNo reader on the real sample (the first 12 dialogues of the train and valid split files) and bad input.

Expected counts are computed here from the raw JSON with ``json``, independently of the reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.splits import canonical_split
from mmdial_data.testing import assert_fields_covered, samples_dir
from mmdial_data.validate import validate_dialogue

ACTIONS = {"Submit-Deal", "Accept-Deal", "Reject-Deal", "Walk-Away"}
#: ``id`` is the turn's speaker; an empty ``task_data`` ({}) carries nothing and is left out.
MAPPED = {"id": "Turn.speaker", "task_data": "Annotations.extra"}


def _split_file(name: str) -> Path:
    return samples_dir("casino") / "data" / "split" / f"casino_{name}.json"


@pytest.mark.samples
@pytest.mark.parametrize(("name", "n_dialogues", "n_turns"), [("train", 12, 153), ("valid", 12, 165)])
def test_counts_match_source(name: str, n_dialogues: int, n_turns: int) -> None:
    raw = json.loads(_split_file(name).read_text(encoding="utf-8"))
    dialogues = list(read_source("casino", _split_file(name)))
    assert len(dialogues) == len(raw) == n_dialogues
    assert [d.dialogue_id for d in dialogues] == [f"casino/{canonical_split(name)}/{r['dialogue_id']}" for r in raw]
    assert sum(len(d.turns) for d in dialogues) == sum(len(r["chat_logs"]) for r in raw) == n_turns
    turns = [t for d in dialogues for t in d.turns]
    n_actions = sum(1 for r in raw for m in r["chat_logs"] if m["text"] in ACTIONS)
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == n_actions
    assert sum(1 for t in turns if "task_data" in t.annotations.extra) == sum(
        1 for r in raw for m in r["chat_logs"] if m["task_data"]
    )
    n_annotated = sum(len(r["annotations"]) for r in raw)
    assert sum(1 for t in turns if "strategies" in t.annotations.extra) == n_annotated
    n_labels = sum(len(a[1].split(",")) for r in raw for a in r["annotations"])
    assert sum(len(t.annotations.extra.get("strategies", [])) for t in turns) == n_labels
    assert [d.meta["annotated"] for d in dialogues] == [bool(r["annotations"]) for r in raw]
    for d, r in zip(dialogues, raw, strict=True):
        validate_dialogue(d)
        assert [t.text for t in d.turns] == [m["text"] for m in r["chat_logs"]]
        assert d.meta["participant_info"] == r["participant_info"]
        assert_fields_covered(r, d, mapped=MAPPED)


@pytest.mark.samples
@pytest.mark.parametrize(
    ("name", "annotated", "utterances", "labels", "actions"), [("train", 5, 56, 67, 24), ("valid", 2, 20, 21, 26)]
)
def test_annotation_counts(name: str, annotated: int, utterances: int, labels: int, actions: int) -> None:
    """The figures of the sample (counted with json above) as the reader sees them."""
    dialogues = list(read_source("casino", _split_file(name)))
    turns = [t for d in dialogues for t in d.turns]
    assert sum(d.meta["annotated"] for d in dialogues) == annotated
    assert sum(1 for t in turns if "strategies" in t.annotations.extra) == utterances
    assert sum(len(t.annotations.extra.get("strategies", [])) for t in turns) == labels
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == actions


@pytest.mark.samples
def test_spot_checks() -> None:
    dialogues = {d.dialogue_id: d for d in read_source("casino", samples_dir("casino"))}  # folder: both files
    assert {d.split for d in dialogues.values()} == {"train", "validation"}
    d = dialogues["casino/validation/157"]
    assert len(d.turns) == 12 and d.meta["annotated"] is True
    t0, t4, t10, t11 = d.turns[0], d.turns[4], d.turns[10], d.turns[11]
    assert (t0.speaker, t0.role) == ("mturk_agent_1", "speaker_a") and d.turns[1].role == "speaker_b"
    assert t0.annotations.extra == {"annotation": "small-talk", "strategies": ["small-talk"]}
    assert t4.text.startswith("I have checked and see that it is in the rainy season!")
    assert t4.annotations.extra["strategies"] == ["self-need"]
    assert t10.text == "Submit-Deal" and [a.act for a in t10.annotations.dialogue_acts] == ["Submit-Deal"]
    assert t10.annotations.extra["task_data"]["issue2youget"] == {"Firewood": "2", "Food": "1", "Water": "1"}
    assert t11.text == "Accept-Deal" and t11.annotations.extra == {"task_data": {"data": "accept_deal"}}
    agent1 = d.meta["participant_info"]["mturk_agent_1"]
    assert agent1["value2issue"]["High"] == "Firewood" and agent1["outcomes"]["points_scored"] == 17
    assert agent1["personality"]["big-five"]["agreeableness"] == 7.0
    multi = dialogues["casino/train/536"]
    assert any(len(t.annotations.extra.get("strategies", [])) == 3 for t in multi.turns)
    unannotated = dialogues["casino/train/938"]
    assert unannotated.meta["annotated"] is False
    assert all("strategies" not in t.annotations.extra for t in unannotated.turns)


@pytest.mark.samples
def test_unaligned_annotations_are_kept_in_meta(tmp_path: Path) -> None:
    raw = json.loads(_split_file("valid").read_text(encoding="utf-8"))
    one = next(r for r in raw if r["annotations"])
    one["annotations"] = one["annotations"][:-1]
    f = tmp_path / "casino_test.json"
    f.write_text(json.dumps([one]), encoding="utf-8")
    (d,) = read_source("casino", f)
    assert d.split == "test" and d.meta["annotations_aligned"] is False
    assert d.meta["annotations"] == one["annotations"]
    assert all("strategies" not in t.annotations.extra for t in d.turns)


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    esconv = samples_dir("esconv") / "FailedESConv.json"
    with pytest.raises(SourceFormatError, match=r"FailedESConv\.json, item 0: not a CaSiNo file"):
        list(read_source("casino", esconv, on_error="skip"))  # refused whatever the policy
    with pytest.raises(SourceFormatError, match="no casino"):
        list(read_source("casino", samples_dir("esconv")))
    soda = next((samples_dir("soda")).rglob("*.json"))
    with pytest.raises(SourceFormatError, match="not a CaSiNo file"):
        list(read_source("casino", soda))


@pytest.mark.samples
def test_bad_dialogue_is_skipped_and_reported(tmp_path: Path) -> None:
    raw = json.loads(_split_file("train").read_text(encoding="utf-8"))[:3]
    raw[1]["chat_logs"][2]["text"] = None
    f = tmp_path / "casino_train.json"
    f.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=rf"dialogue 1 \({raw[1]['dialogue_id']}\), message 2: no text"):
        list(read_source("casino", f))
    policy = ErrorPolicy("skip")
    kept = list(read_source("casino", f, on_error=policy))
    assert [d.meta["dialogue_id"] for d in kept] == [raw[0]["dialogue_id"], raw[2]["dialogue_id"]]
    assert len(policy.skipped) == 1 and policy.skipped[0].path == str(f)
