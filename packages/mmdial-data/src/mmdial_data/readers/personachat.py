"""Persona-Chat / ConvAI2 reader (ParlAI "fbdialog" text).

Handles ``*_no_cands`` files (``n partner<TAB>self``), files with candidates
(``n partner<TAB>self<TAB><reward><TAB>cand1|...|candK``), ``*_self_*``/``*_both_*``/``*_other_*`` personas
and ``*_revised`` variants. Each line holds two turns: the partner (role ``user``) then the persona speaker
whose replies are the labels (role ``system``). Personas go to ``meta["personas"]``, candidates to the
``system`` turn's ``annotations.extra["candidates"]``. A new dialogue starts where the line number restarts at 1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "personachat"
LICENSE = "not stated (distributed by ParlAI, whose code is MIT; the Hugging Face Hub lists ConvAI2 as unknown)"
CITATION = (
    "Zhang et al. 2018, Personalizing Dialogue Agents: I have a dog, do you have pets too?, ACL; Dinan et "
    "al. 2019, The Second Conversational Intelligence Challenge (ConvAI2)"
)
SILENCE = "__SILENCE__"
_LINE = re.compile(r"^(\d+) (.*)$")
_PERSONA = {"your persona:": "self", "partner's persona:": "partner"}


@dataclass
class _Pending:
    start_line: int
    personas: dict[str, list[str]] = field(default_factory=lambda: {"self": [], "partner": []})
    turns: list[Turn] = field(default_factory=list)
    has_candidates: bool = False
    broken: bool = False


def read_personachat(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of one Persona-Chat/ConvAI2 text file (or every ``*.txt`` in a folder).

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_personachat(demo_dir() / "personachat", split=None, policy=ErrorPolicy()))
        >>> d.meta["personas"]["self"][0], d.turns[0].role
        ('i love to hike.', 'user')
    """
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError("no *.txt files in this folder", path=path)
    for file in files:
        yield from _read_file(file, split, policy)


def _variant(file: Path, split: str) -> str:
    stem = file.stem
    return stem[len(split) + 1 :] if stem.startswith(split + "_") else stem


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    split_name = split or infer_split(file)
    variant = _variant(file, infer_split(file))
    pending: _Pending | None = None
    ordinal = 0
    expected = 1

    def flush() -> Iterator[Dialogue]:
        # Ordinals count broken dialogues too, so ids do not shift when one is skipped.
        nonlocal ordinal
        if pending is None:
            return
        ordinal += 1
        if pending.broken:
            return
        try:
            yield _finish(pending, split_name, variant, ordinal, file)
        except SourceFormatError as exc:
            policy.handle(exc)

    for lineno, line in iter_lines(file):
        if not line.strip():
            continue
        try:
            m = _LINE.match(line)
            if not m:
                raise SourceFormatError("expected '<n> <text>'", path=file, record=f"line {lineno}")
            n, body = int(m.group(1)), m.group(2)
            if n == 1:
                yield from flush()
                pending = _Pending(start_line=lineno)
                expected = 1
            if pending is None:
                raise SourceFormatError(f"dialogue does not start at 1 (found {n})", path=file, record=f"line {lineno}")
            if pending.broken:
                continue
            if n != expected:
                raise SourceFormatError(f"line number {n}, expected {expected}", path=file, record=f"line {lineno}")
            expected += 1
            _add_line(pending, body, file, lineno)
        except SourceFormatError as exc:
            if pending is not None:
                pending.broken = True
            policy.handle(exc)
    yield from flush()


def _add_line(p: _Pending, body: str, file: Path, lineno: int) -> None:
    record = f"line {lineno}"
    if "\t" not in body:
        for prefix, who in _PERSONA.items():
            if body.startswith(prefix):
                if p.turns:
                    raise SourceFormatError("persona line after the dialogue started", path=file, record=record)
                p.personas[who].append(body[len(prefix) :].strip())
                return
        raise SourceFormatError("neither a persona line nor '<partner>\\t<reply>'", path=file, record=record)
    fields = body.split("\t")
    if len(fields) not in (2, 4):
        raise SourceFormatError(f"expected 2 or 4 tab-separated fields, found {len(fields)}", path=file, record=record)
    partner, reply = fields[0], fields[1]
    if not reply.strip():
        raise SourceFormatError("empty reply", path=file, record=record)
    extra: dict[str, Any] = {"line": lineno}
    if len(fields) == 4:
        p.has_candidates = True
        extra["reward"] = fields[2]  # kept even when empty (the usual case), so the field is not lost
        extra["candidates"] = fields[3].split("|") if fields[3] else []
    if partner == SILENCE:
        extra["partner_text"] = SILENCE
    elif partner.strip():
        p.turns.append(Turn(len(p.turns), "partner", "user", partner, annotations=Annotations(extra={"line": lineno})))
    else:
        raise SourceFormatError("empty partner utterance", path=file, record=record)
    p.turns.append(Turn(len(p.turns), "self", "system", reply, annotations=Annotations(extra=extra)))


def _finish(p: _Pending, split: str, variant: str, ordinal: int, file: Path) -> Dialogue:
    if not p.turns:
        raise SourceFormatError("dialogue has personas but no turns", path=file, record=f"line {p.start_line}")
    meta = {
        "personas": p.personas,
        "variant": variant,
        "format": "candidates" if p.has_candidates else "no_cands",
        "line": p.start_line,
    }
    return Dialogue(f"{SOURCE}/{split}/{variant}/{ordinal}", SOURCE, split, p.turns, meta)
