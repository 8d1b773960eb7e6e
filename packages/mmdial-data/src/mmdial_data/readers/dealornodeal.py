"""Deal or No Deal (Lewis et al., EMNLP 2017: end-to-end negotiation) reader.

Release: ``facebookresearch/end-to-end-negotiator``, ``src/data/negotiate/{train,val,test}.txt`` (licence
CC BY-NC 4.0). Input: one of those files or a folder of ``*.txt`` files. Each line is one negotiation seen by one
agent (so each negotiation appears twice, once per agent)::

    <input> 1 6 3 0 2 2 </input> <dialogue> YOU: i want the book . <eos> THEM: <selection> </dialogue>
    <output> item0=1 item1=0 item2=0 item0=0 item1=3 item2=2 </output> <partner_input> 1 2 3 2 2 1 </partner_input>

``<input>`` holds (count, value) pairs of the three items (``item0``/``item1``/``item2``: book, hat, ball) for
the agent called ``YOU``; ``<partner_input>`` the same for ``THEM``. Mapping:

- Each ``YOU:``/``THEM:`` segment of ``<dialogue>`` (segments end at ``<eos>``) -> one :class:`Turn`: speaker
  ``YOU`` (role ``self``, the agent whose values are in ``<input>``) or ``THEM`` (role ``partner``), the text the
  segment's tokens (tokenised, lower-case, as released). The closing ``<selection>`` move is a turn with text
  ``<selection>`` and the :class:`DialogueAct` ``selection``.
- ``meta``: ``counts`` and ``values`` (from ``<input>``), ``partner_counts`` and ``partner_values`` (from
  ``<partner_input>``), ``output`` (the ``<output>`` tokens as they are), ``agreement`` (False when the output is
  ``<disagree>`` or ``<no_agreement>``), ``selection`` (``{"you": [n0, n1, n2], "them": [...]}``, the items each
  side takes, when the output is a deal) and ``line`` (the 1-based line number).

Splits: the file name (``train``, ``val``, ``test``; ``val`` becomes ``validation``: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`); dialogue ids ``dealornodeal/<split>/<line number>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "dealornodeal"
LICENSE = "CC BY-NC 4.0"
CITATION = "Lewis et al. 2017, Deal or No Deal? End-to-End Learning for Negotiation Dialogues, EMNLP"
ROLES = {"YOU": "self", "THEM": "partner"}
#: ``<output>`` tokens meaning that no deal was made.
NO_DEAL = ("<disagree>", "<no_agreement>")
_LINE = re.compile(
    r"^\s*<input>(?P<input>.*?)</input>\s*<dialogue>(?P<dialogue>.*?)</dialogue>\s*"
    r"<output>(?P<output>.*?)</output>\s*<partner_input>(?P<partner>.*?)</partner_input>\s*$"
)
_ITEM = re.compile(r"^item([0-9]+)=([0-9]+)$")


def read_dealornodeal(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield Deal or No Deal negotiations (one per line and agent) of a release ``.txt`` file or folder.

    Args:
        path: ``train.txt``/``val.txt``/``test.txt`` or a folder of such files.
        split: Override the split named by the file name.
        policy: What to do with a malformed line (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not Deal or No Deal (its first line is not ``<input> ... </partner_input>``),
            or, under ``on_error="raise"``, a line is malformed.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "val.txt"
        >>> _ = p.write_text("<input> 1 6 3 0 2 2 </input> <dialogue> YOU: i want the book . <eos> THEM: <selection> "
        ...                  "</dialogue> <output> item0=1 item1=0 item2=0 item0=0 item1=3 item2=2 </output> "
        ...                  "<partner_input> 1 2 3 2 2 1 </partner_input>\\n")
        >>> d = next(read_dealornodeal(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [(t.role, t.text) for t in d.turns]
        ('dealornodeal/val/1', [('self', 'i want the book .'), ('partner', '<selection>')])
        >>> d.meta["values"], d.meta["partner_values"], d.meta["selection"]
        ([6, 0, 2], [2, 2, 1], {'you': [1, 0, 0], 'them': [0, 3, 2]})
    """
    files = sorted(p for p in path.glob("*.txt") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError("no *.txt files in this folder", path=path)
    for file in files:
        yield from _read_file(file, split, policy)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    split_name = split or infer_split(file)
    seen = False
    for lineno, line in iter_lines(file):
        if not line.strip():
            continue
        record = f"line {lineno}"
        if not seen and not _LINE.match(line):  # the first line decides whether this is the format at all
            raise SourceFormatError(
                "not a Deal or No Deal file: expected '<input> ... </input> <dialogue> ... </dialogue> <output> ... "
                "</output> <partner_input> ... </partner_input>'",
                path=file,
                record=record,
            )
        seen = True
        try:
            yield _dialogue(line, lineno, split_name, file, record)
        except SourceFormatError as exc:
            policy.handle(exc)
    if not seen:
        raise SourceFormatError("not a Deal or No Deal file: no lines", path=file)


def _numbers(text: str, what: str, file: Path, record: str) -> list[int]:
    tokens = text.split()
    if len(tokens) != 6 or not all(t.isdigit() for t in tokens):
        raise SourceFormatError(
            f"{what}: expected 6 numbers (count, value per item), got {text.strip()!r}", path=file, record=record
        )
    return [int(t) for t in tokens]


def _dialogue(line: str, lineno: int, split: str, file: Path, record: str) -> Dialogue:
    m = _LINE.match(line)
    if not m:
        raise SourceFormatError("expected '<input> ... </partner_input>'", path=file, record=record)
    mine = _numbers(m["input"], "<input>", file, record)
    partner = _numbers(m["partner"], "<partner_input>", file, record)
    turns: list[Turn] = []
    speaker: str | None = None
    words: list[str] = []

    def close() -> None:
        if speaker is None:
            return
        if not words:
            raise SourceFormatError(f"turn {len(turns)}: {speaker} says nothing", path=file, record=record)
        text = " ".join(words)
        acts = [DialogueAct("selection")] if text == "<selection>" else []
        turns.append(Turn(len(turns), speaker, ROLES[speaker], text, annotations=Annotations(dialogue_acts=acts)))

    for token in m["dialogue"].split():
        if token in ("YOU:", "THEM:"):
            if speaker is not None:  # a new speaker without <eos> before it
                raise SourceFormatError(f"turn {len(turns)}: no <eos> before {token}", path=file, record=record)
            speaker, words = token[:-1], []
        elif token == "<eos>":
            close()
            speaker, words = None, []
        elif speaker is None:
            raise SourceFormatError(f"turn {len(turns)}: {token!r} before YOU:/THEM:", path=file, record=record)
        else:
            words.append(token)
    close()
    if not turns:
        raise SourceFormatError("empty <dialogue>", path=file, record=record)
    output = m["output"].split()
    meta: dict[str, Any] = {
        "counts": mine[0::2],
        "values": mine[1::2],
        "partner_counts": partner[0::2],
        "partner_values": partner[1::2],
        "output": output,
        "agreement": not any(t in NO_DEAL for t in output),
    }
    items = [_ITEM.match(t) for t in output]
    if output and all(items):
        taken = [int(i[2]) for i in items if i]
        half = len(taken) // 2
        meta["selection"] = {"you": taken[:half], "them": taken[half:]}
    meta["line"] = lineno
    return Dialogue(f"{SOURCE}/{split}/{lineno}", SOURCE, split, turns, meta)
