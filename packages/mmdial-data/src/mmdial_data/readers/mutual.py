"""MuTual and MuTual-plus reader (Cui et al., 2020: MuTual, a Dataset for Multi-Turn Dialogue Reasoning;
``Nealcly/MuTual``).

Input: ``data/{mutual,mutual_plus}/{train,dev,test}/<split>_<n>.txt``, one JSON object per file: ``article`` (the
dialogue, each utterance behind a speaker tag: ``m :``/``f :`` in MuTual, lower-cased and tokenized; ``M:``/``F:``
in MuTual-plus), ``options`` (four candidate next responses, tagged the same way), ``answers`` (the letter of the
right one; absent in test) and ``id``. A file, or a folder of them at any depth.

Turns: the tagged segments of ``article``; speaker the tag (``m``/``f`` or ``M``/``F``), role ``speaker_a``,
``speaker_b`` by first appearance, text the segment without its tag. Should the article not be exactly the turns
joined back (``"<tag> : <text>"`` or ``"<tag>: <text>"`` by single spaces), it is kept verbatim in
``meta["article"]``.

Options and answer: ``meta["choices"]`` holds one :class:`~mmdial_data.tasks.MultipleChoice`: question None (the
task is the next response), the options verbatim (tags included), answer the letter's index (``"B"`` -> 1; None
without ``answers``), ``after_turn`` the last turn. ``meta["variant"]``: ``mutual`` or ``mutual_plus`` (from the
folder name, else from the tag style); any other field of the file goes to ``meta`` under its own name.

Splits: ``train``, ``dev``, ``test`` (from the folder or file name; ``dev`` becomes ``validation``: ``read_source``
gives the canonical name of :mod:`mmdial_data.splits`; ``full`` when neither says). Ids:
``mutual/<split>/<variant>/<id>`` (the two variants share ids).

Licence: not stated (Nealcly/MuTual has no licence file; the README asks to cite the paper). Cite Cui, Wu, Liu,
Zhang and Zhou 2020, "MuTual: A Dataset for Multi-Turn Dialogue Reasoning", ACL 2020.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import _first_char, build_or_report, expect, infer_split
from mmdial_data.schema import Dialogue, Turn
from mmdial_data.tasks import CHOICES, MultipleChoice

SOURCE = "mutual"
LICENSE = "not stated (Nealcly/MuTual has no licence file)"
CITATION = "Cui, Wu, Liu, Zhang and Zhou 2020, MuTual: A Dataset for Multi-Turn Dialogue Reasoning, ACL 2020"
DEFAULT_SPLIT = "full"
VARIANTS = ("mutual", "mutual_plus")
#: Speaker tags by style: MuTual's ``m : ``, MuTual-plus's ``M: ``; each splits an article into turns.
TAGS = {
    "mutual": (re.compile(r"(?:^| )([mf]) : "), " : "),
    "mutual_plus": (re.compile(r"(?:^| )([MF]): "), ": "),
}
_KEYS = ("article", "options", "answers", "id")


def read_mutual(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield MuTual / MuTual-plus dialogues (one per example file) from a file or a folder of them.

    Args:
        path: An example ``.txt`` file, or a folder holding them (``data/``, ``data/mutual_plus/dev`` ...).
        split: The split to give every dialogue (default: from the folder or file name).
        policy: What to do with a malformed example (a file in another format always raises).

    Raises:
        SourceFormatError: Not a MuTual example (not a JSON object with ``article``, ``options`` and ``id``), or,
            under ``on_error="raise"``, a malformed one (broken JSON, an untagged article, an unknown answer).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_mutual(samples_dir("mutual") / "data/mutual/train/train_1.txt", split=None,
        ...                      policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].speaker, d.turns[0].text
        ('mutual/train/mutual/train_1', 'm', 'excuse me . how much is this suit ?')
        >>> from mmdial_data.tasks import choices_of
        >>> choices_of(d)[0].answer, choices_of(d)[0].after_turn == len(d.turns) - 1
        (1, True)
    """
    if path.is_dir():
        files = sorted((p for p in path.rglob("*.txt") if p.is_file()), key=_sort_key)
        if not files:
            raise SourceFormatError("no MuTual example .txt files in this folder", path=path)
    else:
        files = [path]
    for file in files:
        if _first_char(file) != "{":
            raise SourceFormatError("not MuTual: expected a JSON object", path=file, record="top level")
        try:
            data = _load(file)
        except SourceFormatError as exc:  # a broken example: the policy decides
            policy.handle(exc)
            continue
        _check_format(data, file)
        record = f"example {data['id']}"
        dialogue = build_or_report(partial(_dialogue, data, file, split, record), policy, path=file, record=record)
        if dialogue is not None:
            yield dialogue


def _sort_key(p: Path) -> tuple[str, int, str]:
    stem, _, number = p.stem.rpartition("_")
    return (str(p.parent), int(number) if number.isdigit() else -1, stem or p.stem)


def _load(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"malformed JSON ({exc.msg})", path=file, record=f"line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=file) from exc


def _variant(file: Path, article: str) -> str:
    for parent in file.parents:
        if parent.name in VARIANTS:
            return parent.name
    return "mutual_plus" if TAGS["mutual_plus"][0].match(article) else "mutual"


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not a MuTual example, whatever the error policy."""
    ok = isinstance(data, dict) and isinstance(data.get("article"), str) and "options" in data and "id" in data
    expect(ok, "not MuTual: expected an object with article, options and id", path=file, record="top level")


def _dialogue(data: dict[str, Any], file: Path, split: str | None, record: str) -> Dialogue:
    article: str = data["article"]
    variant = _variant(file, article)
    pattern, joiner = TAGS[variant]
    parts = pattern.split(article)
    expect(parts[0] == "" and len(parts) > 1, f"article does not start with a {variant} speaker tag", path=file,
           record=record)  # fmt: skip
    roles: dict[str, str] = {}
    turns: list[Turn] = []
    for tag, text in zip(parts[1::2], parts[2::2], strict=True):
        expect(bool(text.strip()), f"turn {len(turns)} has no text", path=file, record=record)
        role = roles.setdefault(tag, f"speaker_{chr(ord('a') + len(roles))}")
        turns.append(Turn(len(turns), tag, role, text))
    options = data["options"]
    expect(
        isinstance(options, list) and bool(options) and all(isinstance(o, str) and o.strip() for o in options),
        "options must be non-empty strings",
        path=file,
        record=record,
    )
    answer = None
    if "answers" in data:
        letter = data["answers"]
        letters = [chr(ord("A") + i) for i in range(len(options))]
        expect(letter in letters, f"answers {letter!r} is not one of {letters}", path=file, record=record)
        answer = letters.index(letter)
    meta: dict[str, Any] = {"variant": variant}
    if " ".join(f"{t.speaker}{joiner}{t.text}" for t in turns) != article:
        meta["article"] = article
    meta.update({k: v for k, v in data.items() if k not in _KEYS})
    meta[CHOICES] = [MultipleChoice(None, list(options), answer, len(turns) - 1).to_dict()]
    name = split or infer_split(file, DEFAULT_SPLIT)
    return Dialogue(f"{SOURCE}/{name}/{variant}/{data['id']}", SOURCE, name, turns, meta)
