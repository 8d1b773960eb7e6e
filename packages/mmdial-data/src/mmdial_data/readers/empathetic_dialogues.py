"""EmpatheticDialogues reader (Rashkin et al., 2019; ``train.csv``/``valid.csv``/``test.csv``).

The files are *not* RFC-4180 CSV: fields are split on ``,`` and commas inside text are the token
``_comma_``. Header ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``; one row per
utterance, rows of a conversation are contiguous and ordered by ``utterance_idx`` (1-based, checked).

Mapping: ``context`` (the emotion label) goes to ``meta["emotion"]`` and to ``annotations.emotion`` of the
turns of the person who described the situation; ``prompt`` (the situation) to ``meta["prompt"]``. The first
utterance's ``speaker_idx`` is that person (role ``speaker``); the other crowdworker has role ``listener``.
``utterance_idx``, ``selfeval`` and ``tags`` are kept per turn in ``extra``. Text is stripped, with
``_comma_`` turned back into ``,``. A row with a wrong field count, a gap in ``utterance_idx`` or a
conversation split across the file is an error naming file and line; under ``on_error="skip"`` the whole
conversation is skipped and reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "empathetic_dialogues"
LICENSE = "CC BY-NC 4.0"
CITATION = "Rashkin et al. 2019, Towards Empathetic Open-domain Conversation Models: a New Benchmark and Dataset, ACL"
HEADER = ["conv_id", "utterance_idx", "context", "prompt", "speaker_idx", "utterance", "selfeval", "tags"]
COMMA = "_comma_"


def unescape(text: str) -> str:
    """Undo the ``_comma_`` escaping of EmpatheticDialogues and strip the text.

    >>> unescape(" Hi_comma_ there ")
    'Hi, there'
    """
    return text.replace(COMMA, ",").strip()


@dataclass
class _Conv:
    conv_id: str
    line: int
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    broken: bool = False


def read_empathetic_dialogues(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield EmpatheticDialogues conversations from a CSV file or a folder of ``*.csv``.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_empathetic_dialogues(demo_dir() / "empathetic_dialogues", split=None, policy=ErrorPolicy()))
        >>> d.meta["emotion"], d.turns[0].role, d.turns[1].text
        ('proud', 'speaker', 'Congrats, that is huge!')
    """
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError("no *.csv files in this folder", path=path)
    for file in files:
        yield from _read_file(file, split or infer_split(file), policy)


def _read_file(file: Path, split: str, policy: ErrorPolicy) -> Iterator[Dialogue]:
    lines = iter_lines(file)
    first = next(lines, None)
    if first is None or first[1].strip().split(",") != HEADER:
        raise SourceFormatError(f"expected the header {','.join(HEADER)}", path=file, record="line 1")
    seen: set[str] = set()
    current: _Conv | None = None

    def finish(conv: _Conv | None) -> Iterator[Dialogue]:
        if conv is None or conv.broken:
            return
        try:
            yield _dialogue(conv, split, file)
        except SourceFormatError as exc:
            policy.handle(exc)

    for lineno, line in lines:
        if not line.strip():
            continue
        fields = line.split(",")
        conv_id = fields[0]
        if current is None or conv_id != current.conv_id:
            yield from finish(current)
            current = _Conv(conv_id, lineno)
            if conv_id in seen:
                current.broken = True
                policy.handle(
                    SourceFormatError(
                        f"conversation {conv_id!r} continues after other rows", path=file, record=f"line {lineno}"
                    )
                )
            seen.add(conv_id)
        if current.broken:
            continue
        if len(fields) != len(HEADER):
            current.broken = True
            policy.handle(
                SourceFormatError(
                    f"expected {len(HEADER)} comma-separated fields, found {len(fields)} (conversation {conv_id})",
                    path=file,
                    record=f"line {lineno}",
                )
            )
            continue
        current.rows.append((lineno, fields))
    yield from finish(current)


def _dialogue(conv: _Conv, split: str, file: Path) -> Dialogue:
    turns: list[Turn] = []
    first_speaker = conv.rows[0][1][4]
    emotion = conv.rows[0][1][2]
    prompt = conv.rows[0][1][3]
    for position, (lineno, f) in enumerate(conv.rows):
        record = f"line {lineno}"
        try:
            idx = int(f[1])
        except ValueError:
            raise SourceFormatError(f"utterance_idx {f[1]!r} is not an integer", path=file, record=record) from None
        if idx != position + 1:
            raise SourceFormatError(
                f"conversation {conv.conv_id}: utterance_idx {idx}, expected {position + 1}", path=file, record=record
            )
        if f[2] != emotion or f[3] != prompt:
            raise SourceFormatError(
                f"conversation {conv.conv_id}: context/prompt differ between rows", path=file, record=record
            )
        text = unescape(f[5])
        is_speaker = f[4] == first_speaker
        extra: dict[str, Any] = {"utterance_idx": idx, "selfeval": unescape(f[6]), "tags": f[7], "line": lineno}
        turns.append(
            Turn(
                position,
                f[4],
                "speaker" if is_speaker else "listener",
                text,
                annotations=Annotations(emotion=emotion if is_speaker else None, extra=extra),
            )
        )
    meta = {"conv_id": conv.conv_id, "emotion": emotion, "prompt": unescape(prompt), "line": conv.line}
    return Dialogue(f"{SOURCE}/{split}/{conv.conv_id}", SOURCE, split, turns, meta)
