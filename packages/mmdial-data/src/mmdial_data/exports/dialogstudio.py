"""Export to DialogStudio's converted format (``converted_examples.json``, Zhang et al., 2023).

``export_dialogstudio(dialogues_or_path, out)`` writes ``out/<DATASET>/converted_examples.json`` per dataset name:
one JSON object ``{"<DATASET>--<split>--<n>": dialogue}`` whose dialogues hold ``original dialog id``, ``dialog
index``, ``original dialog info``, ``log``, ``external knowledge non-flat``, ``external knowledge``, ``dst
knowledge``, ``intent knowledge`` and ``prompt``, and whose ``log`` entries hold ``turn id``, ``user utterance``,
``system response``, ``dialog history``, ``original user side information``, ``original system side information``,
``dst``, ``dst accumulated`` and ``intent``: DialogStudio's own layout, which the ``dialogstudio`` reader reads back.

Where each field goes (the inverse of :mod:`mmdial_data.readers.dialogstudio`):

- a ``dialogstudio`` dialogue: its key (``meta["key"]``, when unique; others numbered) and every other ``meta``
  entry as the dialogue field of its name; its turns back into entries from their ``extra`` (``turn id``, side
  information, ``dst``, ``dst accumulated``, an empty ``intent``, ``user side`` of a system turn without a user
  utterance, ``dialog history`` where it was not the rebuilt one); ``state`` and ``intent`` from ``dst
  accumulated`` and ``intent``. ``meta["log entries without text"]`` go after the other entries (the reader does
  not keep where they were).
- splits: a key holds the dialogue's split, a canonical name of :mod:`mmdial_data.splits`
  (``<DATASET>--validation--<n>``), except that a ``dialogstudio`` dialogue's own key keeps the name it was read
  with (``MULTIWOZ2_2--val--1``, the reader's ``meta["source_split"]``).
- any other dialogue: dataset ``dataset=`` or the source, key ``<dataset>--<split>--<n>`` (``n`` from 1 per split),
  ``original dialog id`` the unified id without ``<source>/<split>/``, ``dialog index`` ``n``, ``original dialog
  info`` the whole ``meta``; knowledge fields empty, ``prompt`` ``[]``. Roles ``user``/``system`` as they are,
  other roles alternately user and system by first appearance; each user turn opens an entry and the system turn
  after it fills its ``system response`` (a system turn after a system turn gets an entry with an empty user
  utterance). A user turn's ``extra`` is its entry's ``original user side information`` and a system turn's the
  ``original system side information`` (verbatim); ``state`` -> ``dst accumulated`` (``"<domain> <slot>
  <value>"`` items joined by ``" , "``), what changed since the previous user turn -> ``dst``, ``intent`` ->
  ``intent``; ``dialog history`` is rebuilt (``<USER> u <SYSTEM> s`` of the earlier entries).

Not carried by the format, and so written into an ``mmdial`` field (see :mod:`._carry`): per entry, ``{"user":
..., "system": ...}`` with what of each turn would not come back (speaker and role other than ``user``/``system``,
acts, emotion, knowledge, images, a state or intent the fields above do not give back); per dialogue, the
unified ``dialogue_id`` and ``source`` where they differ, and a ``dialogstudio`` dialogue's meta entries that
would not come back. Read back, an entry's ``mmdial`` lands in its user turn's ``extra`` (in ``extra["user
side"]`` of the system turn when the entry has no user utterance), the dialogue's in ``meta``. A turn with empty
text (an image turn) is an empty utterance, which the reader leaves out (its content is in ``mmdial``).
``schema_version`` is not kept.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Annotations, Dialogue, Turn, read_source
    >>> d = Dialogue("mine/validation/7", "mine", "validation", [
    ...     Turn(0, "u", "user", "a cheap hotel", annotations=Annotations(state={"hotel-price": ["cheap"]})),
    ...     Turn(1, "s", "system", "which area?")])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "ds"
    >>> export_dialogstudio([d], out)
    {'mine': 1}
    >>> back = next(read_source("dialogstudio", out))
    >>> back.dialogue_id, back.turns[0].annotations.state, back.meta["mmdial"]["dialogue_id"]
    ('dialogstudio/validation/mine/1', {'hotel-price': ['cheap']}, 'mine/validation/7')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmdial_data.exports._carry import CARRY_KEY, dialogue_loss, iter_dialogues, meta_loss, original_id, turn_loss
from mmdial_data.readers import dialogstudio as reader
from mmdial_data.readers._unify import SOURCE_SPLIT
from mmdial_data.schema import Dialogue, Turn
from mmdial_data.splits import is_canonical_split

FILE_NAME = "converted_examples.json"
USER, SYSTEM, HISTORY = reader.USER, reader.SYSTEM, reader.HISTORY
USER_INFO, SYSTEM_INFO = reader.USER_INFO, reader.SYSTEM_INFO
_NAME = re.compile(r"^(?!.*--)[^/\\\s-][^/\\\s]*$")
_SPLIT = re.compile(r"^[^-\s/]+(?:-[^-\s/]+)*$")
#: Entry fields a user turn's ``extra`` holds that are not ``other fields`` of the entry.
_ENTRY_KEYS = (USER, SYSTEM, HISTORY, USER_INFO, SYSTEM_INFO, "turn id", "dst", "dst accumulated", "intent")


def export_dialogstudio(
    data: Iterable[Dialogue] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dataset: str | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write dialogues as DialogStudio ``<DATASET>/converted_examples.json`` under ``out`` (atomically); returns
    dialogues per dataset.

    Args:
        data: Dialogues, or a build folder, Parquet shard folder or unified ``.parquet``/``.jsonl`` file.
        out: The output folder (new or empty, or ``overwrite``).
        dataset: The dataset name for every dialogue (default: a ``dialogstudio`` dialogue's own, else its source).
        overwrite: Replace an existing ``out``.

    Raises:
        OutputError: ``out`` exists (without ``overwrite``) or cannot be a folder.
        ValueError: A dataset or split name a key ``<DATASET>--<split>--<n>`` cannot hold, or no dialogue at all.
    """
    from mmdial_data.outputs import check_output, staged

    check_output(out, kind="dir", overwrite=overwrite)
    if dataset is not None:
        _check_name(dataset, "dataset", _NAME)
    groups: dict[str, list[tuple[Dialogue, dict[str, Any]]]] = {}
    for d in iter_dialogues(data):
        name = dataset or _dataset_of(d)
        _check_name(name, "dataset", _NAME)
        _check_name(d.split, "split", _SPLIT)
        groups.setdefault(name, []).append((d, _dialogue_dict(d)))
    if not groups:
        raise ValueError(f"{os.fspath(data) if isinstance(data, (str, os.PathLike)) else 'input'}: no dialogues")
    with staged(out, kind="dir", overwrite=overwrite) as tmp:
        for name, items in groups.items():
            converted = _keyed(name, items)
            folder = tmp / name
            folder.mkdir()
            (folder / FILE_NAME).write_text(json.dumps(converted, ensure_ascii=False, indent=2), encoding="utf-8")
    return {name: len(items) for name, items in groups.items()}


def _written_split(d: Dialogue, written: str) -> bool:
    """Whether a key's split ``written`` names ``d``'s split: the same name, or (a ``dialogstudio`` dialogue read
    from a key such as ``MULTIWOZ2_2--val--1``) the source's own name the reader kept in ``meta["source_split"]``,
    so such a key is written back as it was."""
    return written == d.split or (_native(d) and d.meta.get(SOURCE_SPLIT) == written)


def _check_name(name: str, what: str, pattern: re.Pattern[str]) -> None:
    if not pattern.match(name):
        raise ValueError(
            f"{what} name {name!r} cannot be part of a DialogStudio key <DATASET>--<split>--<n> (no '--', '/' or "
            "spaces, no leading '-')" + ("; pass --dataset NAME" if what == "dataset" else "")
        )


def _native(d: Dialogue) -> bool:
    return d.source == reader.SOURCE


def _dataset_of(d: Dialogue) -> str:
    name = d.meta.get("dataset") if _native(d) else None
    return name if isinstance(name, str) and name else d.source


def _roles(turns: list[Turn]) -> list[str]:
    other: dict[str, str] = {}
    return [
        t.role if t.role in ("user", "system") else other.setdefault(t.role, ("user", "system")[len(other) % 2])
        for t in turns
    ]


def _dst(state: dict[str, list[str]]) -> str:
    items = []
    for key, values in state.items():
        domain, _, slot = key.partition("-")
        items += [f"{domain} {slot} {v}".strip() for v in values or [""]]
    return reader.ITEM_SEPARATOR.join(items)


def _user_entry(t: Turn, native: bool, previous: dict[str, list[str]], number: int) -> dict[str, Any]:
    a = t.annotations
    entry: dict[str, Any]
    if native:
        entry = {k: v for k, v in a.extra.items() if k not in (HISTORY, CARRY_KEY)}
        entry[USER] = t.text
        entry.setdefault(SYSTEM, "")
        if "dst accumulated" not in entry and a.state:
            entry["dst accumulated"] = _dst(a.state)
        if a.intent is not None:
            entry["intent"] = a.intent
        if HISTORY in a.extra:
            entry[HISTORY] = a.extra[HISTORY]
    else:
        changed = {k: v for k, v in a.state.items() if previous.get(k) != v}
        entry = {
            "turn id": number,
            USER: t.text,
            SYSTEM: "",
            USER_INFO: dict(a.extra),
            SYSTEM_INFO: {},
            "dst": _dst(changed),
            "dst accumulated": _dst(a.state),
            "intent": a.intent or "",
        }
    if CARRY_KEY in a.extra:
        entry[CARRY_KEY] = a.extra[CARRY_KEY]
    return entry


def _system_only_entry(t: Turn, native: bool, number: int) -> dict[str, Any]:
    side = t.annotations.extra.get("user side") if native else None
    entry: dict[str, Any] = {"turn id": t.annotations.extra.get("turn id", number)} if native else {"turn id": number}
    if isinstance(side, dict):
        entry.update(side)
    else:
        entry.update({USER: "", USER_INFO: {}, "dst": "", "dst accumulated": "", "intent": ""})
    entry[USER] = ""
    return entry


def _add_system(entry: dict[str, Any], t: Turn, native: bool) -> None:
    entry[SYSTEM] = t.text
    extra = t.annotations.extra
    if native:
        if SYSTEM_INFO in extra:
            entry[SYSTEM_INFO] = extra[SYSTEM_INFO]
        else:
            entry.pop(SYSTEM_INFO, None)
        if "turn id" in extra:
            entry["turn id"] = extra["turn id"]
    else:
        entry[SYSTEM_INFO] = dict(extra)


def _dialogue_dict(d: Dialogue) -> dict[str, Any]:
    native = _native(d)
    log: list[dict[str, Any]] = []
    where: list[tuple[int, str]] = []  # (entry, "user" | "system") of each turn
    previous: dict[str, list[str]] = {}
    for t, role in zip(d.turns, _roles(d.turns), strict=True):
        if role == "user":
            log.append(_user_entry(t, native, previous, len(log) + 1))
            previous = t.annotations.state
            where.append((len(log) - 1, "user"))
            continue
        open_entry = (
            log
            and where
            and where[-1] == (len(log) - 1, "user")
            and not (native and SYSTEM in d.turns[len(where) - 1].annotations.extra)
        )
        if not open_entry:
            log.append(_system_only_entry(t, native, len(log) + 1))
        _add_system(log[-1], t, native)
        where.append((len(log) - 1, "system"))
    untexted = d.meta.get("log entries without text") if native else None
    if isinstance(untexted, list):
        log.extend(untexted)
    for i, entry in enumerate(log):
        if HISTORY not in entry:
            entry[HISTORY] = reader.dialog_history(log, i)
    raw: dict[str, Any]
    if native:
        raw = {k: v for k, v in d.meta.items() if k not in ("dataset", "key", "log entries without text", SOURCE_SPLIT)}
    else:
        raw = {
            "original dialog id": original_id(d),
            "dialog index": 0,
            "original dialog info": dict(d.meta),
            "external knowledge non-flat": {},
            "external knowledge": "",
            "dst knowledge": "",
            "intent knowledge": "",
            "prompt": [],
        }
    raw["log"] = log
    keys = [k for k in raw if k != "log"]
    raw = {**{k: raw[k] for k in keys[:3]}, "log": log, **{k: raw[k] for k in keys[3:]}}
    _carry_turns(d, raw, where, native)
    return raw


def _carry_turns(d: Dialogue, raw: dict[str, Any], where: list[tuple[int, str]], native: bool) -> None:
    """Each entry's ``mmdial``: what of its turns the reader would not give back."""
    key = "X--x--1"
    got = reader._dialogue(key, raw, None, Path("."), key).turns if any(t.text.strip() for t in d.turns) else []
    aligned = len(got) == len(d.turns)
    for i, (t, (entry, side)) in enumerate(zip(d.turns, where, strict=True)):
        lost = turn_loss(t, got[i] if aligned else None)
        if not native:
            lost.pop("extra", None)  # the whole extra is the entry's side information
        if lost:
            record = raw["log"][entry]
            carried = record.get(CARRY_KEY)
            if not isinstance(carried, dict) or set(carried) - {"user", "system"}:
                carried = {} if carried is None else {"before": carried}
            carried[side] = lost
            record[CARRY_KEY] = carried


def _keyed(name: str, items: list[tuple[Dialogue, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Keys ``<name>--<split>--<n>``: a ``dialogstudio`` dialogue's own where it is that and unique, others
    numbered from 1 per split after the largest kept number; the dialogue's ``mmdial`` record."""
    keys: dict[int, str] = {}
    top: dict[str, int] = {}
    for i, (d, _) in enumerate(items):
        own = d.meta.get("key") if _native(d) else None
        m = reader._KEY.match(own) if isinstance(own, str) else None
        if m and m["dataset"] == name and _written_split(d, m["split"]) and own not in keys.values():
            keys[i] = str(own)
            if m["n"].isdigit():
                top[d.split] = max(top.get(d.split, 0), int(m["n"]))
    out: dict[str, dict[str, Any]] = {}
    for i, (d, raw) in enumerate(items):
        if i not in keys:
            top[d.split] = top.get(d.split, 0) + 1
            keys[i] = f"{name}--{d.split}--{top[d.split]}"
            if not _native(d):
                raw["dialog index"] = top[d.split]
        m = reader._KEY.match(keys[i])
        assert m is not None
        got_id = f"{reader.SOURCE}/{d.split}/{m['dataset']}/{m['n']}"
        view = {"dataset": m["dataset"], "key": keys[i], **{k: v for k, v in raw.items() if k != "log"}}
        if not is_canonical_split(m["split"]):  # what the reader keeps of a key's own split name (``val``)
            view[SOURCE_SPLIT] = m["split"]
        untexted = [e for e in raw["log"] if not (str(e.get(USER, "")).strip() or str(e.get(SYSTEM, "")).strip())]
        if untexted:
            view["log entries without text"] = untexted
        lost = dialogue_loss(d, got_id, reader.SOURCE, meta_loss(d.meta, view) if _native(d) else {})
        if lost:
            if CARRY_KEY in d.meta and _native(d):
                lost.setdefault("meta", {})[CARRY_KEY] = d.meta[CARRY_KEY]
            raw[CARRY_KEY] = lost
        out[keys[i]] = raw
    return out
