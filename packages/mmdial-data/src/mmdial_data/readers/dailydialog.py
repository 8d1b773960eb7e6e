"""DailyDialog reader (ijcnlp_dailydialog release).

Input: a folder with ``dialogues_<split>.txt``, ``dialogues_act_<split>.txt`` and
``dialogues_emotion_<split>.txt`` (or the top-level ``dialogues_text.txt`` / ``dialogues_act.txt`` /
``dialogues_emotion.txt`` / ``dialogues_topic.txt``), or one text file with its label files beside it.
Line *i* of the three files is one dialogue; the utterance, act and emotion counts are checked per line.
Speakers alternate A, B, A ... starting with A.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "dailydialog"
LICENSE = "CC BY-NC-SA 4.0"
CITATION = "Li et al. 2017, DailyDialog: A Manually Labelled Multi-turn Dialogue Dataset, IJCNLP"
ACTS = {"1": "inform", "2": "question", "3": "directive", "4": "commissive"}
EMOTIONS = {
    "0": "no_emotion",
    "1": "anger",
    "2": "disgust",
    "3": "fear",
    "4": "happiness",
    "5": "sadness",
    "6": "surprise",
}
TOPICS = {
    "1": "ordinary_life",
    "2": "school_life",
    "3": "culture_and_education",
    "4": "attitude_and_emotion",
    "5": "relationship",
    "6": "tourism",
    "7": "health",
    "8": "work",
    "9": "politics",
    "10": "finance",
}
_TEXT = re.compile(r"^dialogues_(?!act|emotion|topic)(.+)\.txt$")


def _label_file(text_file: Path, kind: str) -> Path:
    suffix = text_file.name[len("dialogues_") :]
    if suffix == "text.txt":
        return text_file.with_name(f"dialogues_{kind}.txt")
    return text_file.with_name(f"dialogues_{kind}_{suffix}")


def read_dailydialog(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield DailyDialog dialogues with act and emotion per utterance.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_dailydialog(demo_dir() / "dailydialog", split=None, policy=ErrorPolicy()))
        >>> [t.annotations.dialogue_acts[0].act for t in d.turns][:2]
        ['question', 'inform']
    """
    files = sorted(p for p in path.iterdir() if _TEXT.match(p.name)) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError("no dialogues_<split>.txt file in this folder", path=path)
    for text_file in files:
        yield from _read_file(text_file, split, policy)


def _read_file(text_file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    act_file, emo_file, topic_file = (_label_file(text_file, k) for k in ("act", "emotion", "topic"))
    for f in (act_file, emo_file):
        if not f.exists():
            raise SourceFormatError(f"label file {f.name} is missing beside the text file", path=text_file)
    split_name = split or ("full" if text_file.name == "dialogues_text.txt" else infer_split(text_file))
    streams = [iter_lines(text_file), iter_lines(act_file), iter_lines(emo_file)]
    if topic_file.exists():
        streams.append(iter_lines(topic_file))
    for rows in zip_longest(*streams):
        if any(r is None for r in rows):
            present = [f.name for f, r in zip((text_file, act_file, emo_file, topic_file), rows, strict=False) if r]
            lineno = next(r[0] for r in rows if r is not None)
            policy.handle(
                SourceFormatError(
                    f"files have different line counts (only {present} go on)", path=text_file, record=f"line {lineno}"
                )
            )
            return
        lineno, text = rows[0]
        try:
            yield _dialogue(
                text_file, lineno, text, rows[1][1], rows[2][1], rows[3][1] if len(rows) > 3 else None, split_name
            )
        except SourceFormatError as exc:
            policy.handle(exc)


def _dialogue(
    file: Path, lineno: int, text: str, acts_line: str, emos_line: str, topic: str | None, split: str
) -> Dialogue:
    record = f"line {lineno}"
    parts = text.split("__eou__")
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    utterances = [p.strip() for p in parts]
    acts, emos = acts_line.split(), emos_line.split()
    if not utterances:
        raise SourceFormatError("empty dialogue line", path=file, record=record)
    if not len(utterances) == len(acts) == len(emos):
        raise SourceFormatError(
            f"{len(utterances)} utterances but {len(acts)} act and {len(emos)} emotion labels", path=file, record=record
        )
    turns = []
    for i, (utt, act, emo) in enumerate(zip(utterances, acts, emos, strict=True)):
        if not utt:
            raise SourceFormatError(f"utterance {i} is empty", path=file, record=record)
        if act not in ACTS or emo not in EMOTIONS:
            raise SourceFormatError(f"utterance {i}: unknown act {act!r} or emotion {emo!r}", path=file, record=record)
        speaker = "AB"[i % 2]
        turns.append(
            Turn(
                i,
                speaker,
                f"speaker_{speaker.lower()}",
                utt,
                annotations=Annotations(dialogue_acts=[DialogueAct(ACTS[act])], emotion=EMOTIONS[emo]),
            )
        )
    meta: dict[str, object] = {"line": lineno}
    if topic is not None:
        topic = topic.strip()
        meta["topic"] = TOPICS.get(topic, topic)
    return Dialogue(f"{SOURCE}/{split}/{lineno}", SOURCE, split, turns, meta)
