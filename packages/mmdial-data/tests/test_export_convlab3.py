"""``mmdial export convlab3``: ConvLab-3 unified datasets that pass ConvLab-3's documented checks
(:func:`check_convlab3`) and read back equal with the ``convlab3`` reader; other sources carry what the format
cannot hold in ``mmdial``; errors are one line, exit 2, nothing left behind."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from mmdial_data import Dialogue, read_source, write_dialogues
from mmdial_data.cli import main
from mmdial_data.exports._carry import full_turn
from mmdial_data.exports.convlab3 import ConvLab3CheckError, check_convlab3, export_convlab3
from mmdial_data.testing import assert_fields_covered, samples_dir


def _unified() -> Path:
    return samples_dir("convlab3_unified") / "data" / "unified_datasets"


def _as_source(d: Dialogue) -> dict:
    return {"dialogue_id": d.dialogue_id, "meta": d.meta, "turns": [full_turn(t) for t in d.turns]}


def _one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("mmdial: error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.samples
def test_round_trip_of_the_real_samples(tmp_path: Path) -> None:
    """read -> write -> read gives the same dialogues; the written dummy data is ConvLab-3's own, field for field."""
    original = list(read_source("convlab3", _unified()))
    assert export_convlab3(original, tmp_path / "out") == {"camrest": 10, "multiwoz21": 10}
    stats = check_convlab3(tmp_path / "out")
    assert stats["multiwoz21"] == {"dialogues": 10, "utterances": 120, "splits": {"train": 10}}
    back = list(read_source("convlab3", tmp_path / "out"))
    assert [d.dialogue_id for d in back] == [d.dialogue_id for d in original]
    for a, b in zip(original, back, strict=True):
        assert b.turns == a.turns
        assert "ontology_domains" not in a.meta and set(b.meta["ontology_domains"]) == set(a.meta["domains"])
        assert {k: v for k, v in b.meta.items() if k != "ontology_domains"} == a.meta
    for name in ("camrest", "multiwoz21"):
        written = json.loads((tmp_path / "out" / name / "dummy_data.json").read_text(encoding="utf-8"))
        raw = json.loads((_unified() / name / "dummy_data.json").read_text(encoding="utf-8"))
        for w, r in zip(written, raw, strict=True):  # equal but for the format's defaults made explicit
            for _wt, rt in zip(w["turns"], r["turns"], strict=True):
                rt.setdefault("state", {}) if rt["speaker"] == "user" else rt.setdefault("db_results", {})
            assert w == r


@pytest.mark.samples
def test_round_trip_with_ontology_and_untexted_turns(tmp_path: Path) -> None:
    """A data.zip with an ontology: its domain entries come back; a turn with empty text goes back in its place."""
    raw = json.loads((_unified() / "camrest" / "dummy_data.json").read_text(encoding="utf-8"))
    no_acts = {"categorical": [], "non-categorical": [], "binary": []}
    raw[1]["turns"][2:2] = [
        {"speaker": "user", "utterance": "", "utt_idx": 2, "state": {}, "dialogue_acts": no_acts},
        {"speaker": "system", "utterance": " ", "utt_idx": 3, "db_results": {}, "dialogue_acts": no_acts},
    ]
    for i, t in enumerate(raw[1]["turns"]):
        t["utt_idx"] = i
    folder = tmp_path / "camrest"
    folder.mkdir()
    export_convlab3(read_source("convlab3", _unified() / "camrest"), tmp_path / "first")
    with zipfile.ZipFile(tmp_path / "first" / "camrest" / "data.zip") as z:
        ontology = json.loads(z.read("data/ontology.json"))
    ontology["domains"]["restaurant"]["description"] = "find a restaurant"
    with zipfile.ZipFile(folder / "data.zip", "w") as z:
        z.writestr("data/dialogues.json", json.dumps(raw))
        z.writestr("data/ontology.json", json.dumps(ontology))
    original = list(read_source("convlab3", folder))
    assert [t["utt_idx"] for t in original[1].meta["turns_without_text"]] == [2, 3]
    export_convlab3(original, tmp_path / "out")
    check_convlab3(tmp_path / "out")
    assert list(read_source("convlab3", tmp_path / "out")) == original


@pytest.mark.samples
@pytest.mark.parametrize(
    ("reader", "path"),
    [
        ("multiwoz22", ("multiwoz22", "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2")),
        ("sgd", ("schema_guided_dialogue", "train")),
        ("abcd", ("abcd", "data")),
    ],
)
def test_cross_format(tmp_path: Path, reader: str, path: tuple[str, str]) -> None:
    """Another source -> ConvLab-3 -> the checks pass -> read back: same texts in order (consecutive turns of one
    speaker merged), acts and state in the format's fields, and every unified value somewhere in the record."""
    original = list(read_source(reader, samples_dir(path[0]) / path[1]))
    data = tmp_path / "in.jsonl"
    write_dialogues(original, data)
    assert main(["export", "convlab3", str(data), "--out", str(tmp_path / "out")]) == 0
    assert check_convlab3(tmp_path / "out")[reader]["dialogues"] == len(original)
    back = list(read_source("convlab3", tmp_path / "out"))
    assert [d.meta["mmdial"]["dialogue_id"] for d in back] == [d.dialogue_id for d in original]
    assert {d.meta["mmdial"]["source"] for d in back} == {reader}
    for a, b in zip(original, back, strict=True):
        assert b.split == a.split and b.meta["dataset"] == reader
        assert b.dialogue_id.startswith(f"convlab3/{a.split}/{reader}-{a.split}-")
        assert " ".join(t.text for t in b.turns) == " ".join(t.text for t in a.turns)
        assert all(x.speaker != y.speaker for x, y in zip(b.turns, b.turns[1:], strict=False))  # ConvLab-3 alternates
        if len(b.turns) == len(a.turns):  # nothing merged: acts and state per turn, exactly or in mmdial
            for x, y in zip(a.turns, b.turns, strict=True):
                carried = y.annotations.extra.get("mmdial", {})
                acts = carried.get("dialogue_acts", [act.to_dict() for act in y.annotations.dialogue_acts])
                assert acts == [act.to_dict() for act in x.annotations.dialogue_acts]
                assert carried.get("state", y.annotations.state) == x.annotations.state
        assert_fields_covered(_as_source(a), b)


def test_check_refuses_what_convlab3_refuses(tmp_path: Path) -> None:
    no_acts = {"categorical": [], "non-categorical": [], "binary": []}
    turns = [
        {"speaker": "user", "utterance": "hi", "utt_idx": 0, "state": {}, "dialogue_acts": no_acts},
        {"speaker": "system", "utterance": "hello", "utt_idx": 1, "db_results": {}, "dialogue_acts": no_acts},
    ]
    dialogue = {"dataset": "toy", "data_split": "train", "dialogue_id": "toy-train-0", "domains": [], "turns": turns}
    ontology = {"domains": {}, "intents": {}, "state": {}, "dialogue_acts": {"categorical": [], "binary": []}}

    def write(d: dict, o: dict = ontology) -> Path:
        folder = tmp_path / "toy"
        folder.mkdir(exist_ok=True)
        with zipfile.ZipFile(folder / "data.zip", "w") as z:
            z.writestr("data/dialogues.json", json.dumps([d]))
            z.writestr("data/ontology.json", json.dumps(o))
        (folder / "dummy_data.json").write_text(json.dumps([d]), encoding="utf-8")
        return folder

    check_convlab3(write(dialogue))
    cases = [
        ({**dialogue, "dialogue_id": "toy-0"}, r"dialogue_id must be toy-train-<int>"),
        ({**dialogue, "dataset": "other"}, r"dataset 'other' is not 'toy'"),
        ({**dialogue, "turns": [turns[0], {**turns[1], "speaker": "user", "state": {}}]}, r"must alternate"),
        ({**dialogue, "turns": [turns[0], {**turns[1], "utt_idx": 5}]}, r"turn 1: utt_idx 5 is not 1"),
        ({**dialogue, "turns": [{**turns[0], "db_results": {}}, turns[1]]}, r"a user turn has no db_results"),
        ({**dialogue, "turns": [turns[0], {**turns[1], "state": {}}]}, r"a system turn has no state"),
        ({**dialogue, "turns": [{**turns[0], "state": {"hotel": {"area": ""}}}, turns[1]]}, r"'hotel' is not an"),
        ({**dialogue, "turns": [{**turns[0], "dialogue_acts": {}}, turns[1]]}, r"categorical dialogue_acts must be"),
    ]
    for bad, message in cases:
        with pytest.raises(ConvLab3CheckError, match=message):
            check_convlab3(write(bad))
    act = {"intent": "inform", "domain": "hotel", "slot": "area", "value": "north", "start": 0, "end": 2}
    slot = {"description": "", "is_categorical": False, "possible_values": []}
    o = {**ontology, "domains": {"hotel": {"description": "", "slots": {"area": slot}}}, "intents": {"inform": {}}}
    o["intents"] = {"inform": {"description": ""}}
    o["dialogue_acts"] = {
        "non-categorical": ["{'user': True, 'system': False, 'intent': 'inform', 'domain': 'hotel', 'slot': 'area'}"]
    }
    acts = {"categorical": [], "non-categorical": [act], "binary": []}
    with_act = {**dialogue, "domains": ["hotel"], "turns": [{**turns[0], "dialogue_acts": acts}, turns[1]]}
    with pytest.raises(ConvLab3CheckError, match=r"span 'hi' is not the value"):
        check_convlab3(write(with_act, o))
    categorical = {**o, "domains": {"hotel": {"description": "", "slots": {"area": {**slot, "is_categorical": True}}}}}
    with pytest.raises(ConvLab3CheckError, match=r"a categorical slot needs possible values"):
        check_convlab3(write(with_act, categorical))


@pytest.mark.samples
def test_existing_out_needs_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "in.jsonl"
    write_dialogues(read_source("convlab3", _unified() / "camrest"), data)
    out = tmp_path / "out"
    (out / "keep").mkdir(parents=True)
    line = _one_line(capsys, ["export", "convlab3", str(data), "--out", str(out)])
    assert line.startswith(f"mmdial: error: {out}: already exists; pass --overwrite")
    assert [p.name for p in out.iterdir()] == ["keep"]
    assert main(["export", "convlab3", str(data), "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["camrest"]


@pytest.mark.samples
def test_unwritable_out_and_bad_input_leave_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "in.jsonl"
    write_dialogues(read_source("convlab3", _unified() / "camrest"), data)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    line = _one_line(capsys, ["export", "convlab3", str(data), "--out", str(tmp_path / "file" / "out")])
    assert "is a file, not a folder" in line
    line = _one_line(capsys, ["export", "convlab3", str(data), "--out", str(tmp_path / "o"), "--dataset", "a-b"])
    assert "dataset name 'a-b' cannot be part of a ConvLab-3 dialogue id" in line
    line = _one_line(capsys, ["export", "convlab3", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert "missing.jsonl: no such file or folder" in line

    import mmdial_data.exports.convlab3 as module

    def failing_check(folder: Path) -> dict:  # fails after the files are written: none may stay
        raise ConvLab3CheckError("span 'x' is not the value", path=folder / "camrest" / "data.zip", record="turn 0")

    monkeypatch.setattr(module, "check_convlab3", failing_check)
    line = _one_line(capsys, ["export", "convlab3", str(data), "--out", str(tmp_path / "o")])
    assert line.startswith(f"mmdial: error: {tmp_path / 'o' / 'camrest' / 'data.zip'}:turn 0: span")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
