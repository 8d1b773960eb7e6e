"""Prediction files for the mwzeval parity tests, built deterministically from the real MultiWOZ 2.1 sample.

Imported by ``test_multiwoz_eval.py`` and by the (out-of-repository) script that ran mwzeval once to produce
``data/multiwoz_golden.json`` (see ``data/multiwoz_golden.md``). Plain Python: no mmdial import except the
delexicaliser, so the same cases feed both implementations.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mmdial_metrics.multiwoz.goals import ACT_SLOT_NAMES, delexicalize_tokens

_SKIP = ("", "not mentioned", "none", "dontcare")
_PREFIXED = {"name", "phone", "address", "postcode"}


def raw_state(metadata: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The annotated belief state of a system turn, as MultiWOZ spells it (``arriveBy``, ``people``...)."""
    state: dict[str, dict[str, str]] = {}
    for domain, meta in metadata.items():
        slots = dict(meta.get("semi") or {})
        slots.update({"book" + k: v for k, v in (meta.get("book") or {}).items() if k != "booked"})
        kept = {k: v for k, v in slots.items() if isinstance(v, str) and v not in _SKIP}
        if kept:
            state[domain] = kept
    return state


def _domain_style(text: str, spans: list[Any]) -> str:
    tokens = text.split()
    out: list[str] = []
    position = 0
    for act, slot, value, start, end in sorted(spans, key=lambda s: s[3]):
        if start < position or value == "dontcare" or start >= len(tokens):
            continue
        name = ACT_SLOT_NAMES.get(slot.lower(), slot.lower()).removeprefix("value_")
        domain = act.split("-")[0].lower()
        if name in _PREFIXED and domain in ("restaurant", "hotel", "attraction"):
            placeholder = f"[{domain}_{name}]"
        elif name == "id":
            placeholder = "[train_id]"
        else:
            placeholder = f"[{ACT_SLOT_NAMES.get(slot.lower(), 'value_' + name)}]"
        out.extend(tokens[position:start])
        out.append(placeholder)
        position = end + 1
    out.extend(tokens[position:])
    return " ".join(out)


def _active(turn: dict[str, Any]) -> list[str]:
    domains = {act.split("-")[0].lower() for act in turn.get("dialog_act") or {}}
    return sorted(domains - {"general", "booking"})


def build_cases(val_json: str | Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Named prediction sets ``{case: {dialogue_id: [turn, ...]}}`` (ids lowercase, as mwzeval wants them)."""
    data = json.loads(Path(val_json).read_text(encoding="utf-8"))
    cases: dict[str, dict[str, list[dict[str, Any]]]] = {
        k: {}
        for k in (
            "delex_state",
            "delex_gold_states",
            "delex_domains",
            "no_names",
            "wrong_state",
            "lexicalised",
            "domain_style",
            "dst_noisy",
        )
    }
    counter = 0
    for dialogue_id, dialogue in data.items():
        key = dialogue_id.lower().removesuffix(".json")
        for case in cases.values():
            case[key] = []
        for turn in dialogue["log"][1::2]:
            counter += 1
            delex = delexicalize_tokens(turn["text"], turn["span_info"])
            state = raw_state(turn["metadata"])
            cases["delex_state"][key].append({"response": delex, "state": state})
            cases["delex_gold_states"][key].append({"response": delex})
            cases["delex_domains"][key].append({"response": delex, "state": state, "active_domains": _active(turn)})
            no_names = delex.replace("[value_name]", "it").replace("[value_id]", "it")
            cases["no_names"][key].append({"response": no_names, "state": state})
            wrong = copy.deepcopy(state)
            for slots in wrong.values():
                if "area" in slots:
                    slots["area"] = "north" if slots["area"] != "north" else "south"
                if "day" in slots:
                    slots["day"] = "monday" if slots["day"] != "monday" else "sunday"
            cases["wrong_state"][key].append({"response": delex, "state": wrong})
            cases["lexicalised"][key].append({"response": turn["text"], "state": state})
            styled = _domain_style(turn["text"], turn["span_info"])
            if counter % 3 == 0:
                styled = " ".join(styled.split()[:-1])
            cases["domain_style"][key].append({"response": styled, "state": state})
            noisy = copy.deepcopy(state)
            for slots in noisy.values():
                names = sorted(slots)
                if counter % 4 == 0 and names:
                    del slots[names[0]]
                elif counter % 5 == 0 and "name" in slots:
                    slots["name"] = slots["name"] + "s"
                elif counter % 7 == 0 and names:
                    slots[names[-1]] = "cheap"
            cases["dst_noisy"][key].append({"response": delex, "state": noisy})
    return cases


def raw_references(val_json: str | Path) -> dict[str, list[str]]:
    """Per dialogue, the system turns delexicalised (not yet normalised)."""
    data = json.loads(Path(val_json).read_text(encoding="utf-8"))
    return {
        k.lower().removesuffix(".json"): [delexicalize_tokens(t["text"], t["span_info"]) for t in d["log"][1::2]]
        for k, d in data.items()
    }


def gold_raw_states(val_json: str | Path) -> dict[str, list[dict[str, dict[str, str]]]]:
    """Per dialogue, per system turn, :func:`raw_state`."""
    data = json.loads(Path(val_json).read_text(encoding="utf-8"))
    return {
        k.lower().removesuffix(".json"): [raw_state(t["metadata"]) for t in d["log"][1::2]] for k, d in data.items()
    }


def load_mwz22_sample(path: str | Path) -> list[dict[str, Any]]:
    """MultiWOZ 2.2 dialogue records (DialogStudio's ``original_examples.json`` holds 5)."""
    return list(json.loads(Path(path).read_text(encoding="utf-8")))


def synthetic_dialog_acts(dialogues: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """A ``dialog_acts.json``-shaped span table for the system turns (the sample has none).

    Each value of the dialogue's user states (3+ characters) found case-insensitively in a system utterance
    becomes a span ``[Domain-Inform, slot, value, start, end]`` (character offsets, first occurrence).
    """
    acts: dict[str, dict[str, dict[str, Any]]] = {}
    for dialogue in dialogues:
        values: dict[tuple[str, str], str] = {}
        for turn in dialogue["turns"][0::2]:
            for frame in turn.get("frames", []):
                for name, vals in frame["state"]["slot_values"].items():
                    domain, slot = name.split("-", 1)
                    for v in vals:
                        if len(v) >= 3 and v != "dontcare":
                            values[(domain, slot)] = v
        table: dict[str, dict[str, Any]] = {}
        for turn in dialogue["turns"][1::2]:
            text = turn["utterance"].lower()
            spans = []
            for (domain, slot), value in sorted(values.items()):
                start = text.find(value.lower())
                if start >= 0:
                    spans.append([f"{domain.capitalize()}-Inform", slot, value, start, start + len(value)])
            table[turn["turn_id"]] = {"dialog_act": {}, "span_info": spans}
        acts[dialogue["dialogue_id"]] = table
    return acts


def perturb_states(states: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A copy of ``{dialogue_id: [state, ...]}`` with every 3rd turn missing a slot, every 4th a wrong area."""
    noisy = copy.deepcopy(states)
    n = 0
    for turns in noisy.values():
        for state in turns:
            n += 1
            for slots in state.values():
                if n % 3 == 0 and slots:
                    del slots[sorted(slots)[0]]
                elif n % 4 == 0 and "area" in slots:
                    slots["area"] = "north"
    return noisy


def normalization_inputs() -> tuple[list[list[str]], list[str]]:
    """Hand-written (slot, value) pairs and responses covering every branch of mwzeval's normalisation."""
    from mmdial_metrics.multiwoz.aliases import (
        FOODS,
        NAMES_ATTRACTION,
        NAMES_HOTEL,
        NAMES_RESTAURANT,
        SLOT_NAME_GROUPS,
        TIMES_EXACT,
        TYPES,
    )

    times = [
        *TIMES_EXACT,
        "one o'clock p.m. please",
        "ten o'clock a.m",
        "by 17:45",
        "after 5 pm",
        "afer 11:00",
        "5:30pm",
        "7 p.m.",
        "10am",
        "9:15 a.m.",
        "",
        "12:30.",
        "1545",
        "7",
        "1 : 15",
        "9:05",
        "tomorrow",
        "14:00?",
        "by",
        "after",
        " 08:30 ",
    ]
    pairs = [[s, t] for s in ("arrive", "leave", "time", "arriveby", "leaveat") for t in times]
    names = [
        *NAMES_RESTAURANT,
        *NAMES_HOTEL,
        *NAMES_ATTRACTION,
        "  Pizza Hut & Grill ",
        "caffe & uno",
        "rosa 's",
        "The Cambridge Belfry",
    ]
    pairs += [[s, n] for s in ("name", "destination", "departure") for n in names]
    pairs += [["type", t] for t in [*TYPES, "Guest House", "hotel"]]
    pairs += [["food", f] for f in [*FOODS, " Italian ", "chinese"]]
    pairs += [[s, v] for s in ("parking", "internet") for v in ("free", "yes", "no", "Free")]
    pairs += [["area", "Centre"], ["stars", "4"], ["day", "Monday"]]
    names_flat = [n for group in SLOT_NAME_GROUPS.values() for n in group]
    responses = [f"the [{n}]{suffix} is here ." for n in names_flat for suffix in ("", "s", "-s")]
    responses += [
        "[value_count] hotel -s are available , all cheap -ly priced .",
        "I 'd book [RESTAURANT_NAME] & [hotel_name]'s room at [value_time] ; ok ?",
        "unknown [foo_bar] slot and [value_choice]es choices ...",
        "It 's 5 pm , isn't it ? \"Yes\" ( maybe ) - sure !",
        "Price : 10.50 GBP / person , ref # [value_reference] .",
        "",
    ]
    return pairs, responses
