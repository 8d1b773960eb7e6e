"""Goals, booked domains, gold states and BLEU references built from the MultiWOZ files a user has.

mwzeval bundles these (``goals.json``, ``booked_domains.json``) or downloads MultiWOZ 2.2 to build them (the
``mwz22`` references and gold states); its repository has no licence, so mmdial rebuilds them from MultiWOZ
(MIT) instead:

- from a MultiWOZ 2.0/2.1 ``data.json`` (or ConvLab's ``val.json``/``test.json``, same schema):
  :func:`goals_from_data` (equal to mwzeval's ``goals.json`` entries: ``info`` with normalised slot names and
  values as ``informable``; ``phone``/``address``/``postcode``/``reference``/``trainID`` of ``reqt`` plus
  ``REFERENCE`` when the domain has a booking as ``requestable``), :func:`booked_domains_from_data` (domains with a
  booking in the system turn's ``metadata``, taxi excluded, as mwzeval's file), :func:`states_from_data` (the
  annotated belief state per system turn) and :func:`references_from_data` (system turns delexicalised with their
  ``span_info``);
- from MultiWOZ 2.2 (``dialogues_*.json`` records and ``dialog_acts.json``): :func:`states_from_mwz22` and
  :func:`references_from_mwz22`, mwzeval's canonical ``mwz22`` reference and gold states.

Dialogue ids are mwzeval's: lowercase, without ``.json`` (:func:`dialogue_key`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mmdial_metrics.multiwoz.normalize import normalize_response, normalize_slot_value, normalize_state

__all__ = [
    "ACT_SLOT_NAMES",
    "booked_domains_from_data",
    "delexicalize_tokens",
    "dialogue_key",
    "goals_from_data",
    "load_data",
    "load_mwz22",
    "references_from_data",
    "references_from_mwz22",
    "states_from_data",
    "states_from_mwz22",
]

_GOAL_DOMAINS = ("taxi", "police", "hospital", "hotel", "attraction", "train", "restaurant")
_REQUESTABLE = {
    "phone": "PHONE",
    "address": "ADDRESS",
    "postcode": "POST",
    "reference": "REFERENCE",
    "trainID": "TRAINID",
}
_NOT_SET = ("", "not mentioned", "none")


def dialogue_key(dialogue_id: str) -> str:
    """mwzeval's id of a dialogue: ``"PMUL1635.json"`` -> ``"pmul1635"``."""
    key = str(dialogue_id).strip().lower()
    return key[: -len(".json")] if key.endswith(".json") else key


def load_data(path: str | Path) -> dict[str, Any]:
    """A MultiWOZ 2.0/2.1 ``data.json``-format file, keyed by :func:`dialogue_key`."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not all(isinstance(d, dict) and "log" in d for d in raw.values()):
        raise ValueError(f"{path}: not a MultiWOZ data.json file ({{dialogue_id: {{goal, log}}}}); pass data.json")
    return {dialogue_key(k): v for k, v in raw.items()}


def _slot(name: str) -> str:
    name = name.lower().replace(" ", "")
    return {"arriveby": "arrive", "leaveat": "leave"}.get(name, name)


def goals_from_data(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per dialogue ``{domain: {"informable": {...}, "requestable": [...], "booking": {...} or []}}``."""
    goals: dict[str, dict[str, Any]] = {}
    for dialogue_id, dialogue in data.items():
        goal: dict[str, Any] = {}
        for domain in dialogue.get("goal", {}):
            spec = dialogue["goal"][domain]
            if domain not in _GOAL_DOMAINS or not spec:
                continue
            informable = {_slot(k): normalize_slot_value(_slot(k), v) for k, v in spec.get("info", {}).items()}
            requestable = [_REQUESTABLE[s] for s in spec.get("reqt", []) if s in _REQUESTABLE]
            booking: Any = []
            if "book" in spec:
                requestable.append("REFERENCE")
                booking = {k: v for k, v in spec["book"].items() if k not in ("invalid", "pre_invalid")}
            goal[domain] = {"informable": informable, "requestable": requestable, "booking": booking}
        goals[dialogue_key(dialogue_id)] = goal
    return goals


def _system_turns(dialogue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(dialogue["log"][1::2])


def booked_domains_from_data(data: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Per dialogue, per system turn: the domains (taxi excluded) with a booking made by then."""
    return {
        dialogue_key(did): [
            [
                dom
                for dom, m in (t.get("metadata") or {}).items()
                if dom != "taxi" and isinstance(m, dict) and (m.get("book") or {}).get("booked")
            ]
            for t in _system_turns(d)
        ]
        for did, d in data.items()
    }


def states_from_data(data: Mapping[str, Any]) -> dict[str, list[dict[str, dict[str, str]]]]:
    """Per dialogue, per system turn: the annotated belief state ``{domain: {slot: value}}`` (normalised).

    Slots of ``semi`` and ``book`` (except ``booked``) whose value is set and not ``dontcare``; book slots are
    named as MultiWOZ 2.2 names them (``bookday``, ``bookpeople``, ...). mwzeval's own gold states come from
    MultiWOZ 2.2 (:func:`states_from_mwz22`), whose annotation corrects 2.1's in places.
    """
    out = {}
    for did, dialogue in data.items():
        states = []
        for turn in _system_turns(dialogue):
            state: dict[str, dict[str, str]] = {}
            for domain, meta in (turn.get("metadata") or {}).items():
                slots = {k: v for k, v in (meta.get("semi") or {}).items()}
                slots.update({"book" + k: v for k, v in (meta.get("book") or {}).items() if k != "booked"})
                kept = {k: v for k, v in slots.items() if isinstance(v, str) and v not in _NOT_SET and v != "dontcare"}
                if kept:
                    state[domain] = kept
            states.append(normalize_state(state))
        out[dialogue_key(did)] = states
    return out


#: MultiWOZ 2.1 ``span_info`` slot -> the placeholder written into delexicalised references (names mwzeval maps).
ACT_SLOT_NAMES = {
    "name": "value_name",
    "choice": "value_choice",
    "ref": "value_reference",
    "type": "value_type",
    "area": "value_area",
    "addr": "value_address",
    "phone": "value_phone",
    "price": "value_price",
    "leave": "value_leave",
    "post": "value_postcode",
    "stars": "value_stars",
    "ticket": "value_price",
    "arrive": "value_arrive",
    "id": "value_id",
    "food": "value_food",
    "depart": "value_departure",
    "fee": "value_price",
    "car": "value_car",
    "dest": "value_destination",
    "time": "value_time",
    "people": "value_people",
    "day": "value_day",
    "stay": "value_stay",
    "open": "openhours",
    "department": "value_department",
}


def delexicalize_tokens(text: str, spans: Iterable[Any]) -> str:
    """``text`` with each ``span_info`` span (inclusive token offsets) replaced by its placeholder.

    The placeholder is the span slot's :data:`ACT_SLOT_NAMES` entry.

    Spans are taken in start order; one overlapping an earlier one, or whose value is ``dontcare``, is skipped.

    Example:
        >>> delexicalize_tokens("try the Allenbell .", [["Hotel-Recommend", "Name", "Allenbell", 2, 2]])
        'try the [value_name] .'
    """
    tokens = text.split()
    out: list[str] = []
    position = 0
    for _, slot, value, start, end in sorted(spans, key=lambda s: s[3]):
        if start < position or value == "dontcare" or start >= len(tokens):
            continue
        out.extend(tokens[position:start])
        out.append(f"[{ACT_SLOT_NAMES.get(slot.lower(), 'value_' + slot.lower())}]")
        position = end + 1
    out.extend(tokens[position:])
    return " ".join(out)


def references_from_data(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per dialogue, the system turns delexicalised with their ``span_info`` (token spans) and normalised."""
    return {
        dialogue_key(did): [
            normalize_response(delexicalize_tokens(t["text"], t.get("span_info") or [])) for t in _system_turns(d)
        ]
        for did, d in data.items()
    }


def load_mwz22(folder: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """MultiWOZ 2.2 dialogues (every ``dialogues_*.json`` under ``folder``) and ``dialog_acts.json`` ({} if absent)."""
    folder = Path(folder)
    files = sorted(folder.rglob("dialogues_*.json"))
    if not files:
        raise ValueError(f"{folder}: no MultiWOZ 2.2 dialogues_*.json files; pass the MultiWOZ_2.2 folder")
    dialogues: list[dict[str, Any]] = []
    for f in files:
        dialogues.extend(json.loads(f.read_text(encoding="utf-8")))
    acts_file = folder / "dialog_acts.json"
    acts = json.loads(acts_file.read_text(encoding="utf-8")) if acts_file.is_file() else {}
    return dialogues, acts


def _mwz22_state(turn: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    state: dict[str, dict[str, str]] = {}
    for frame in turn.get("frames", []):
        slots = {
            name.split("-")[1]: values[0]
            for name, values in frame["state"]["slot_values"].items()
            if "dontcare" not in values
        }
        if slots:
            state[frame["service"]] = slots
    return state


def states_from_mwz22(dialogues: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, dict[str, str]]]]:
    """mwzeval's gold states: per system turn, the preceding user turn's 2.2 state, ``dontcare`` dropped, normalised."""
    out = {}
    for dialogue in dialogues:
        turns = dialogue["turns"]
        out[dialogue_key(dialogue["dialogue_id"])] = [
            normalize_state(_mwz22_state(turns[i - 1])) for i in range(1, len(turns), 2)
        ]
    return out


def _delexicalize_chars(utterance: str, spans: list[Any]) -> str:
    text, previous = "", 0
    for _, slot, value, start, end in sorted(spans, key=lambda s: s[-2]):
        if start < previous or value == "dontcare":
            continue
        text += utterance[previous:start] + f"[{slot}]"
        previous = end
    return text + utterance[previous:]


def references_from_mwz22(
    dialogues: Iterable[Mapping[str, Any]], dialog_acts: Mapping[str, Any]
) -> dict[str, list[str]]:
    """mwzeval's ``mwz22`` references: system turns delexicalised with ``dialog_acts.json`` spans, normalised."""
    out = {}
    for dialogue in dialogues:
        acts = dialog_acts.get(dialogue["dialogue_id"], {})
        out[dialogue_key(dialogue["dialogue_id"])] = [
            normalize_response(
                _delexicalize_chars(t["utterance"], list(acts.get(t["turn_id"], {}).get("span_info", [])))
            )
            for t in dialogue["turns"][1::2]
        ]
    return out
