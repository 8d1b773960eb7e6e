"""The ontology of a ConvLab-3 unified dataset, built from its dialogues: :func:`build_ontology`.

Every domain, slot (``is_categorical`` from the act lists; categorical values as ``possible_values``), intent,
state slot and dialogue act (with the speakers that use it), descriptions empty where unknown; used by
:func:`mmdial_data.exports.convlab3.export_convlab3`.
"""

from __future__ import annotations

import copy
from typing import Any

from mmdial_data.exports.convlab3_check import SPECIAL_VALUES
from mmdial_data.readers.convlab3 import ACT_TYPES


def _act_key(da: dict[str, Any]) -> tuple[str, str, str]:
    return (str(da.get("intent")), str(da.get("domain")), str(da.get("slot")))


def build_ontology(dialogues: list[dict[str, Any]], seed: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ConvLab-3 ontology for unified dialogues: ``seed`` domain entries first, then every domain, slot,
    intent, state slot and dialogue act the dialogues use (empty descriptions where none is known).

    >>> turn = {"speaker": "user", "utterance": "hi", "utt_idx": 0, "state": {"hotel": {"area": ""}},
    ...         "dialogue_acts": {"categorical": [{"intent": "inform", "domain": "hotel", "slot": "area",
    ...                                            "value": "north"}], "non-categorical": [], "binary": []}}
    >>> o = build_ontology([{"domains": ["hotel"], "goal": {}, "turns": [turn]}])
    >>> o["domains"]["hotel"]["slots"]["area"], o["state"]
    ({'description': '', 'is_categorical': True, 'possible_values': ['north']}, {'hotel': {'area': ''}})
    >>> o["dialogue_acts"]["categorical"]
    ["{'user': True, 'system': False, 'intent': 'inform', 'domain': 'hotel', 'slot': 'area'}"]
    """
    domains: dict[str, Any] = copy.deepcopy(seed) if isinstance(seed, dict) else {}
    intents: dict[str, Any] = {}
    state: dict[str, dict[str, str]] = {}
    acts: dict[str, dict[tuple[str, str, str], dict[str, bool]]] = {k: {} for k in ACT_TYPES}

    def slot(domain: str, name: str, categorical: bool | None = None, value: Any = None) -> None:
        entry = domains.setdefault(domain, {"description": "", "slots": {}})
        entry.setdefault("description", "")
        slots = entry.setdefault("slots", {})
        s = slots.setdefault(name, {"description": "", "is_categorical": bool(categorical), "possible_values": []})
        if s.get("is_categorical") and isinstance(value, str):
            known = {str(v).lower() for v in s["possible_values"]}
            for v in value.split("|"):
                if v.lower() not in SPECIAL_VALUES and v.lower() not in known:
                    s["possible_values"].append(v)
                    known.add(v.lower())

    for raw in dialogues:  # the act lists decide whether a slot is categorical, so acts come first
        for domain in raw.get("domains", []):
            domains.setdefault(domain, {"description": "", "slots": {}})
        for td in raw["turns"]:
            speaker = td.get("speaker")
            for kind, items in (td.get("dialogue_acts") or {}).items():
                for da in items:
                    intents.setdefault(str(da.get("intent")), {"description": ""})
                    if kind != "binary":
                        slot(str(da.get("domain")), str(da.get("slot")), kind == "categorical", da.get("value"))
                    users = acts.setdefault(kind, {}).setdefault(_act_key(da), {"user": False, "system": False})
                    users[str(speaker)] = True
    for raw in dialogues:
        goal = raw.get("goal", {})
        for part in ("inform", "request"):
            for domain, slots in (goal.get(part) or {}).items():
                for name, value in slots.items():
                    slot(domain, name, None, value)
        for td in raw["turns"]:
            for domain, slots in (td.get("state") or {}).items():
                for name, value in slots.items():
                    slot(domain, name, None, value)
                    state.setdefault(domain, {})[name] = ""
    dialogue_acts = {
        kind: sorted(
            repr({"user": u["user"], "system": u["system"], "intent": i, "domain": dom, "slot": s})
            for (i, dom, s), u in table.items()
        )
        for kind, table in acts.items()
    }
    return {"domains": domains, "intents": intents, "state": state, "dialogue_acts": dialogue_acts}
