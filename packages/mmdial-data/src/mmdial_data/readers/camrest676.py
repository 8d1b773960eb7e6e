"""CamRest676 reader (Wen et al., 2017; the NNDIAL release, ``data/CamRest676.json``).

Input: ``CamRest676.json`` (or a folder holding it, such as the NNDIAL checkout or its ``data/``). The file is
not plain JSON: a banner of ``#`` comment lines comes first, then a JSON list of dialogues
``{"dialogue_id", "goal", "finished", "dial": [exchange, ...]}``; each exchange holds ``turn``, ``usr``
(``transcript``, ``slu``) and ``sys`` (``sent``, ``DA``).

Each exchange gives two turns, the user's then the system's. Per turn:

- user: ``slu`` entries as dialogue acts (``{"act": "inform", "slots": [["area", "south"]]}`` -> ``inform`` area
  ``["south"]``; ``{"act": "request", "slots": [["slot", "phone"]]}`` -> ``request`` phone); ``state`` = the
  ``inform`` slots of ``slu``, which the release keeps cumulative (its constraints so far, ``dontcare``
  included); ``slu`` itself is kept in ``extra`` only where an entry does not hold exactly one pair;
- system: ``DA`` (a list of slot names, no act type) verbatim in ``extra["DA"]``: it is not mapped onto
  dialogue acts, since the release does not say which act each slot takes;
- both: ``extra["turn"]``, the exchange number; any other field of ``usr``/``sys``/the exchange in ``extra``.

``meta``: ``dialogue_id``, ``goal`` (``constraints``, ``request-slots``, the task ``text``), ``finished``, the
file's ``#`` banner as ``file_comment``, ``db_file`` (the restaurant DB's path relative to the dialogues file,
when ``db/CamRest.json`` or ``CamRest.json`` is found beside it or one folder up; the 110 venues are not copied
into every dialogue: read them with :func:`read_camrest_db`), and any other field under ``source_fields``.

Splits: the release has none (NNDIAL cuts the list 3:1:1 in order at training time), so dialogues are ``full``,
as the ``multiwoz`` and ``dailydialog`` readers name an unsplit release; a file whose name holds a split word
(``train``, ``val``, ``test``...) takes it. Dialogue ids are ``camrest676/<split>/<dialogue_id>``.

Licence: the NNDIAL licence (CUED Neural Dialogue Model Software licence, shawnwun/NNDIAL): check it before
redistribution. Cite Wen et al., "A Network-based End-to-End Trainable Task-oriented Dialogue System",
EACL 2017.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "camrest676"
LICENSE = "NNDIAL licence (CUED Neural Dialogue Model Software licence); check before redistribution"
CITATION = "Wen et al., A Network-based End-to-End Trainable Task-oriented Dialogue System, EACL 2017"
_DB_FIELDS = {"name", "address", "area", "food", "pricerange"}


def read_camrest676(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the CamRest676 dialogues of ``CamRest676.json`` (or the folder holding it).

    Args:
        path: ``CamRest676.json``, or a folder with it (``data/`` of NNDIAL, or the checkout itself).
        split: Override the split (``full`` unless the file name holds a split word).
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_camrest676(samples_dir("camrest676"), split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [t.role for t in d.turns[:2]], d.turns[0].annotations.state["area"]
        ('camrest676/full/0', ['user', 'system'], ['south'])
    """
    file = _dialogue_file(path)
    comment, data = load_commented_json(file)
    _check_format(data, file)
    split_name = split or infer_split(file, default="full")
    context: dict[str, Any] = {}
    if comment:
        context["file_comment"] = comment
    db = _db_file(file)
    if db is not None:
        context["db_file"] = Path(os.path.relpath(db, file.parent)).as_posix()
    for index, raw in enumerate(data):
        did = raw.get("dialogue_id", "?") if isinstance(raw, dict) else "?"
        record = f"dialogue {index} (dialogue_id {did})"
        dialogue = build_or_report(
            partial(_dialogue, raw, split_name, context, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def read_camrest_db(path: Path) -> list[dict[str, Any]]:
    """The restaurant DB of CamRest676 (``db/CamRest.json``, also behind a ``#`` banner): one dict per venue.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> db = read_camrest_db(samples_dir("camrest676") / "db" / "CamRest.json")
        >>> len(db), sorted(db[0])[:3]
        (110, ['address', 'area', 'food'])
    """
    _, data = load_commented_json(path)
    expect(
        isinstance(data, list) and all(isinstance(r, dict) for r in data),
        "not the CamRest DB: expected a JSON list of venues",
        path=path,
        record="top level",
    )
    return data


def load_commented_json(path: Path) -> tuple[str, Any]:
    """``(banner, value)`` of a JSON file that may begin with ``#`` comment lines (NNDIAL's files do).

    The banner is the comment lines as they are (without the final line break), ``""`` when there is none.
    Malformed JSON raises :class:`SourceFormatError` naming the file, line and column of the whole file.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.json"
    >>> _ = p.write_text("####\\n# (c) someone\\n[1, 2]\\n")
    >>> load_commented_json(p)
    ('####\\n# (c) someone', [1, 2])
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=path) from exc
    lines = text.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].lstrip().startswith("#"):
        n += 1
    banner = "".join(lines[:n]).rstrip("\r\n")
    body = "".join(lines[n:])
    try:
        return banner, json.loads(body)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"malformed JSON ({exc.msg})", path=path, record=f"line {exc.lineno + n} column {exc.colno}"
        ) from exc


def _dialogue_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    for candidate in (path / "CamRest676.json", path / "data" / "CamRest676.json"):
        if candidate.is_file():
            return candidate
    raise SourceFormatError("no CamRest676.json in this folder (nor in data/)", path=path)


def _db_file(file: Path) -> Path | None:
    for candidate in (file.parent / "CamRest.json", file.parent / "db" / "CamRest.json"):
        if candidate.is_file():
            return candidate
    candidate = file.parent.parent / "db" / "CamRest.json"
    return candidate if candidate.is_file() else None


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not CamRest676 dialogues, whatever the error policy."""
    expect(isinstance(data, list), "not CamRest676: expected a JSON list of dialogues", path=file, record="top level")
    expect(bool(data), "no dialogues in this file", path=file, record="top level")
    first = data[0]
    if isinstance(first, dict) and first.keys() >= _DB_FIELDS and "dial" not in first:
        raise SourceFormatError(
            "not CamRest676 dialogues: this is the CamRest restaurant DB (read it with read_camrest_db)",
            path=file,
            record="item 0",
        )
    ok = (
        isinstance(first, dict)
        and isinstance(first.get("dial"), list)
        and all(isinstance(x, dict) and {"usr", "sys"} <= x.keys() for x in first["dial"])
    )
    expect(ok, "not CamRest676: dialogues need a 'dial' list of usr/sys exchanges", path=file, record="dialogue 0")


def _text(side: Any, key: str, file: Path, record: str) -> str:
    expect(isinstance(side, dict) and isinstance(side.get(key), str), f"no {key!r} text", path=file, record=record)
    text: str = side[key]
    expect(bool(text.strip()), f"empty {key!r}", path=file, record=record)
    return text


def _dialogue(raw: Any, split: str, context: dict[str, Any], file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and "dialogue_id" in raw and isinstance(raw.get("dial"), list) and raw["dial"],
        "missing dialogue_id or a non-empty 'dial'",
        path=file,
        record=record,
    )
    turns: list[Turn] = []
    for i, exchange in enumerate(raw["dial"]):
        where = f"{record}, exchange {i}"
        expect(isinstance(exchange, dict), "exchange must be an object", path=file, record=where)
        usr, sys = exchange.get("usr"), exchange.get("sys")
        user_text, system_text = _text(usr, "transcript", file, where), _text(sys, "sent", file, where)
        assert isinstance(usr, dict) and isinstance(sys, dict)
        rest = {k: v for k, v in exchange.items() if k not in ("turn", "usr", "sys")}
        user = _user_annotations(usr, file, where)
        user.extra = {"turn": exchange.get("turn"), **user.extra, **({"exchange_fields": rest} if rest else {})}
        system_extra: dict[str, Any] = {"turn": exchange.get("turn"), "DA": sys.get("DA", [])}
        system_extra.update({k: v for k, v in sys.items() if k not in ("sent", "DA")})
        turns.append(Turn(len(turns), "usr", "user", user_text, annotations=user))
        turns.append(Turn(len(turns), "sys", "system", system_text, annotations=Annotations(extra=system_extra)))
    meta: dict[str, Any] = {"dialogue_id": raw["dialogue_id"]}
    for key in ("goal", "finished"):
        if key in raw:
            meta[key] = raw[key]
    meta.update(context)
    rest = {k: v for k, v in raw.items() if k not in ("dialogue_id", "goal", "finished", "dial")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{raw['dialogue_id']}", SOURCE, split, turns, meta)


def _user_annotations(usr: dict[str, Any], file: Path, record: str) -> Annotations:
    slu = usr.get("slu", [])
    expect(isinstance(slu, list), "slu must be a list", path=file, record=record)
    acts: list[DialogueAct] = []
    state: dict[str, list[str]] = {}
    regular = True
    for entry in slu:
        expect(
            isinstance(entry, dict) and isinstance(entry.get("act"), str) and isinstance(entry.get("slots"), list),
            "slu entries need act and slots",
            path=file,
            record=record,
        )
        regular = regular and len(entry["slots"]) == 1 and set(entry) == {"act", "slots"}
        for pair in entry["slots"]:
            expect(isinstance(pair, list) and len(pair) == 2, "slu slots are [slot, value]", path=file, record=record)
            slot, value = str(pair[0]), str(pair[1])
            if entry["act"] == "request" and slot == "slot":
                acts.append(DialogueAct("request", slot=value))
            else:
                acts.append(DialogueAct(entry["act"], slot=slot, values=[value]))
            if entry["act"] == "inform":
                values = state.setdefault(slot, [])
                if value not in values:
                    values.append(value)
    extra: dict[str, Any] = {} if regular else {"slu": slu}
    extra.update({k: v for k, v in usr.items() if k not in ("transcript", "slu")})
    return Annotations(dialogue_acts=acts, state=state, extra=extra)
