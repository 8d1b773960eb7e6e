"""``mmdial export dialogstudio``: DialogStudio ``<DATASET>/converted_examples.json`` in DialogStudio's layout that
the ``dialogstudio`` reader reads back equal (the real SODA file comes back identical); other sources carry what
the format cannot hold in ``mmdial``; errors are one line, exit 2, nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import Dialogue, read_source, write_dialogues
from mmdial_data.cli import main
from mmdial_data.exports._carry import full_turn
from mmdial_data.exports.dialogstudio import export_dialogstudio
from mmdial_data.readers.dialogstudio import SYSTEM, SYSTEM_INFO, USER, USER_INFO
from mmdial_data.testing import assert_fields_covered, samples_dir

#: The fields of a log entry in DialogStudio's task-oriented layout.
ENTRY_FIELDS = {"turn id", USER, SYSTEM, "dialog history", USER_INFO, SYSTEM_INFO, "dst", "dst accumulated", "intent"}
DIALOGUE_FIELDS = {
    "original dialog id",
    "dialog index",
    "original dialog info",
    "log",
    "external knowledge non-flat",
    "external knowledge",
    "dst knowledge",
    "intent knowledge",
    "prompt",
}


def _soda() -> Path:
    return samples_dir("dialogstudio_format") / "open-domain-dialogues" / "SODA" / "converted_examples.json"


def _one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("mmdial: error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.samples
def test_round_trip_of_the_real_sample(tmp_path: Path) -> None:
    original = list(read_source("dialogstudio", _soda()))
    assert export_dialogstudio(original, tmp_path / "out") == {"SODA_PROCESSED": 5}
    written = tmp_path / "out" / "SODA_PROCESSED" / "converted_examples.json"
    assert json.loads(written.read_text(encoding="utf-8")) == json.loads(_soda().read_text(encoding="utf-8"))
    assert list(read_source("dialogstudio", tmp_path / "out")) == original


def test_round_trip_of_a_task_oriented_entry(tmp_path: Path) -> None:
    """dst, intent, JSON-text side information, a history that is not the rebuilt one, an entry without a system
    response, one without a user utterance and one with no text at all."""
    log = [
        {
            "turn id": 1,
            USER: "I want a Chinese place in the centre.",
            SYSTEM: "There are 10.",
            "dialog history": "",
            USER_INFO: json.dumps({"frames": [{"service": "restaurant"}]}),
            SYSTEM_INFO: "{}",
            "dst": "restaurant area centre , restaurant food chinese",
            "dst accumulated": "restaurant area centre , restaurant food chinese",
            "intent": "find_restaurant",
        },
        {
            "turn id": 2,
            USER: "",
            SYSTEM: "Shall I book?",
            "dialog history": "x",
            USER_INFO: "{}",
            SYSTEM_INFO: "{}",
            "dst": "",
            "dst accumulated": "",
            "intent": "",
        },
        {
            "turn id": 3,
            USER: "Yes, for 4.",
            SYSTEM: "",
            "dialog history": "not rebuilt",
            USER_INFO: "{}",
            SYSTEM_INFO: "{}",
            "dst": "restaurant bookpeople 4",
            "dst accumulated": "restaurant bookpeople 4",
            "intent": "book_restaurant",
            "extra field": [1, 2],
        },
        {"turn id": 4, USER: "", SYSTEM: "", "dialog history": "", USER_INFO: "{}", SYSTEM_INFO: "{}"},
    ]
    dialogue = {
        "original dialog id": "SNG1",
        "dialog index": 1,
        "original dialog info": {},
        "log": log,
        "external knowledge non-flat": {},
        "external knowledge": "",
        "dst knowledge": "",
        "intent knowledge": "",
        "prompt": ["find food"],
    }
    src = tmp_path / "MWOZ" / "converted_examples.json"
    src.parent.mkdir()
    src.write_text(json.dumps({"MWOZ--val--1": dialogue}), encoding="utf-8")
    original = list(read_source("dialogstudio", src))
    assert export_dialogstudio(original, tmp_path / "out") == {"MWOZ": 1}
    assert list(read_source("dialogstudio", tmp_path / "out")) == original


def _as_source(d: Dialogue) -> dict:
    return {"dialogue_id": d.dialogue_id, "meta": d.meta, "turns": [full_turn(t) for t in d.turns]}


@pytest.mark.samples
@pytest.mark.parametrize(
    ("reader", "path"),
    [
        ("multiwoz22", ("multiwoz22", "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2")),
        ("sgd", ("schema_guided_dialogue", "train")),
        ("convlab3", ("convlab3_unified", "data/unified_datasets")),
        ("abcd", ("abcd", "data")),
    ],
)
def test_cross_format(tmp_path: Path, reader: str, path: tuple[str, str]) -> None:
    """Another source -> DialogStudio layout -> read back: same turns, texts and roles, state and intent in the
    format's fields, the rest in ``mmdial``, every unified value somewhere in the record."""
    original = list(read_source(reader, samples_dir(path[0]) / path[1]))
    data = tmp_path / "in.jsonl"
    write_dialogues(original, data)
    assert main(["export", "dialogstudio", str(data), "--out", str(tmp_path / "out")]) == 0
    converted = json.loads((tmp_path / "out" / reader / "converted_examples.json").read_text(encoding="utf-8"))
    splits = [d.split for d in original]
    assert list(converted) == [f"{reader}--{s}--{splits[: i + 1].count(s)}" for i, s in enumerate(splits)]
    for raw in converted.values():
        assert set(raw) >= DIALOGUE_FIELDS
        assert all(set(e) >= ENTRY_FIELDS for e in raw["log"])
    back = list(read_source("dialogstudio", tmp_path / "out"))
    assert [d.meta["mmdial"]["dialogue_id"] for d in back] == [d.dialogue_id for d in original]
    for a, b in zip(original, back, strict=True):
        assert b.split == a.split and b.meta["original dialog info"] == a.meta
        assert [t.text for t in b.turns] == [t.text for t in a.turns]
        records = {}  # an entry's mmdial, read back in its user turn (or a lone system turn's "user side")
        for y in b.turns:
            extra = y.annotations.extra
            record = extra.get("mmdial", extra.get("user side", {}).get("mmdial"))
            if record:
                records[extra["turn id"]] = record
        for x, y in zip(a.turns, b.turns, strict=True):
            side = records.get(y.annotations.extra["turn id"], {}).get(y.role, {})
            assert side.get("role", y.role) == x.role and side.get("speaker", y.speaker) == x.speaker
            assert side.get("state", y.annotations.state) == x.annotations.state
            assert side.get("intent", y.annotations.intent) == x.annotations.intent
            acts = side.get("dialogue_acts", [act.to_dict() for act in y.annotations.dialogue_acts])
            assert acts == [act.to_dict() for act in x.annotations.dialogue_acts]
        assert_fields_covered(_as_source(a), b)


@pytest.mark.samples
def test_errors_are_one_line_and_leave_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "in.jsonl"
    write_dialogues(read_source("dialogstudio", _soda()), data)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    line = _one_line(capsys, ["export", "dialogstudio", str(data), "--out", str(out)])
    assert line.startswith(f"mmdial: error: {out}: already exists; pass --overwrite")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    line = _one_line(capsys, ["export", "dialogstudio", str(data), "--out", str(tmp_path / "file" / "o")])
    assert "is a file, not a folder" in line
    line = _one_line(capsys, ["export", "dialogstudio", str(data), "--out", str(tmp_path / "o"), "--dataset", "A--B"])
    assert "dataset name 'A--B' cannot be part of a DialogStudio key" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert main(["export", "dialogstudio", str(data), "--out", str(out), "--overwrite"]) == 0
    assert [p.name for p in out.iterdir()] == ["SODA_PROCESSED"]
