"""DialogStudio converted-format reader (Zhang et al., 2023: Salesforce DialogStudio's unified format).

Input: any dataset in DialogStudio's converted format: a ``converted_examples.json`` (or a per-split
``train.json``/``val.json``/``test.json`` of the same shape), or a folder holding such files at any depth
(``original_examples.json``, the source's own format, is not this format and is passed over in a folder). The
file is one JSON object ``{"<DATASET>--<split>--<n>": dialogue}``; a dialogue holds ``original dialog id``,
``dialog index``, ``original dialog info``, ``log`` (one entry per exchange: ``turn id``, ``user utterance``,
``system response``, ``dialog history``, ``original user side information``, ``original system side
information``, and for task-oriented data ``dst``, ``dst accumulated``, ``intent``), ``external knowledge
non-flat``, ``external knowledge``, ``dst knowledge``, ``intent knowledge`` and ``prompt``.

Each ``log`` entry gives up to two turns, the user's then the system's (speakers and roles ``user`` and
``system``, DialogStudio's own); an empty utterance gives no turn. Per turn:

- user turn: ``intent`` -> ``Annotations.intent`` (the string as given, several intents joined by ``" , "``);
  ``dst accumulated`` -> ``state``, each ``" , "``-separated ``"<domain> <slot> <value>"`` item as
  ``"<domain>-<slot>" -> [value]`` (the first two words name domain and slot, as DialogStudio writes
  MultiWOZ-style slots); ``extra``: ``dst`` and ``dst accumulated`` verbatim, ``original user side information``
  (a dict, or the JSON text some releases hold, as given) and any other field of the entry under its own name;
- system turn: ``extra["original system side information"]``;
- both: ``extra["turn id"]``. ``dialog history`` is the earlier turns as ``<USER> u <SYSTEM> s`` joined by
  spaces; it is kept in the user turn's ``extra`` only where it differs from that (:func:`dialog_history`).

Where the user utterance is empty, the entry's user side is kept in the system turn's ``extra["user side"]``;
where the system response is empty, it and the system side information stay in the user turn's ``extra``; an
entry with no text at all goes to ``meta["log entries without text"]``.

``meta``: ``dataset`` and ``key`` (from the key: ``SODA_PROCESSED``, ``SODA_PROCESSED--train--1``) and every
other dialogue field under DialogStudio's own name (``original dialog id``, ``dialog index``, ``original dialog
info``, ``external knowledge non-flat``, ``external knowledge``, ``dst knowledge``, ``intent knowledge``,
``prompt`` ...).

Splits: the key's middle part as DialogStudio names it (``train``, ``val``, ``test``). Dialogue ids:
``dialogstudio/<split>/<DATASET>/<n>``, so the datasets of a mixture stay apart.

Licence: DialogStudio's code and format are Apache-2.0 (its LICENSE.txt); each converted dataset keeps its
source's licence. Cite Zhang et al. 2023, "DialogStudio: Towards Richest and Most Diverse Unified Dataset
Collection for Conversational AI".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "dialogstudio"
LICENSE = "Apache-2.0 (DialogStudio); each converted dataset keeps its source's licence"
CITATION = "Zhang et al. 2023, DialogStudio: Towards Richest and Most Diverse Unified Dataset Collection"
USER, SYSTEM, HISTORY = "user utterance", "system response", "dialog history"
USER_INFO, SYSTEM_INFO = "original user side information", "original system side information"
#: Separator of DialogStudio's ``dst``/``intent`` strings.
ITEM_SEPARATOR = " , "
_KEY = re.compile(r"^(?P<dataset>.+?)--(?P<split>[^-]+(?:-[^-]+)*)--(?P<n>[^-].*)$")
#: File names a folder is searched for (the converted file, or per-split files of its shape).
_FILE_NAMES = frozenset(
    ["converted_examples.json", "train.json", "val.json", "valid.json", "validation.json", "dev.json", "test.json"]
)


def read_dialogstudio(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of DialogStudio converted-format files (a file, or a folder searched recursively).

    Args:
        path: A ``converted_examples.json`` (or per-split file of that shape) or a folder of them.
        split: Override the split named by each key.
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Raises:
        SourceFormatError: Not the converted format (not an object keyed ``<DATASET>--<split>--<n>`` whose
            dialogues have a ``log`` of user utterance / system response entries), or, under
            ``on_error="raise"``, a malformed dialogue.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> soda = samples_dir("dialogstudio_format") / "open-domain-dialogues" / "SODA"
        >>> d = next(read_dialogstudio(soda, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [t.role for t in d.turns[:3]], d.meta["original dialog info"]["PersonX"]
        ('dialogstudio/train/SODA_PROCESSED/1', ['user', 'system', 'user'], 'Veda')
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file() and p.name in _FILE_NAMES)
        if not files:
            raise SourceFormatError("no DialogStudio converted_examples.json in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def dialog_history(log: list[dict[str, Any]], upto: int) -> str:
    """DialogStudio's ``dialog history`` of entry ``upto``: the earlier entries as ``<USER> u <SYSTEM> s``.

    >>> dialog_history([{"user utterance": "hi", "system response": "hello"}, {}], 1)
    '<USER> hi <SYSTEM> hello'
    """
    return " ".join(f"<USER> {e.get(USER, '')} <SYSTEM> {e.get(SYSTEM, '')}" for e in log[:upto])


def parse_dst(text: str) -> dict[str, list[str]]:
    """A ``dst`` string as ``"<domain>-<slot>" -> values`` (items ``"<domain> <slot> <value>"``).

    >>> parse_dst("restaurant area centre , restaurant food chinese , hotel name a | b")
    {'restaurant-area': ['centre'], 'restaurant-food': ['chinese'], 'hotel-name': ['a | b']}
    >>> parse_dst("")
    {}
    """
    state: dict[str, list[str]] = {}
    for item in text.split(ITEM_SEPARATOR) if text.strip() else []:
        parts = item.strip().split(" ", 2)
        key = "-".join(parts[:2]) if len(parts) > 1 else parts[0]
        value = parts[2] if len(parts) > 2 else ""
        values = state.setdefault(key, [])
        if value not in values:
            values.append(value)
    return state


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not in the converted format, whatever the error policy."""
    expect(
        isinstance(data, dict) and bool(data),
        "not DialogStudio: expected a JSON object of dialogues keyed <DATASET>--<split>--<n>",
        path=file,
        record="top level",
    )
    key, first = next(iter(data.items()))
    ok = (
        _KEY.match(key) is not None
        and isinstance(first, dict)
        and isinstance(first.get("log"), list)
        and all(isinstance(e, dict) and (USER in e or SYSTEM in e) for e in first["log"])
    )
    expect(
        ok,
        "not DialogStudio: dialogues keyed <DATASET>--<split>--<n> need a log of user utterance/system response",
        path=file,
        record=f"dialogue {key!r}",
    )


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = load_json(file)
    _check_format(data, file)
    for key, raw in data.items():
        record = f"dialogue {key!r}"
        dialogue = build_or_report(partial(_dialogue, key, raw, split, file, record), policy, path=file, record=record)
        if dialogue is not None:
            yield dialogue


def _dialogue(key: str, raw: Any, split: str | None, file: Path, record: str) -> Dialogue:
    m = _KEY.match(key)
    expect(m is not None, "key is not <DATASET>--<split>--<n>", path=file, record=record)
    assert m is not None
    expect(isinstance(raw, dict) and isinstance(raw.get("log"), list), "no log", path=file, record=record)
    log: list[Any] = raw["log"]
    turns: list[Turn] = []
    untexted: list[Any] = []
    for i, entry in enumerate(log):
        where = f"{record}, log entry {i}"
        expect(isinstance(entry, dict), "log entry must be an object", path=file, record=where)
        user_text, system_text = entry.get(USER, ""), entry.get(SYSTEM, "")
        expect(
            isinstance(user_text, str) and isinstance(system_text, str),
            "user utterance and system response must be strings",
            path=file,
            record=where,
        )
        user = _user_side(entry, log, i, file, where)
        system_extra: dict[str, Any] = {"turn id": entry.get("turn id")} if "turn id" in entry else {}
        if SYSTEM_INFO in entry:
            system_extra[SYSTEM_INFO] = entry[SYSTEM_INFO]
        if user_text.strip():
            turns.append(Turn(len(turns), "user", "user", user_text, annotations=user))
        if system_text.strip():
            if not user_text.strip():
                side = {k: v for k, v in entry.items() if k not in (SYSTEM, SYSTEM_INFO, "turn id")}
                system_extra["user side"] = side
            turns.append(Turn(len(turns), "system", "system", system_text, annotations=Annotations(extra=system_extra)))
        elif not user_text.strip():
            untexted.append(entry)
        else:  # no system turn: its side stays with the user turn
            user.extra.update({k: entry[k] for k in (SYSTEM, SYSTEM_INFO) if k in entry})
    expect(bool(turns), "no utterance in this dialogue", path=file, record=record)
    split_name = split or m["split"]
    meta: dict[str, Any] = {"dataset": m["dataset"], "key": key}
    meta.update({k: v for k, v in raw.items() if k != "log"})
    if untexted:
        meta["log entries without text"] = untexted
    return Dialogue(f"{SOURCE}/{split_name}/{m['dataset']}/{m['n']}", SOURCE, split_name, turns, meta)


def _user_side(entry: dict[str, Any], log: list[Any], i: int, file: Path, where: str) -> Annotations:
    intent = entry.get("intent")
    expect(intent is None or isinstance(intent, str), "intent must be a string", path=file, record=where)
    accumulated = entry.get("dst accumulated", "")
    expect(isinstance(accumulated, str), "dst accumulated must be a string", path=file, record=where)
    extra: dict[str, Any] = {}
    for k, v in entry.items():
        if k in (USER, SYSTEM, SYSTEM_INFO, "intent"):
            continue
        if k == HISTORY and all(isinstance(e, dict) for e in log[:i]) and v == dialog_history(log, i):
            continue  # derivable from the earlier turns
        extra[k] = v
    if intent == "":
        extra["intent"] = ""
    return Annotations(intent=intent or None, state=parse_dst(accumulated), extra=extra)
