"""Dialog bAbI tasks 1-6 (Bordes & Weston, ICLR 2017: "Learning End-to-End Goal-Oriented Dialog") reader.

Release: ``dialog-bAbI-tasks`` (licence CC BY 3.0), e.g. ``dialog-babi-task1-API-calls-trn.txt``,
``dialog-babi-task5-full-dialogs-tst-OOV.txt``, ``dialog-babi-task6-dstc2-dev.txt`` (Mem2Seq's copy names them
``dialog-babi-task6dev.txt``). Input: one dialogue file or a folder (its ``dialog-babi-task*.txt`` files; the
knowledge-base ``*-kb*.txt`` and ``*candidates*.txt`` files are not dialogues and are not read).

Format: ``<n> <user utterance>\\t<bot utterance>`` lines numbered from 1 per dialogue (a blank line or a
restart at 1 begins the next one); ``<SILENCE>`` stands for a missing user utterance; a line without a tab is an
API result (a knowledge-base fact such as ``sala_thong R_phone sala_thong_phone``, or ``api_call no result``)
returned for the ``api_call`` turn before it. Mapping:

- user part -> turn with speaker ``user`` (role ``user``), bot part -> speaker ``system`` (role ``system``);
  no user turn for ``<SILENCE>`` (the bot turn has ``extra["user_text"] = "<SILENCE>"``). Text without
  surrounding whitespace (the verbatim text in ``extra["raw_text"]`` when that changed it); ``extra["line"]`` is
  the line's number in its dialogue.
- A bot utterance ``api_call a b c`` also gets the :class:`DialogueAct` ``api_call`` with values ``[a, b, c]``;
  the result lines after it go, in order, to that turn's (the last turn's) ``extra["api_results"]`` (the line text) and
  ``extra["api_result_lines"]`` (their numbers).
- ``meta``: ``task`` (1-6), ``file`` (the file name) and ``line`` (the dialogue's first line in the file).

Splits: ``trn`` -> ``train``, ``dev`` -> ``dev`` (kept, as the ``sgd`` reader keeps it), ``tst`` -> ``test``,
``tst-OOV`` -> ``test_oov``. Dialogue ids: ``babi_dialog/<split>/task<N>/<ordinal>`` (1-based position in
the file), so the tasks of one folder never clash.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "babi_dialog"
LICENSE = "CC BY 3.0"
CITATION = "Bordes, Boureau & Weston 2017, Learning End-to-End Goal-Oriented Dialog, ICLR (arXiv:1605.07683)"
SILENCE = "<SILENCE>"
#: The release's split suffixes (``-tst-OOV``: the out-of-vocabulary test set of tasks 1-5).
SPLITS = {"trn": "train", "dev": "dev", "tst": "test", "tst-oov": "test_oov"}
_SPLIT = re.compile(r"(trn|dev|tst|tst-oov)$", re.IGNORECASE)
_TASK = re.compile(r"task([0-9]+)", re.IGNORECASE)
_LINE = re.compile(r"^([0-9]+) (.*)$", re.DOTALL)


@dataclass
class _Pending:
    start_line: int
    turns: list[Turn] = field(default_factory=list)
    broken: bool = False


def read_babi_dialog(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of a dialog bAbI task file (or of the task files in a folder).

    Args:
        path: A ``dialog-babi-task*.txt`` dialogue file or a folder of them.
        split: Override the split named by the file name.
        policy: What to do with a malformed dialogue (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not a dialog bAbI dialogue file (its first line is not
            ``1 <user>\\t<bot>``; a knowledge-base file, say), or, under ``on_error="raise"``, a line is malformed.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "dialog-babi-task1-API-calls-dev.txt"
        >>> _ = p.write_text("1 hi\\thello what can i help you with today\\n"
        ...                  "2 <SILENCE>\\tapi_call italian rome six cheap\\n"
        ...                  "3 resto_1 R_phone resto_1_phone\\n\\n1 hello\\thi\\n")
        >>> d = next(read_babi_dialog(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [(t.role, t.text) for t in d.turns][:2]
        ('babi_dialog/dev/task1/1', [('user', 'hi'), ('system', 'hello what can i help you with today')])
        >>> d.turns[2].annotations.dialogue_acts[0].values, d.turns[2].annotations.extra["api_results"]
        (['italian', 'rome', 'six', 'cheap'], ['resto_1 R_phone resto_1_phone'])
    """
    if path.is_dir():
        files = sorted(
            p
            for p in path.glob("dialog-babi-task*.txt")
            if p.is_file() and "-kb" not in p.name.lower() and "candidates" not in p.name.lower()
        )
        if not files:
            raise SourceFormatError("no dialog-babi-task*.txt dialogue file in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _split_of(file: Path) -> str:
    m = _SPLIT.search(file.stem)
    return SPLITS[m.group(1).lower()] if m else infer_split(file)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    split_name = split or _split_of(file)
    task = _TASK.search(file.name)
    variant = f"task{int(task.group(1))}" if task else file.stem
    pending: _Pending | None = None
    ordinal = 0
    expected = 1
    seen = False

    def flush() -> Iterator[Dialogue]:
        nonlocal ordinal  # ordinals count broken dialogues too, so ids do not shift when one is skipped
        if pending is None:
            return
        ordinal += 1
        if pending.broken:
            return
        if not pending.turns:
            policy.handle(SourceFormatError("dialogue has no turns", path=file, record=f"line {pending.start_line}"))
            return
        meta: dict[str, Any] = {"task": int(task.group(1)) if task else None, "file": file.name}
        meta["line"] = pending.start_line
        yield Dialogue(f"{SOURCE}/{split_name}/{variant}/{ordinal}", SOURCE, split_name, pending.turns, meta)

    for lineno, line in iter_lines(file):
        if not line.strip():
            yield from flush()
            pending, expected = None, 1
            continue
        record = f"line {lineno}"
        m = _LINE.match(line)
        if not seen:  # the first line decides whether this is a dialogue file at all, whatever the policy
            if not m or m.group(1) != "1" or "\t" not in line:
                raise SourceFormatError(
                    "not a dialog bAbI dialogue file: expected '1 <user utterance>\\t<bot utterance>' first",
                    path=file,
                    record=record,
                )
            seen = True
        try:
            if not m:
                raise SourceFormatError("expected '<n> <text>'", path=file, record=record)
            n, body = int(m.group(1)), m.group(2)
            if n == 1 and pending is not None:
                yield from flush()
                pending = None
            if pending is None:
                if n != 1:
                    raise SourceFormatError(f"dialogue starts at {n}, not 1", path=file, record=record)
                pending, expected = _Pending(start_line=lineno), 1
            if pending.broken:
                continue
            if n != expected:
                raise SourceFormatError(f"line number {n}, expected {expected}", path=file, record=record)
            expected += 1
            _add_line(pending, n, body, file, record)
        except SourceFormatError as exc:
            if pending is not None:
                pending.broken = True
            policy.handle(exc)
    if not seen:
        raise SourceFormatError("not a dialog bAbI dialogue file: no lines", path=file)
    if pending is not None and not pending.broken and not _ends_with_newline(file):
        pending.broken = True  # the release ends every line, the last included: a cut file loses its tail
        policy.handle(
            SourceFormatError("truncated file: the last line has no line ending", path=file, record=f"line {lineno}")
        )
    yield from flush()


def _ends_with_newline(file: Path) -> bool:
    with file.open("rb") as fh:
        fh.seek(-1, 2)
        return fh.read(1) == b"\n"


def _turn(p: _Pending, speaker: str, raw: str, extra: dict[str, Any], file: Path, record: str) -> Turn:
    text = raw.strip()
    if not text:
        raise SourceFormatError(f"empty {speaker} utterance", path=file, record=record)
    if text != raw:
        extra["raw_text"] = raw
    acts = []
    if speaker == "system" and text.split(" ", 1)[0] == "api_call":
        acts.append(DialogueAct("api_call", values=text.split()[1:]))
    return Turn(len(p.turns), speaker, speaker, text, annotations=Annotations(dialogue_acts=acts, extra=extra))


def _add_line(p: _Pending, n: int, body: str, file: Path, record: str) -> None:
    if "\t" not in body:  # an API result: a KB fact (or "api_call no result") for the last api_call
        if not p.turns:
            raise SourceFormatError("API result line before any utterance", path=file, record=record)
        extra = p.turns[-1].annotations.extra  # the api_call turn (in the release, always)
        extra.setdefault("api_results", []).append(body)
        extra.setdefault("api_result_lines", []).append(n)
        return
    fields = body.split("\t")
    if len(fields) != 2:
        raise SourceFormatError(
            f"expected '<user>\\t<bot>', found {len(fields)} tab-separated fields", path=file, record=record
        )
    user, bot = fields
    if user.strip() == SILENCE:
        p.turns.append(_turn(p, "system", bot, {"line": n, "user_text": user}, file, record))
        return
    p.turns.append(_turn(p, "user", user, {"line": n}, file, record))
    p.turns.append(_turn(p, "system", bot, {"line": n}, file, record))
