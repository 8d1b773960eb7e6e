"""ESConv (Emotional Support Conversation, Liu et al., ACL 2021) reader.

Release: ``thu-coai/Emotional-Support-Conversation`` (licence CC BY-NC 4.0; the repository says "for academic
research use only"). Input: ``ESConv.json`` or ``FailedESConv.json`` (a JSON list of conversations), or a folder
holding them (``strategy.json``, the list of strategy names, is not a conversation file and is not read).

Each conversation is ``{"experience_type", "emotion_type", "problem_type", "situation", "survey_score",
"dialog": [{"speaker", "annotation", "content"}, ...]}`` (``ESConv.json`` also has ``seeker_question1/2`` and
``supporter_question1/2``). Mapping:

- ``dialog`` element -> one :class:`Turn`. ``speaker`` is kept as the speaker id; the role is ``seeker`` for
  ``seeker`` (``ESConv.json``) and ``speaker`` (the name ``FailedESConv.json`` uses), ``supporter`` for
  ``supporter`` and ``listener``. The text is ``content`` without surrounding whitespace (most contents end in a
  newline); when that changed it, the verbatim content is kept in ``extra["raw_content"]``.
- ``annotation`` keys go to ``extra`` as they are: ``extra["strategy"]`` on supporter turns (the support
  strategy, verbatim: ``"Question"`` in ``ESConv.json``, ``"Questions"``/``"Other"`` in ``FailedESConv.json``),
  ``extra["feedback"]`` on seeker turns (the seeker's 1-5 rating, a string as in the source).
- ``emotion_type`` (the seeker's emotion) -> ``meta["emotion_type"]`` and ``annotations.emotion`` of every seeker
  turn (as the EmpatheticDialogues reader does for its speaker).
- Every other top-level field (``experience_type``, ``problem_type``, ``situation``, ``survey_score`` with its
  ``seeker``/``supporter`` scores as strings, the questionnaire answers ...) -> ``meta`` under its own key;
  ``meta["index"]`` is the conversation's 0-based position in its file.

Splits: the release has none. ``ESConv.json`` (and any other file) is ``train``, or the split named by a
``train``/``valid``/``dev``/``test`` token of the file name; ``FailedESConv.json`` (196 conversations dropped in
collection as failed support) is ``failed``, so both files can be read together without id clashes.
Dialogue ids: ``esconv/<split>/<index>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "esconv"
LICENSE = "CC BY-NC 4.0"
CITATION = "Liu et al. 2021, Towards Emotional Support Dialog Systems, ACL (arXiv:2106.01144)"
#: Speaker value -> role (``FailedESConv.json`` says ``speaker``/``listener`` where ``ESConv.json`` says
#: ``seeker``/``supporter``).
ROLES = {"seeker": "seeker", "speaker": "seeker", "supporter": "supporter", "listener": "supporter"}
_TURN_KEYS = ("speaker", "annotation", "content")


def read_esconv(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the conversations of an ESConv JSON file (or of the ESConv files in a folder).

    Args:
        path: ``ESConv.json``, ``FailedESConv.json`` or a folder holding them.
        split: Override the split (default: ``failed`` for ``FailedESConv.json``, else ``train``).
        policy: What to do with a malformed conversation (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not an ESConv file (not a JSON list of conversations with a ``dialog``
            list), or, under ``on_error="raise"``, a conversation is malformed.

    Example:
        >>> import json, tempfile
        >>> p = Path(tempfile.mkdtemp()) / "ESConv.json"
        >>> _ = p.write_text(json.dumps([{"emotion_type": "anxiety", "situation": "exams", "survey_score": {},
        ...     "dialog": [{"speaker": "seeker", "annotation": {}, "content": "I feel stressed\\n"},
        ...                {"speaker": "supporter", "annotation": {"strategy": "Question"}, "content": "Why?"}]}]))
        >>> d = next(read_esconv(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].text, d.turns[0].annotations.emotion
        ('esconv/train/0', 'I feel stressed', 'anxiety')
        >>> d.turns[1].role, d.turns[1].annotations.extra["strategy"], d.meta["situation"]
        ('supporter', 'Question', 'exams')
    """
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if "esconv" in p.name.lower())
        if not files:
            raise SourceFormatError("no ESConv file (ESConv.json, FailedESConv.json) in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _split_of(file: Path) -> str:
    if file.name.lower().startswith("failed"):
        return "failed"
    return infer_split(file)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = load_json(file)
    expect(
        isinstance(data, list) and bool(data),
        "not an ESConv file: expected a non-empty JSON list of conversations",
        path=file,
        record="top level",
    )
    first = data[0]
    expect(
        isinstance(first, dict) and isinstance(first.get("dialog"), list),
        "not an ESConv file: the first item has no 'dialog' list",
        path=file,
        record="item 0",
    )
    split_name = split or _split_of(file)
    for index, raw in enumerate(data):
        record = f"conversation {index}"
        dialogue = build_or_report(
            partial(_dialogue, raw, index, split_name, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _dialogue(raw: Any, index: int, split: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(raw, dict) and isinstance(raw.get("dialog"), list), "no 'dialog' list", path=file, record=record)
    expect(bool(raw["dialog"]), "empty 'dialog'", path=file, record=record)
    emotion = raw.get("emotion_type")
    expect(emotion is None or isinstance(emotion, str), "emotion_type is not a string", path=file, record=record)
    turns = []
    for i, t in enumerate(raw["dialog"]):
        where = f"{record}, turn {i}"
        expect(isinstance(t, dict), "turn is not an object", path=file, record=where)
        speaker, content, annotation = t.get("speaker"), t.get("content"), t.get("annotation", {})
        expect(speaker in ROLES, f"unknown speaker {speaker!r}", path=file, record=where)
        expect(isinstance(content, str), "no 'content' string", path=file, record=where)
        expect(isinstance(annotation, dict), "'annotation' is not an object", path=file, record=where)
        text = content.strip()
        expect(bool(text), "empty content", path=file, record=where)
        role = ROLES[speaker]
        extra: dict[str, Any] = dict(annotation)
        if text != content:
            extra["raw_content"] = content
        rest = {k: v for k, v in t.items() if k not in _TURN_KEYS}
        if rest:
            extra["source_fields"] = rest
        annotations = Annotations(emotion=emotion if role == "seeker" else None, extra=extra)
        turns.append(Turn(i, speaker, role, text, annotations=annotations))
    meta: dict[str, Any] = {"index": index}
    meta.update((k, v) for k, v in raw.items() if k != "dialog")
    return Dialogue(f"{SOURCE}/{split}/{index}", SOURCE, split, turns, meta)
