"""ConvoKit reader on the real sample (the first 11 conversations of a subreddit-Cornell ``Corpus.dump`` with all
their utterance lines verbatim) and on the older field names. Counts are computed here from the raw files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir


def _corpus() -> Path:
    return samples_dir("convokit_subreddit_cornell") / "data"


def _utterances(folder: Path) -> list[dict]:
    lines = (folder / "utterances.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.samples
def test_sample_counts() -> None:
    raw = _utterances(_corpus())
    conversations = json.loads((_corpus() / "conversations.json").read_text(encoding="utf-8"))
    with_text = [u for u in raw if u["text"].strip()]
    dialogues = list(read_source("convokit", _corpus()))
    assert len(dialogues) == len({u["conversation_id"] for u in raw}) == len(conversations) == 11
    assert [d.dialogue_id for d in dialogues] == [f"convokit/full/{c}" for c in conversations]
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == len(with_text) == 309 and len(raw) == 312
    assert sum(len(d.meta.get("utterances_without_text", [])) for d in dialogues) == len(raw) - len(with_text)
    for d in dialogues:
        mine = [u for u in raw if u["conversation_id"] == d.meta["conversation_id"]]
        assert [t.annotations.extra["id"] for t in d.turns] == [u["id"] for u in mine if u["text"].strip()]
        assert set(d.meta["speakers"]) == {u["speaker"] for u in mine}
        assert len({t.role for t in d.turns}) == len({t.speaker for t in d.turns})
    assert sum(t.annotations.extra["reply-to"] is not None for t in turns) == sum(
        u["reply-to"] is not None for u in with_text
    )
    assert all(t.turn_index == i for d in dialogues for i, t in enumerate(d.turns))
    assert {d.split for d in dialogues} == {"full"}


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = {d.meta["conversation_id"]: d for d in read_source("convokit", _corpus())}
    first = dialogues["o0ss4"]
    t0, t1 = first.turns[:2]
    assert (t0.speaker, t0.role) == ("moon_river", "speaker_a")
    assert t0.text.startswith("so, i'm starting to mess with some of the css on our lovely subreddit..")
    assert t0.annotations.extra["timestamp"] == 1325571377 and t0.annotations.extra["reply-to"] is None
    assert t0.annotations.extra["meta"]["permalink"] == "/r/Cornell/comments/o0ss4/oh_look_a_picture/"
    assert (t1.speaker, t1.role, t1.annotations.extra["reply-to"]) == ("MrLaughter", "speaker_b", "o0ss4")
    assert t1.text.startswith("upvote = clocktower")
    assert first.meta["conversation"]["meta"]["num_comments"] == 45
    assert first.meta["corpus"] == {"subreddit": "Cornell", "num_posts": 10744, "num_comments": 63723}
    assert first.meta["index"]["version"] == 1 and first.meta["field_names"] == "speaker"
    link_post = dialogues["p0u0z"]  # a link post: the root has no text, its replies point at it
    root = link_post.meta["utterances_without_text"][0]
    assert (root["id"], root["speaker"], root["text"]) == ("p0u0z", "TheIndigoSky", "")
    assert link_post.turns[0].annotations.extra["reply-to"] == "p0u0z"
    assert link_post.meta["conversation"]["meta"]["domain"] == "cornellgo.com"


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    folder = _corpus()
    raw = _utterances(folder)
    conversations = json.loads((folder / "conversations.json").read_text(encoding="utf-8"))
    speakers = json.loads((folder / "speakers.json").read_text(encoding="utf-8"))
    corpus = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    for d in read_source("convokit", folder):
        cid = d.meta["conversation_id"]
        mine = [u for u in raw if u["conversation_id"] == cid]
        source = {
            "utterances": mine,
            "conversation": conversations[cid],
            "speakers": {u["speaker"]: speakers[u["speaker"]] for u in mine},
            "corpus": corpus,
            "index": index,
        }
        assert_fields_covered(source, d)


@pytest.mark.samples
def test_old_field_names(tmp_path: Path) -> None:
    """ConvoKit 1.x dumps: ``user`` and ``root`` instead of ``speaker`` and ``conversation_id``, ``users.json``."""
    folder = tmp_path / "old"
    folder.mkdir()
    lines = []
    for u in _utterances(_corpus()):
        u["user"], u["root"] = u.pop("speaker"), u.pop("conversation_id")
        lines.append(json.dumps(u))
    (folder / "utterances.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(_corpus() / "speakers.json", folder / "users.json")
    shutil.copy(_corpus() / "conversations.json", folder / "conversations.json")
    old = list(read_source("convokit", folder))
    new = list(read_source("convokit", _corpus()))
    assert [d.dialogue_id for d in old] == [d.dialogue_id for d in new]
    assert [[(t.speaker, t.role, t.text) for t in d.turns] for d in old] == [
        [(t.speaker, t.role, t.text) for t in d.turns] for d in new
    ]
    assert old[0].meta["field_names"] == "user" and old[0].meta["speakers"] == new[0].meta["speakers"]


@pytest.mark.samples
def test_other_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"not a ConvoKit corpus: no utterances\.jsonl"):
        list(read_source("convokit", samples_dir("star"), on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"conversations\.json: not a ConvoKit corpus"):
        list(read_source("convokit", _corpus() / "conversations.json"))
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "utterances.jsonl").write_text('{"dialog": ["hi", "hello"]}\n', encoding="utf-8")
    with pytest.raises(
        SourceFormatError, match=r"utterances\.jsonl, line 1: not a ConvoKit utterance: no utterance id"
    ):
        list(read_source("convokit", folder, on_error="skip"))


@pytest.mark.samples
def test_malformed_line_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(_corpus(), folder)
    lines = (folder / "utterances.jsonl").read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4][:40]
    bad = json.loads(lines[6])
    del bad["text"]
    lines[6] = json.dumps(bad)
    (folder / "utterances.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"utterances\.jsonl, line 5: malformed JSON"):
        list(read_source("convokit", folder))
    policy = ErrorPolicy("skip")
    got = list(read_source("convokit", folder, on_error=policy))
    assert [s.record for s in policy.skipped] == ["line 5", "line 7"]
    assert sum(len(d.turns) + len(d.meta.get("utterances_without_text", [])) for d in got) == 312 - 2
