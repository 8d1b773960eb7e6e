"""MultiWOZ 2.x reader (the ``data.json`` format: 2.0, 2.1, ConvLab-2's ``train/val/test.json``).

Input: one JSON file whose top level maps dialogue ids (``"PMUL1635.json"`` in the official release, bare
``"PMUL1635"`` in ConvLab-2's split files) to ``{"goal": ..., "log": [...]}``, or a folder of such files.
The file is parsed incrementally (one dialogue at a time, with ``ijson`` when installed).

Turns alternate user (even index) and system (odd index); there is no speaker field. Per turn:
``dialog_act`` (``{"Hotel-Inform": [["Area", "east"], ...]}``) becomes one :class:`DialogueAct` per pair
(domain ``Hotel``, act ``Inform``, slot ``Area``, values ``["east"]``, kept verbatim including ``"none"``/``"?"``);
the system turn's ``metadata`` belief state becomes ``state`` (``"<domain>-<slot>"`` and
``"<domain>-book <slot>"`` for values other than ``""``/``"not mentioned"``) and is also kept verbatim in
``extra["metadata"]``; ``span_info`` (token offsets) goes to ``extra["span_info"]``. The goal, the active
domains and any other top-level field go to ``meta``. With ``data.json``, ``valListFile.txt``/``testListFile.txt``
beside it assign the splits (others are ``train``); without them the split is ``full``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, iter_json_object, iter_lines
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "multiwoz"
LICENSE = "MIT (budzianowski/multiwoz); ConvLab-2's MultiWOZ 2.1 copy: CC BY 4.0"
CITATION = (
    "Budzianowski et al. 2018, MultiWOZ - A Large-Scale Multi-Domain Wizard-of-Oz Dataset for "
    "Task-Oriented Dialogue Modelling, EMNLP"
)
#: Belief-state values that mean "no value" (kept in ``extra["metadata"]``, not in ``state``).
EMPTY_VALUES = ("", "not mentioned")
_GOAL_NON_DOMAINS = {"topic", "message"}


def read_multiwoz(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield MultiWOZ dialogues from a ``data.json``-style file or a folder of them.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_multiwoz(demo_dir() / "multiwoz" / "data.json", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[1].role, d.turns[1].annotations.state["hotel-area"]
        ('multiwoz/train/SNG0001', 'system', ['east'])
    """
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if _is_dialogue_file(p))
        if not files:
            raise SourceFormatError("no MultiWOZ dialogue file (data.json, train/val/test.json)", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _is_dialogue_file(p: Path) -> bool:
    return p.name == "data.json" or p.stem.split("_")[0] in ("train", "val", "valid", "test", "dev")


def _list_file(folder: Path, name: str) -> set[str]:
    for candidate in (folder / f"{name}.txt", folder / f"{name}.json"):
        if candidate.exists():
            return {_bare_id(line.strip()) for _, line in iter_lines(candidate) if line.strip()}
    return set()


def _bare_id(raw: str) -> str:
    return raw[: -len(".json")] if raw.endswith(".json") else raw


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    val_ids: set[str] = set()
    test_ids: set[str] = set()
    if file.name == "data.json" and split is None:
        val_ids, test_ids = _list_file(file.parent, "valListFile"), _list_file(file.parent, "testListFile")
    default_split = split or ("full" if file.name == "data.json" and not (val_ids or test_ids) else infer_split(file))
    try:
        for key, raw in iter_json_object(file):
            record = f"dialogue {key}"
            bare = _bare_id(key)
            split_name = default_split
            if bare in val_ids:
                split_name = "val"
            elif bare in test_ids:
                split_name = "test"
            elif val_ids or test_ids:
                split_name = "train"
            dialogue = build_or_report(
                partial(_dialogue, key, raw, split_name, file, record), policy, path=file, record=record
            )
            if dialogue is not None:
                yield dialogue
    except SourceFormatError as exc:  # truncated/malformed file: nothing after this point can be read
        policy.handle(exc)


def _dialogue(key: str, raw: Any, split: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(raw, dict) and isinstance(raw.get("log"), list), "missing 'log' list", path=file, record=record)
    expect(bool(raw["log"]), "empty 'log'", path=file, record=record)
    turns = []
    for i, t in enumerate(raw["log"]):
        expect(isinstance(t, dict) and isinstance(t.get("text"), str), f"turn {i}: no text", path=file, record=record)
        is_user = i % 2 == 0
        turns.append(
            Turn(
                i,
                "USER" if is_user else "SYSTEM",
                "user" if is_user else "system",
                t["text"],
                annotations=_annotations(t, file, f"{record}, turn {i}"),
            )
        )
    goal = raw.get("goal", {})
    meta: dict[str, Any] = {
        "original_id": key,
        "domains": sorted(d for d, v in goal.items() if d not in _GOAL_NON_DOMAINS and isinstance(v, dict) and v)
        if isinstance(goal, dict)
        else [],
        "goal": goal,
    }
    rest = {k: v for k, v in raw.items() if k not in ("goal", "log")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{_bare_id(key)}", SOURCE, split, turns, meta)


def _annotations(t: dict[str, Any], file: Path, record: str) -> Annotations:
    acts: list[DialogueAct] = []
    extra: dict[str, Any] = {}
    dialog_act = t.get("dialog_act", {})
    if isinstance(dialog_act, dict):
        for name, pairs in dialog_act.items():
            domain, sep, act = name.partition("-")
            expect(bool(sep), f"dialog act {name!r} is not '<Domain>-<Act>'", path=file, record=record)
            expect(isinstance(pairs, list), f"dialog act {name!r}: expected a list of pairs", path=file, record=record)
            for pair in pairs:
                expect(
                    isinstance(pair, list) and len(pair) == 2,
                    f"dialog act {name!r}: expected [slot, value] pairs",
                    path=file,
                    record=record,
                )
                acts.append(DialogueAct(act, domain=domain, slot=str(pair[0]), values=[str(pair[1])]))
    if not isinstance(dialog_act, dict) or not dialog_act:
        # "No Annotation", {} (no act annotated) and other non-standard values are kept as they are
        extra["dialog_act"] = dialog_act
    state: dict[str, list[str]] = {}
    metadata = t.get("metadata") or {}
    expect(isinstance(metadata, dict), "metadata must be an object", path=file, record=record)
    for domain, slots in metadata.items():
        if not isinstance(slots, dict):
            continue
        for slot, value in (slots.get("semi") or {}).items():
            if isinstance(value, str) and value not in EMPTY_VALUES:
                state[f"{domain}-{slot}"] = [value]
        for slot, value in (slots.get("book") or {}).items():
            if slot != "booked" and isinstance(value, str) and value not in EMPTY_VALUES:
                state[f"{domain}-book {slot}"] = [value]
    if "metadata" in t:
        extra["metadata"] = metadata
    if "span_info" in t:
        extra["span_info"] = t["span_info"]
    rest = {k: v for k, v in t.items() if k not in ("text", "metadata", "dialog_act", "span_info")}
    if rest:
        extra["source_fields"] = rest
    return Annotations(dialogue_acts=acts, state=state, extra=extra)
