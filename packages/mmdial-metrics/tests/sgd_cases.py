"""Prediction folders for the SGD parity tests, built from the real SGD sample (never copied into the repository).

``write_layout(sample, root)`` writes, under ``root``, the DSTC8 layout the official evaluator reads:

- ``data/dev/``: the sample's ``dialogues_001.json`` (30 Restaurants_1 dialogues) and ``dialogues_044.json``
  (8 Events_2 + Buses_2 dialogues) as gold, with the full ``schema.json``; ``data/train/schema.json``: the schema
  without :data:`UNSEEN` (so Buses_2 is an unseen service);
- ``reduced/dev/``, ``reduced/train/``: the same with an evaluation schema that lacks :data:`DROPPED_SLOTS`;
- ``pred/<case>/dialogues_*.json`` for every case of :data:`CASES`: the gold dialogues with deterministic
  corruptions of the USER frames (see :func:`corrupt`).

Run ``python packages/mmdial-metrics/tests/sgd_cases.py SAMPLE_DIR ROOT`` to write it (how the golden values
in ``golden/sgd_dstc8.json`` were made; see ``golden/README.md``).
"""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Services left out of the training schema: unseen in the evaluation.
UNSEEN = ("Buses_2",)
#: Slots left out of the evaluation schema of ``reduced/`` (gold and predicted values of these are then ignored).
DROPPED_SLOTS = {"Restaurants_1": ("city", "price_range"), "Events_2": ("date",)}
FILES = ("dialogues_001.json", "dialogues_044.json")

Frame = dict[str, Any]
Corruption = Callable[[Frame, dict[str, Any], random.Random], bool]


def _noncat(service: dict[str, Any]) -> set[str]:
    return {s["name"] for s in service["slots"] if not s["is_categorical"]}


def _cat(service: dict[str, Any]) -> set[str]:
    return {s["name"] for s in service["slots"] if s["is_categorical"]}


def _pick(rng: random.Random, names: set[str] | list[str]) -> str | None:
    names = sorted(names)
    return rng.choice(names) if names else None


def drop_value(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Drop one slot from the predicted state."""
    values = frame["state"]["slot_values"]
    slot = _pick(rng, list(values))
    return slot is not None and values.pop(slot) is not None


def change_case(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Upper-case (or lower-case an all-caps) every non-categorical value: fuzzy ignores it, exact does not."""
    values, done = frame["state"]["slot_values"], False
    for slot in sorted(set(values) & _noncat(service)):
        v = values[slot][0]
        new = v.lower() if v == v.upper() else v.upper()
        if new != v:
            values[slot] = [new, *values[slot][1:]]
            done = True
    return done


def lower_categorical(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Lower-case every categorical value ("True" -> "true", "Economy" -> "economy")."""
    values, done = frame["state"]["slot_values"], False
    for slot in sorted(set(values) & _cat(service)):
        if values[slot][0] != values[slot][0].lower():
            values[slot] = [values[slot][0].lower()]
            done = True
    return done


def fuzzy_near(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Make one non-categorical value near its reference: a dropped letter, shuffled words or added punctuation."""
    values = frame["state"]["slot_values"]
    slot = _pick(rng, set(values) & _noncat(service))
    if slot is None:
        return False
    v, kind = values[slot][0], rng.randrange(3)
    words = v.split()
    if kind == 0 and len(v) > 3:
        i = rng.randrange(1, len(v) - 1)
        new = v[:i] + v[i + 1 :]
    elif kind == 1 and len(words) > 1:
        new = " ".join(reversed(words))
    else:
        new = v + ", please" if rng.random() < 0.5 else "the " + v + "!"
    values[slot] = [new]
    return True


def none_values(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Predict "none" for a slot the reference does not have, or "none" / "" for one it has."""
    values = frame["state"]["slot_values"]
    free = [s["name"] for s in service["slots"] if s["name"] not in values]
    if free and (not values or rng.random() < 0.6):
        values[rng.choice(free)] = [rng.choice(["none", "None", ""])]
    else:
        values[rng.choice(sorted(values))] = [rng.choice(["none", ""])]
    return True


def unknown_slot(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Predict a slot the schema does not have (ignored by the official evaluator)."""
    frame["state"]["slot_values"]["not_in_schema"] = ["somewhere"]
    return True


def alt_value(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Predict the last alternative of a slot with several reference values (or a list with a wrong first value)."""
    values = frame["state"]["slot_values"]
    multi = [s for s in sorted(values) if len(values[s]) > 1]
    if multi:
        slot = rng.choice(multi)
        values[slot] = [values[slot][-1]]
        return True
    slot = _pick(rng, list(values))
    if slot is None:
        return False
    values[slot] = ["wrong value", *values[slot]]
    return True


def wrong_value(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Predict another valid-looking value: a possible value of a categorical slot, a made-up one otherwise."""
    values = frame["state"]["slot_values"]
    slot = _pick(rng, list(values))
    if slot is None:
        return False
    spec = next(s for s in service["slots"] if s["name"] == slot)
    others = [v for v in spec["possible_values"] if v != values[slot][0]]
    values[slot] = [rng.choice(others) if spec["is_categorical"] and others else "Mission Street"]
    return True


def wrong_intent(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Predict another intent of the service (or "NONE")."""
    state = frame["state"]
    intents = [i["name"] for i in service["intents"] if i["name"] != state["active_intent"]]
    state["active_intent"] = rng.choice([*intents, "NONE"])
    return True


def extra_requested(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Request one more slot of the schema (or drop a requested one)."""
    requested = frame["state"]["requested_slots"]
    if requested and rng.random() < 0.3:
        requested.pop(rng.randrange(len(requested)))
        return True
    free = [s["name"] for s in service["slots"] if s["name"] not in requested]
    requested.append(rng.choice(free))
    return True


def spans(frame: Frame, service: dict[str, Any], rng: random.Random) -> bool:
    """Drop one slot span, shift one, or drop the whole ``slots`` list (then slot tagging is not scored)."""
    if rng.random() < 0.3:
        frame.pop("slots", None)
        return True
    if not frame.get("slots"):
        return False
    i = rng.randrange(len(frame["slots"]))
    if rng.random() < 0.5:
        frame["slots"].pop(i)
    else:
        frame["slots"][i]["start"] += 1
    return True


CORRUPTIONS: dict[str, Corruption] = {
    f.__name__: f
    for f in (
        drop_value,
        change_case,
        lower_categorical,
        fuzzy_near,
        none_values,
        unknown_slot,
        alt_value,
        wrong_value,
        wrong_intent,
        extra_requested,
        spans,
    )
}

#: case -> (data folder, corruptions applied to every USER frame, or "mixed:<seed>" for a seeded mixture).
CASES: dict[str, tuple[str, str]] = {
    "oracle": ("data", ""),
    "change_case": ("data", "change_case"),
    "lower_categorical": ("data", "lower_categorical"),
    "none_values": ("data", "none_values"),
    "unknown_slot": ("data", "unknown_slot"),
    "fuzzy_near": ("data", "fuzzy_near"),
    "alt_value": ("data", "alt_value"),
    "mixed": ("data", "mixed:0"),
    "mixed_heavy": ("data", "mixed:1"),
    "mixed_reduced_schema": ("reduced", "mixed:0"),
}


def corrupt(dialogues: list[dict[str, Any]], schema: dict[str, dict[str, Any]], spec: str, seed: int) -> int:
    """Apply ``spec`` in place to the USER frames (in file, turn, frame order); returns the frames changed.

    ``spec`` is a corruption name (applied to every frame), "" (none) or ``mixed:<seed>``: each frame with
    probability 0.25 (0.6 for an odd seed) gets one or two corruptions drawn from :data:`CORRUPTIONS`."""
    rng = random.Random(seed)
    mixed = spec.startswith("mixed:")
    rate = 0.6 if mixed and int(spec.split(":")[1]) % 2 else 0.25
    changed = 0
    for dialogue in dialogues:
        for turn in dialogue["turns"]:
            if turn["speaker"] != "USER":
                continue
            for frame in turn["frames"]:
                service = schema[frame["service"]]
                if mixed:
                    if rng.random() >= rate:
                        continue
                    names = rng.sample(sorted(CORRUPTIONS), rng.choice([1, 2]))
                else:
                    names = [spec] if spec else []
                done = [CORRUPTIONS[n](frame, service, rng) for n in names]
                changed += any(done)
    return changed


def write_layout(sample: Path, root: Path) -> dict[str, Path]:
    """Write the gold folders and one prediction folder per case under ``root``; returns case -> folder."""
    schema_list = json.loads((sample / "schema.json").read_text(encoding="utf-8"))
    gold = {name: json.loads((sample / name).read_text(encoding="utf-8")) for name in FILES}
    reduced = copy.deepcopy(schema_list)
    for service in reduced:
        drop = DROPPED_SLOTS.get(service["service_name"], ())
        service["slots"] = [s for s in service["slots"] if s["name"] not in drop]
    train = [s for s in schema_list if s["service_name"] not in UNSEEN]
    for folder, eval_schema in (("data", schema_list), ("reduced", reduced)):
        (root / folder / "dev").mkdir(parents=True, exist_ok=True)
        (root / folder / "train").mkdir(parents=True, exist_ok=True)
        (root / folder / "dev" / "schema.json").write_text(json.dumps(eval_schema, indent=2), encoding="utf-8")
        (root / folder / "train" / "schema.json").write_text(json.dumps(train, indent=2), encoding="utf-8")
        for name, dialogues in gold.items():
            (root / folder / "dev" / name).write_text(json.dumps(dialogues), encoding="utf-8")
    schema = {s["service_name"]: s for s in schema_list}
    out = {}
    for seed, (case, (_folder, spec)) in enumerate(CASES.items()):
        pred = root / "pred" / case
        pred.mkdir(parents=True, exist_ok=True)
        for i, (name, dialogues) in enumerate(gold.items()):
            dialogues = copy.deepcopy(dialogues)
            corrupt(dialogues, schema, spec, seed=int(spec.split(":")[1]) * 10 + i if ":" in spec else seed)
            (pred / name).write_text(json.dumps(dialogues), encoding="utf-8")
        out[case] = pred
    return out


if __name__ == "__main__":
    print(json.dumps({k: str(v) for k, v in write_layout(Path(sys.argv[1]), Path(sys.argv[2])).items()}))
