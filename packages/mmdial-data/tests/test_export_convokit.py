"""``mmdial export convokit``: a ConvoKit corpus folder that ``convokit.Corpus(filename=...)`` loads (skipped
where convokit, not a dependency, is not installed) and the ``convokit`` reader reads back equal (the real
sample's files come back identical); other sources carry what the format cannot hold in ``mmdial``; errors are one
line, exit 2, nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import Dialogue, read_dialogues, read_source, write_dialogues
from mmdial_data.cli import main
from mmdial_data.exports._carry import full_turn
from mmdial_data.exports.convokit import export_convokit
from mmdial_data.testing import assert_fields_covered, samples_dir

CORPUS_FILES = ("conversations.json", "speakers.json", "corpus.json", "index.json")


def _corpus() -> Path:
    return samples_dir("convokit_subreddit_cornell") / "data"


def _lines(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "utterances.jsonl").read_text(encoding="utf-8").splitlines() if x]


def _one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("mmdial: error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.samples
def test_round_trip_of_the_real_sample(tmp_path: Path) -> None:
    original = list(read_source("convokit", _corpus()))
    out = tmp_path / "data"  # the reader names the corpus after its folder (meta["corpus_name"])
    assert export_convokit(original, out) == {"conversations": 11, "utterances": 312, "speakers": 136}
    assert list(read_source("convokit", out)) == original
    for name in CORPUS_FILES:
        assert json.loads((out / name).read_text(encoding="utf-8")) == json.loads(
            (_corpus() / name).read_text(encoding="utf-8")
        )
    key = lambda u: u["id"]  # noqa: E731 - the text-less roots move before their replies
    assert sorted(_lines(out), key=key) == sorted(_lines(_corpus()), key=key)


def _as_source(d: Dialogue) -> dict:
    return {"dialogue_id": d.dialogue_id, "meta": d.meta, "turns": [full_turn(t) for t in d.turns]}


@pytest.mark.samples
@pytest.mark.parametrize(
    ("reader", "path"),
    [
        ("multiwoz22", ("multiwoz22", "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2")),
        ("convlab3", ("convlab3_unified", "data/unified_datasets")),
        ("abcd", ("abcd", "data")),
    ],
)
def test_cross_format(tmp_path: Path, reader: str, path: tuple[str, str]) -> None:
    """Another source -> ConvoKit -> read back: one conversation per dialogue, a reply chain, same texts and
    speakers; roles, acts and state in the utterance meta's ``mmdial``; every unified value in the record."""
    original = list(read_source(reader, samples_dir(path[0]) / path[1]))
    data = tmp_path / "in.jsonl"
    write_dialogues(original, data)
    assert main(["export", "convokit", str(data), "--out", str(tmp_path / "out")]) == 0
    back = list(read_source("convokit", tmp_path / "out"))
    assert [d.dialogue_id for d in back] == [f"convokit/full/{d.dialogue_id}" for d in original]
    for a, b in zip(original, back, strict=True):
        carried = b.meta["conversation"]["meta"]["mmdial"]
        split = {} if a.split == "full" else {"split": a.split}  # ConvoKit's reader gives "full"
        assert carried == {"dialogue_id": a.dialogue_id, "source": reader, **split}
        assert {k: v for k, v in b.meta["conversation"]["meta"].items() if k != "mmdial"} == a.meta
        assert [(t.speaker, t.text) for t in b.turns] == [(t.speaker, t.text) for t in a.turns]
        ids = [t.annotations.extra["id"] for t in b.turns]
        assert [t.annotations.extra["reply-to"] for t in b.turns] == [None, *ids[:-1]]
        for x, y in zip(a.turns, b.turns, strict=True):
            meta = y.annotations.extra["meta"]
            side = meta.get("mmdial", {})
            assert side.get("role", y.role) == x.role and side.get("state", {}) == x.annotations.state
            acts = side.get("dialogue_acts", [])
            assert acts == [act.to_dict() for act in x.annotations.dialogue_acts]
            assert {k: v for k, v in meta.items() if k != "mmdial"} == x.annotations.extra
        assert_fields_covered(_as_source(a), b)


@pytest.mark.samples
def test_convokit_loads_the_written_corpus(tmp_path: Path) -> None:
    convokit = pytest.importorskip("convokit", reason="convokit is not installed (it is not a dependency)")
    out = tmp_path / "corpus"
    native = list(read_source("convokit", _corpus()))
    mwoz = list(
        read_source("multiwoz22", samples_dir("multiwoz22") / "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2")
    )
    export_convokit([*native, *mwoz], out)
    corpus = convokit.Corpus(filename=str(out))
    assert len(list(corpus.iter_conversations())) == 11 + len(mwoz)
    assert len(list(corpus.iter_utterances())) == 312 + sum(len(d.turns) for d in mwoz)
    root = corpus.get_utterance("o0ss4")
    assert root.speaker.id == "moon_river" and root.reply_to is None and root.timestamp == 1325571377
    assert root.meta["permalink"] == "/r/Cornell/comments/o0ss4/oh_look_a_picture/"
    assert corpus.get_conversation("o0ss4").meta["title"] == "oh look.. a picture!"
    assert corpus.meta["subreddit"] == "Cornell"
    first = mwoz[0]
    utt = corpus.get_utterance(f"{first.dialogue_id}/1")
    assert utt.text == first.turns[1].text and utt.reply_to == f"{first.dialogue_id}/0"
    assert utt.conversation_id == first.dialogue_id and utt.meta["mmdial"]["role"] == "system"
    assert corpus.get_conversation(first.dialogue_id).meta["original_id"] == first.meta["original_id"]


@pytest.mark.samples
def test_errors_are_one_line_and_leave_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "in.jsonl"
    write_dialogues(read_source("convokit", _corpus()), data)
    out = tmp_path / "out"
    export_convokit(data, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    line = _one_line(capsys, ["export", "convokit", str(data), "--out", str(out)])
    assert line.startswith(f"mmdial: error: {out}: already exists; pass --overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    (tmp_path / "file").write_text("x", encoding="utf-8")
    names = sorted(p.name for p in tmp_path.iterdir())
    line = _one_line(capsys, ["export", "convokit", str(data), "--out", str(tmp_path / "file" / "o")])
    assert "is a file, not a folder" in line
    twice = tmp_path / "twice.jsonl"
    dialogues = list(read_dialogues(data))
    write_dialogues([dialogues[0], dialogues[0]], twice)
    names.append("twice.jsonl")
    line = _one_line(capsys, ["export", "convokit", str(twice), "--out", str(tmp_path / "o")])
    assert "conversation id 'o0ss4' used by two dialogues" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
