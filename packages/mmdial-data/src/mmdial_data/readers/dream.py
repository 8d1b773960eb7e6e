"""DREAM reader (Sun et al., 2019: DREAM, a Challenge Data Set and Models for Dialogue-Based Reading Comprehension;
``nlpdata/dream``).

Input: ``data/{train,dev,test}.json``, each a JSON list of items ``[lines, questions, id]``: ``lines`` the
dialogue, one string per utterance behind its speaker (``"M: ..."``, ``"W: ..."``, ``"Daughter: ..."``),
``questions`` a list of ``{"question", "choice": [three options], "answer": <the right option's text>}``. A file or
a folder of them.

Turns: one per line; speaker the name before the first ``": "`` (``M``, ``W``, ``Father`` ...), role
``speaker_a``, ``speaker_b`` ... by first appearance, text the rest. A line without a speaker keeps speaker ``""``
and role ``unknown``; a line that ``"<speaker>: <text>"`` does not rebuild exactly is kept verbatim in that turn's
``extra["line"]``.

Options and answers: ``meta["choices"]``, one :class:`~mmdial_data.tasks.MultipleChoice` per question, in order:
the question, ``choice`` as the options, the answer as the index of the option equal to it (the first, should two
be equal; None when the item has no answer), ``after_turn`` None (the questions are about the whole dialogue); any
other field of a question in its ``extra``.

Splits: ``train``, ``dev``, ``test`` from the file name (``dev`` becomes ``validation``: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`; ``full`` when the name says none). Ids: ``dream/<split>/<id>``
(``dream/train/5-510``).

Licence: for non-commercial research only (nlpdata/dream license.txt). Cite Sun, Yu, Chen, Yu, Choi and Cardie
2019, "DREAM: A Challenge Data Set and Models for Dialogue-Based Reading Comprehension", TACL 7.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import _first_char, build_or_report, expect, infer_split, iter_json_array, json_files
from mmdial_data.schema import Annotations, Dialogue, Turn
from mmdial_data.tasks import CHOICES, MultipleChoice

SOURCE = "dream"
LICENSE = "non-commercial research only (nlpdata/dream license.txt)"
CITATION = (
    "Sun, Yu, Chen, Yu, Choi and Cardie 2019, DREAM: A Challenge Data Set and Models for Dialogue-Based Reading "
    "Comprehension, TACL 7"
)
DEFAULT_SPLIT = "full"
#: Role of a line without a speaker.
UNKNOWN_ROLE = "unknown"
_LINE = re.compile(r"([^:\n]{1,40}?): (.*)", re.DOTALL)
_QUESTION_KEYS = ("question", "choice", "answer")


def read_dream(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield DREAM dialogues, with their questions, from ``train.json``/``dev.json``/``test.json`` or a folder.

    Args:
        path: A release file or a folder holding them (``data/``).
        split: The split to give every dialogue (default: from the file name).
        policy: What to do with a malformed item (a file in another format always raises).

    Raises:
        SourceFormatError: Not DREAM (no JSON list of ``[lines, questions, id]`` items), or, under
            ``on_error="raise"``, a malformed item (an answer that is none of its choices, an empty utterance).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_dream(samples_dir("dream") / "data" / "train.json", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].speaker, d.turns[0].text
        ('dream/train/5-510', 'M', 'I am considering dropping my dancing class. I am not making any progress.')
        >>> from mmdial_data.tasks import choices_of
        >>> c = choices_of(d)[0]
        >>> c.question, c.answer, c.answer_text
        ('What does the man suggest the woman do?', 2, 'Continue her dancing class.')
    """
    for file in json_files(path):
        if _first_char(file) != "[":
            raise SourceFormatError("not DREAM: expected a JSON list of items", path=file, record="top level")
        name = split or infer_split(file, DEFAULT_SPLIT)
        try:
            for index, item in iter_json_array(file):
                if index == 0:
                    _check_format(item, file)
                record = f"item {index}"
                if isinstance(item, list) and len(item) == 3 and isinstance(item[2], str):
                    record += f" ({item[2]})"
                dialogue = build_or_report(
                    partial(_dialogue, item, name, file, record), policy, path=file, record=record
                )
                if dialogue is not None:
                    yield dialogue
        except SourceFormatError as exc:
            if exc.record == "top level":
                raise
            policy.handle(exc)  # truncated or malformed JSON after the good items


def _check_format(item: Any, file: Path) -> None:
    """Refuse a file whose first item is not a DREAM ``[lines, questions, id]``, whatever the error policy."""
    ok = (
        isinstance(item, list)
        and len(item) == 3
        and isinstance(item[0], list)
        and isinstance(item[1], list)
        and isinstance(item[2], str)
    )
    expect(ok, "not DREAM: expected items [dialogue lines, questions, id]", path=file, record="top level")


def _dialogue(item: Any, split: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(item, list) and len(item) == 3, "an item is [lines, questions, id]", path=file, record=record)
    lines, questions, original_id = item
    expect(isinstance(original_id, str) and bool(original_id), "the id must be a string", path=file, record=record)
    expect(isinstance(lines, list) and bool(lines), "no dialogue lines", path=file, record=record)
    roles: dict[str, str] = {}
    turns: list[Turn] = []
    for i, line in enumerate(lines):
        expect(isinstance(line, str), f"line {i} is not a string", path=file, record=record)
        match = _LINE.fullmatch(line)
        speaker, text = (match.group(1), match.group(2)) if match else ("", line)
        expect(bool(text.strip()), f"line {i} has no text", path=file, record=record)
        role = roles.setdefault(speaker, f"speaker_{chr(ord('a') + len(roles))}") if speaker else UNKNOWN_ROLE
        extra = {} if match and f"{speaker}: {text}" == line else {"line": line}
        turns.append(Turn(i, speaker, role, text, annotations=Annotations(extra=extra)))
    expect(isinstance(questions, list), "questions must be a list", path=file, record=record)
    choices = [_choice(q, j, file, record).to_dict() for j, q in enumerate(questions)]
    return Dialogue(f"{SOURCE}/{split}/{original_id}", SOURCE, split, turns, {CHOICES: choices})


def _choice(q: Any, j: int, file: Path, record: str) -> MultipleChoice:
    where = f"{record}, question {j}"
    expect(isinstance(q, dict) and isinstance(q.get("question"), str), "no question text", path=file, record=where)
    options = q.get("choice")
    expect(
        isinstance(options, list) and bool(options) and all(isinstance(o, str) and o.strip() for o in options),
        "choice must be a list of non-empty strings",
        path=file,
        record=where,
    )
    answer = q.get("answer")
    index = None
    if answer is not None:
        expect(answer in options, f"answer {answer!r} is none of its choices", path=file, record=where)
        index = options.index(answer)
    extra = {k: v for k, v in q.items() if k not in _QUESTION_KEYS}
    return MultipleChoice(q["question"], list(options), index, None, extra)
