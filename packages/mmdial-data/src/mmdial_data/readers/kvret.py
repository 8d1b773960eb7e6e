"""KVRET / Stanford Multi-Domain (SMD) reader (Eric et al., 2017; in-car assistant dialogues over a KB).

Input: ``kvret_{train,dev,test}_public.json`` (or a folder of them; ``kvret_entities.json`` is skipped there):
a JSON list of ``{"dialogue": [{"turn": "driver" | "assistant", "data": {...}}, ...], "scenario": {"kb",
"task", "uuid"}}``.

Per turn (``driver`` -> role ``user``, ``assistant`` -> role ``system``): the utterance; ``extra["end_dialogue"]``;
on assistant turns, the wizard's annotation of that turn: ``slots`` (slot -> value) as ``state`` (one value per
slot, kept as written, trailing spaces included; it is turn-level, the values the wizard filled in at that turn,
not accumulated over the dialogue), ``requested`` (slot -> bool) verbatim in ``extra["requested"]`` and the
slots marked true as ``extra["requested_slots"]``. Any other field of a turn goes to ``extra``.

``meta``: ``uuid``, ``task`` (``{"intent": "schedule" | "navigate" | "weather"}``), ``domain`` (that intent),
``kb`` (the dialogue's knowledge base as the release has it: ``kb_title``, ``column_names`` and the ``items``
rows, ``null`` where the driver had no table), and any other scenario or dialogue field under
``source_fields``. The release's global ``kvret_entities.json`` (entity lists per slot) is not a dialogue file
and is refused as one.

Splits: the file name's split word (``train``, ``dev``, ``test``; ``dev`` becomes ``validation``: ``read_source``
gives the canonical name of :mod:`mmdial_data.splits`); a file naming none is ``train``. Dialogue ids are
``kvret/<split>/<uuid>``.

Licence: not stated for the data (the KVRET release by Stanford NLP; the samples come from HLTCHKUST/Mem2Seq,
whose LICENSE covers its code only). Cite Eric et al., "Key-Value Retrieval Networks for Task-Oriented
Dialogue", SIGDIAL 2017.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "kvret"
LICENSE = "not stated for the data (KVRET, Stanford NLP; redistributed in HLTCHKUST/Mem2Seq)"
CITATION = "Eric et al., Key-Value Retrieval Networks for Task-Oriented Dialogue, SIGDIAL 2017"
_ROLES = {"driver": "user", "assistant": "system"}


def read_kvret(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield KVRET dialogues from a ``kvret_<split>_public.json`` file or a folder of them.

    Args:
        path: A KVRET dialogues file, or a folder of them (``kvret_entities.json`` there is skipped).
        split: Override the split taken from the file name.
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_kvret(samples_dir("kvret") / "data" / "KVR", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.meta["domain"], [t.role for t in d.turns[:2]]
        ('kvret/dev/95c74b9f-b560-41ff-95da-6581d70514f9', 'schedule', ['user', 'system'])
        >>> d.turns[1].annotations.state["room"]
        ['conference room 100']
    """
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file() and "entities" not in p.stem)
        if not files:
            raise SourceFormatError("no KVRET kvret_*_public.json files in this folder", path=path)
    else:
        files = [path]
    for file in files:
        data = load_json(file)
        _check_format(data, file)
        split_name = split or infer_split(file)
        for index, raw in enumerate(data):
            uuid = raw.get("scenario", {}).get("uuid", "?") if isinstance(raw, dict) else "?"
            record = f"dialogue {index} ({uuid})"
            dialogue = build_or_report(
                partial(_dialogue, raw, split_name, file, record), policy, path=file, record=record
            )
            if dialogue is not None:
                yield dialogue


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not KVRET dialogues, whatever the error policy."""
    if isinstance(data, dict) and "poi" in data and "event" in data:
        raise SourceFormatError(
            "not KVRET dialogues: this is the entities file (entity lists per slot)", path=file, record="top level"
        )
    expect(isinstance(data, list), "not KVRET: expected a JSON list of dialogues", path=file, record="top level")
    expect(bool(data), "no dialogues in this file", path=file, record="top level")
    first = data[0]
    ok = (
        isinstance(first, dict)
        and isinstance(first.get("dialogue"), list)
        and isinstance(first.get("scenario"), dict)
        and all(isinstance(t, dict) and {"turn", "data"} <= t.keys() for t in first["dialogue"])
    )
    expect(
        ok, "not KVRET: dialogues need 'dialogue' turns (turn, data) and a 'scenario'", path=file, record="dialogue 0"
    )


def _dialogue(raw: Any, split: str, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("dialogue"), list) and isinstance(raw.get("scenario"), dict),
        "missing dialogue or scenario",
        path=file,
        record=record,
    )
    scenario = raw["scenario"]
    expect(
        isinstance(scenario.get("uuid"), str) and bool(scenario["uuid"]),
        "scenario has no uuid",
        path=file,
        record=record,
    )
    expect(bool(raw["dialogue"]), "no turns", path=file, record=record)
    turns = []
    for i, t in enumerate(raw["dialogue"]):
        where = f"{record}, turn {i}"
        expect(
            isinstance(t, dict) and t.get("turn") in _ROLES,
            f"unknown speaker {t.get('turn')!r}",
            path=file,
            record=where,
        )
        data = t.get("data")
        expect(
            isinstance(data, dict) and isinstance(data.get("utterance"), str), "no utterance", path=file, record=where
        )
        turns.append(Turn(i, t["turn"], _ROLES[t["turn"]], data["utterance"], annotations=_annotations(t, file, where)))
    task = scenario.get("task")
    meta: dict[str, Any] = {"uuid": scenario["uuid"], "task": task}
    if isinstance(task, dict) and isinstance(task.get("intent"), str):
        meta["domain"] = task["intent"]
    meta["kb"] = scenario.get("kb")
    rest = {k: v for k, v in scenario.items() if k not in ("uuid", "task", "kb")}
    rest.update({k: v for k, v in raw.items() if k not in ("dialogue", "scenario")})
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{scenario['uuid']}", SOURCE, split, turns, meta)


def _annotations(t: dict[str, Any], file: Path, record: str) -> Annotations:
    data = t["data"]
    extra: dict[str, Any] = {}
    state: dict[str, list[str]] = {}
    slots = data.get("slots")
    if slots is not None:
        expect(isinstance(slots, dict), "slots must be an object", path=file, record=record)
        state = {str(k): [str(v)] for k, v in slots.items()}
    requested = data.get("requested")
    if requested is not None:
        expect(isinstance(requested, dict), "requested must be an object", path=file, record=record)
        extra["requested"] = requested
        extra["requested_slots"] = [k for k, v in requested.items() if v is True]
    for k, v in data.items():
        if k not in ("utterance", "slots", "requested"):
            extra[k] = v  # end_dialogue and anything else
    if slots is not None and any(not isinstance(v, str) for v in slots.values()):
        extra["slots"] = slots  # values that are not strings are kept as they are
    rest = {k: v for k, v in t.items() if k not in ("turn", "data")}
    if rest:
        extra["turn_fields"] = rest
    return Annotations(state=state, extra=extra)
