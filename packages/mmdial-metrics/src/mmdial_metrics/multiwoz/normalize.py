"""mwzeval's text and state normalisation, reimplemented: slot placeholders, responses, slot names and values.

mwzeval (Tomiinek/MultiWOZ_Evaluation) normalises every prediction before scoring it:

- a response is lowercased, each ``[slot]`` placeholder (with an optional plural suffix ``s``/``es``/``-s``/``-es``)
  becomes one unified name (``[value_food]``, ``[restaurant_food]`` and ``[food]`` all become ``FOOD``), ``-s`` and
  ``-ly`` are removed, and the text is Moses-tokenised then Moses-detokenised (``sacremoses``, English);
- a state's slot names are lowercased without spaces (``arriveBy`` -> ``arrive``, ``leaveAt`` -> ``leave``) and its
  values canonicalised (venue-name, food and type aliases, times to ``HH:MM``, parking/internet ``free`` -> ``yes``).

Example:
    >>> normalize_slot_name("restaurant_food"), normalize_slot_name("value_count")
    ('FOOD', 'COUNT')
    >>> normalize_slot_value("leave", "after 5 pm"), normalize_slot_value("type", "guest house")
    ('17:00', 'guesthouse')
    >>> time_to_minutes("07:15"), time_to_minutes("noon")
    (435, 0)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from mmdial_metrics.multiwoz.aliases import (
    FOODS,
    NAMES_ATTRACTION,
    NAMES_HOTEL,
    NAMES_RESTAURANT,
    SLOT_NAME_GROUPS,
    TIMES_EXACT,
    TYPES,
)

__all__ = [
    "SLOT_NAME_GROUPS",
    "normalize_predictions",
    "normalize_response",
    "normalize_slot_name",
    "normalize_slot_value",
    "normalize_state",
    "time_to_minutes",
]

_SLOT_NAME = {name: unified for unified, names in SLOT_NAME_GROUPS.items() for name in names}
_PLACEHOLDER = re.compile(r"\[([\w\s\d]+)\](es|s|-s|-es|)")
_HHMM = re.compile(r"[0-9][0-9]:[0-9][0-9]")


def normalize_slot_name(name: str) -> str:
    """The unified placeholder name of a delexicalisation slot (``''`` for a name mwzeval does not know)."""
    return _SLOT_NAME.get(name.lower(), "")


def _canonical_name(name: str) -> str:
    name = name.strip().lower().replace(" & ", " and ").replace("&", " and ").replace(" '", "'")
    for table in (NAMES_RESTAURANT, NAMES_HOTEL, NAMES_ATTRACTION):
        if name in table:
            return table[name]
    return name


def _canonical_time(time: str) -> str:
    time = time.strip().lower()
    if time in TIMES_EXACT:
        return TIMES_EXACT[time]
    if time.startswith("one o'clock p.m"):
        return "13:00"
    if time.startswith("ten o'clock a.m"):
        return "10:00"
    if time.startswith("by"):
        time = time[3:]
    if time.startswith("after"):
        time = time[5:].strip()
    if time.startswith("afer"):
        time = time[4:].strip()
    if time.endswith("am"):
        time = time[:-2].strip()
    if time.endswith("a.m."):
        time = time[:-4].strip()
    if time.endswith("pm") or time.endswith("p.m."):
        if time.endswith("pm"):
            time = time[:-2].strip()
        if time.endswith("p.m."):
            time = time[:-4].strip()
        parts = time.split(":")
        if len(parts) == 2:
            return str(int(parts[0]) + 12) + ":" + parts[1]
        if len(parts) == 1 and parts[0].isdigit():
            return str(int(parts[0]) + 12) + ":00"
    if not time:
        return "00:00"
    if time[-1] in ".,?":
        time = time[:-1]
    if time.isdigit() and len(time) == 4:
        return time[:2] + ":" + time[2:]
    if time.isdigit():
        return time.zfill(2) + ":00"
    if ":" in time:
        time = "".join(time.split(" "))
    if len(time) == 4 and time[1] == ":":
        hours, minutes = time.split(":")
        return hours.zfill(2) + ":" + minutes
    return time


def normalize_slot_value(slot: str, value: Any) -> Any:
    """A state value in the form the MultiWOZ database uses (``slot`` already normalised, e.g. ``arrive``)."""
    if slot in ("name", "destination", "departure"):
        return _canonical_name(value)
    if slot == "type":
        return TYPES.get(value, value)
    if slot == "food":
        food = value.strip().lower()
        return FOODS.get(food, food)
    if slot in ("arrive", "leave", "arriveby", "leaveat", "time"):
        return _canonical_time(value)
    if slot in ("parking", "internet"):
        return "yes" if value == "free" else value
    return value


def _slot_key(slot: str) -> str:
    slot = slot.lower().replace(" ", "")
    return {"arriveby": "arrive", "leaveat": "leave"}.get(slot, slot)


def normalize_state(state: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{domain: {slot: value}}`` with normalised slot names and values (a new dict)."""
    out: dict[str, dict[str, Any]] = {}
    for domain, slots in state.items():
        new: dict[str, Any] = {}
        for slot, value in slots.items():
            key = _slot_key(slot)
            new[key] = normalize_slot_value(key, value)
        out[domain] = new
    return out


def time_to_minutes(time: str) -> int:
    """Minutes since midnight of an ``HH:MM`` string (0 when it does not start with that pattern)."""
    if not _HHMM.match(time):
        return 0
    hours, minutes = time.split(":")[:2]
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=1)
def _moses() -> tuple[Any, Any]:
    try:
        from sacremoses import MosesDetokenizer, MosesTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(
            "the MultiWOZ evaluator needs sacremoses for mwzeval's response normalisation; "
            "install it with: pip install 'mmdial-metrics[multiwoz]'"
        ) from exc
    return MosesTokenizer(lang="en"), MosesDetokenizer(lang="en")


def normalize_response(text: str) -> str:
    """A response as mwzeval scores it: lowercased, placeholders unified, Moses tokenised and detokenised.

    Needs ``sacremoses``. Example: ``"[value_name] is in the [value_area] ."`` -> ``"NAME is in the AREA."``.
    """
    if not isinstance(text, str):
        raise ValueError(f"a response must be a string, got {type(text).__name__}; give each turn a 'response' text")
    tokenizer, detokenizer = _moses()
    text = _PLACEHOLDER.sub(lambda m: normalize_slot_name(m.group(1)), text.lower())
    return str(detokenizer.detokenize(tokenizer.tokenize(text.replace("-s", "").replace("-ly", ""))))


def normalize_predictions(predictions: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A normalised deep copy of mwzeval-format predictions ``{dialogue_id: [turn, ...]}``.

    Each turn's ``response`` is passed through :func:`normalize_response` and its ``state`` (if any) through
    :func:`normalize_state`; other keys are kept. The input is not modified (mwzeval normalises in place).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for dialogue_id, turns in predictions.items():
        new_turns = []
        for turn in turns:
            new = copy.deepcopy(dict(turn))
            new["response"] = normalize_response(turn["response"])
            if "state" in turn:
                new["state"] = normalize_state(turn["state"])
            new_turns.append(new)
        out[dialogue_id] = new_turns
    return out
