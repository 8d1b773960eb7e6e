"""MultiWOZ 2.2 reader (the schema-guided layout of Zang et al., 2020).

Input: the ``MultiWOZ_2.2`` folder (``train/``, ``dev/``, ``test/`` with ``dialogues_*.json``, ``schema.json``
and ``dialog_acts.json`` at the top), one split folder, or one dialogues file (a JSON list of dialogues, such as
DialogStudio's ``original_examples.json``). ``schema.json`` and ``dialog_acts.json`` are looked up beside the
dialogues file and one folder up; both are optional.

Per turn (``speaker`` ``USER``/``SYSTEM`` -> role ``user``/``system``):

- ``state``: the ``slot_values`` of every frame, keyed by the release's own ``"<domain>-<slot>"`` slot names
  (``restaurant-food``), values as the list of acceptable surface forms;
- ``intent``: the first frame's ``active_intent`` other than ``"NONE"`` (every frame's intent stays in ``extra``);
- ``dialogue_acts``: the SGD-style ``actions`` of the frames (empty in the release) and the turn's entry of
  ``dialog_acts.json`` (``{"Restaurant-Inform": [["food", "chinese"]]}`` -> act ``Inform``, domain
  ``Restaurant``, slot ``food``, values ``["chinese"]``), in that order;
- ``extra["frames"]``: every frame without its ``actions`` and ``state.slot_values`` (so ``service``, the slot
  spans and ``copy_from`` slots in ``slots``, ``active_intent``, ``requested_slots``), plus the actions'
  ``canonical_values`` when present; ``extra["turn_id"]`` is the release's turn id; ``extra["span_info"]``
  and anything else of the ``dialog_acts.json`` entry go to ``extra`` too.

``meta``: ``original_id`` (``"SNG0001.json"``), ``services``, the ``schema`` of those services, and any other
top-level field under ``source_fields`` (DialogStudio adds ``filename``).

Splits: the release's folder names (``train``, ``dev``, ``test``; ``dev`` becomes ``validation``: ``read_source``
gives the canonical name of :mod:`mmdial_data.splits`); a file in no split folder whose name names none
(``original_examples.json``) is ``train``. Dialogue ids are ``multiwoz22/<split>/<id without .json>``.

Licence: MIT (budzianowski/multiwoz). Cite Zang et al., "MultiWOZ 2.2: A Dialogue Dataset with Additional
Annotation Corrections and State Tracking Baselines", NLP4ConvAI 2020.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "multiwoz22"
LICENSE = "MIT"
CITATION = (
    "Zang et al., MultiWOZ 2.2: A Dialogue Dataset with Additional Annotation Corrections and State Tracking "
    "Baselines, NLP4ConvAI 2020"
)
#: The release's split folders, in reading order.
SPLITS = ("train", "dev", "test")
#: The services (domains) of MultiWOZ; a file whose first dialogue uses another is not MultiWOZ 2.2.
DOMAINS = ("attraction", "bus", "hospital", "hotel", "police", "restaurant", "taxi", "train")
_ROLES = {"USER": "user", "SYSTEM": "system"}


def read_multiwoz22(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of a MultiWOZ 2.2 release folder, split folder or dialogues file.

    Args:
        path: The ``MultiWOZ_2.2`` folder, a split folder, or one JSON list of dialogues.
        split: Override the split taken from the folder or file name.
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> folder = samples_dir("multiwoz22") / "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2"
        >>> d = next(read_multiwoz22(folder, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].role, d.turns[0].annotations.state["restaurant-food"]
        ('multiwoz22/train/SSNG0007', 'user', ['chinese'])
        >>> d.turns[0].annotations.intent
        'find_restaurant'
    """
    loaded: dict[Path, Any] = {}  # dialog_acts.json, shared by the files of all splits, is loaded once
    for file, split_name in _files(path, split):
        yield from _read_file(file, split_name, policy, loaded)


def _files(path: Path, split: str | None) -> list[tuple[Path, str]]:
    if not path.is_dir():
        return [(path, split or infer_split(path))]
    split_dirs = [path / s for s in SPLITS if (path / s).is_dir()]
    if split_dirs:
        return [(f, split or d.name) for d in split_dirs for f in sorted(d.glob("dialogues_*.json"))]
    files = sorted(path.glob("dialogues_*.json")) or sorted(
        p for p in path.glob("*.json") if p.name not in ("schema.json", "dialog_acts.json")
    )
    if not files:
        raise SourceFormatError("no MultiWOZ 2.2 dialogues_*.json files (nor train/, dev/, test/)", path=path)
    return [(f, split or infer_split(f)) for f in files]


def _beside(file: Path, name: str) -> Path | None:
    for folder in (file.parent, file.parent.parent):
        if (folder / name).is_file():
            return folder / name
    return None


def _schemas(file: Path) -> dict[str, Any]:
    schema_path = _beside(file, "schema.json")
    if schema_path is None:
        return {}
    schema = load_json(schema_path)
    expect(
        isinstance(schema, list) and all(isinstance(s, dict) and "service_name" in s for s in schema),
        "schema.json must be a list of services with service_name",
        path=schema_path,
        record="top level",
    )
    return {s["service_name"]: s for s in schema}


def _read_file(file: Path, split: str, policy: ErrorPolicy, loaded: dict[Path, Any]) -> Iterator[Dialogue]:
    schemas = _schemas(file)
    acts_path = _beside(file, "dialog_acts.json")
    acts: dict[str, Any] = {}
    if acts_path is not None:
        if acts_path not in loaded:
            loaded.clear()
            loaded[acts_path] = load_json(acts_path)
        acts = loaded[acts_path]
        expect(isinstance(acts, dict), "dialog_acts.json must map dialogue ids to turns", path=acts_path, record="")
    data = load_json(file)
    _check_format(data, file, set(DOMAINS))
    for index, raw in enumerate(data):
        record = f"dialogue {index} ({raw.get('dialogue_id', '?') if isinstance(raw, dict) else '?'})"
        dialogue = build_or_report(
            partial(_dialogue, raw, split, schemas, acts, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _check_format(data: Any, file: Path, services: set[str]) -> None:
    """Refuse a file that is not MultiWOZ 2.2, whatever the error policy: a list of dialogues whose first one
    has SGD-style turns with frames of MultiWOZ services (SGD's own files have services like ``Restaurants_1``)."""
    expect(isinstance(data, list), "not MultiWOZ 2.2: expected a JSON list of dialogues", path=file, record="top level")
    expect(bool(data), "no dialogues in this file", path=file, record="top level")
    first = data[0]
    ok = (
        isinstance(first, dict)
        and isinstance(first.get("dialogue_id"), str)
        and isinstance(first.get("turns"), list)
        and all(isinstance(t, dict) and {"speaker", "utterance", "frames"} <= t.keys() for t in first["turns"])
    )
    expect(
        ok,
        "not MultiWOZ 2.2: dialogues need dialogue_id and turns with speaker, utterance, frames",
        path=file,
        record="dialogue 0",
    )
    used = set(first.get("services") or []) | {f.get("service") for t in first["turns"] for f in t["frames"]}
    unknown = sorted(str(s) for s in used - services)
    expect(
        not unknown, f"not MultiWOZ 2.2: services {unknown} are not MultiWOZ domains", path=file, record="dialogue 0"
    )


def _bare_id(raw: str) -> str:
    return raw[: -len(".json")] if raw.endswith(".json") else raw


def _dialogue(
    raw: dict[str, Any], split: str, schemas: dict[str, Any], acts: dict[str, Any], file: Path, record: str
) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("dialogue_id"), str) and isinstance(raw.get("turns"), list),
        "missing dialogue_id or turns",
        path=file,
        record=record,
    )
    expect(bool(raw["turns"]), "no turns", path=file, record=record)
    original = raw["dialogue_id"]
    dialogue_acts = acts.get(original) or acts.get(_bare_id(original)) or acts.get(f"{_bare_id(original)}.json") or {}
    turns = []
    for i, t in enumerate(raw["turns"]):
        speaker = t["speaker"]
        expect(speaker in _ROLES, f"turn {i}: unknown speaker {speaker!r}", path=file, record=record)
        expect(isinstance(t["utterance"], str), f"turn {i}: utterance is not a string", path=file, record=record)
        turn_acts = dialogue_acts.get(str(t.get("turn_id", i)))
        annotations = _annotations(t, turn_acts, file, f"{record}, turn {i}")
        turns.append(Turn(i, speaker, _ROLES[speaker], t["utterance"], annotations=annotations))
    services = list(raw.get("services", []))
    meta: dict[str, Any] = {"original_id": raw["dialogue_id"], "services": services}
    if schemas:
        meta["schema"] = [schemas[s] for s in services if s in schemas]
        missing = [s for s in services if s not in schemas]
        if missing:
            meta["services_without_schema"] = missing
    rest = {k: v for k, v in raw.items() if k not in ("dialogue_id", "services", "turns")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{_bare_id(raw['dialogue_id'])}", SOURCE, split, turns, meta)


def _annotations(t: dict[str, Any], turn_acts: Any, file: Path, record: str) -> Annotations:
    acts: list[DialogueAct] = []
    state: dict[str, list[str]] = {}
    intents: list[str] = []
    frames = []
    expect(isinstance(t["frames"], list), "frames must be a list", path=file, record=record)
    for frame in t["frames"]:
        service = frame["service"]
        kept: dict[str, Any] = {k: v for k, v in frame.items() if k not in ("actions", "state")}
        actions = frame.get("actions", [])
        for action in actions:
            acts.append(
                DialogueAct(
                    action["act"],
                    domain=service,
                    slot=action.get("slot") or None,
                    values=list(action.get("values", [])),
                )
            )
        if any("canonical_values" in a for a in actions):
            kept["canonical_values"] = [a.get("canonical_values", []) for a in actions]
        other_action_keys = [
            {k: v for k, v in a.items() if k not in ("act", "slot", "values", "canonical_values")} for a in actions
        ]
        if any(other_action_keys):
            kept["action_fields"] = other_action_keys
        frame_state = frame.get("state")
        if frame_state is not None:
            for slot, values in frame_state.get("slot_values", {}).items():
                expect(isinstance(values, list), f"state of {slot!r} must be a list", path=file, record=record)
                state[slot] = [str(v) for v in values]
            intent = frame_state.get("active_intent")
            if intent and intent != "NONE":
                intents.append(intent)
            kept["state"] = {k: v for k, v in frame_state.items() if k != "slot_values"}
        frames.append(kept)
    extra: dict[str, Any] = {"turn_id": t.get("turn_id"), "frames": frames}
    if turn_acts is not None:
        extra.update(_dialog_acts(turn_acts, acts, file, record))
    rest = {k: v for k, v in t.items() if k not in ("frames", "speaker", "turn_id", "utterance")}
    if rest:
        extra["source_fields"] = rest
    return Annotations(dialogue_acts=acts, intent=intents[0] if intents else None, state=state, extra=extra)


def _dialog_acts(entry: Any, acts: list[DialogueAct], file: Path, record: str) -> dict[str, Any]:
    """Map one ``dialog_acts.json`` turn entry onto ``acts``; return what goes to ``extra``."""
    expect(isinstance(entry, dict), "dialog_acts.json entry must be an object", path=file, record=record)
    key = "dialog_act" if "dialog_act" in entry else "dialogue_acts"
    dialog_act = entry.get(key, {})
    extra: dict[str, Any] = {}
    if isinstance(dialog_act, dict) and dialog_act:
        for name, pairs in dialog_act.items():
            domain, sep, act = name.partition("-")
            expect(bool(sep), f"dialog act {name!r} is not '<Domain>-<Act>'", path=file, record=record)
            for pair in pairs:
                expect(
                    isinstance(pair, list) and len(pair) == 2,
                    f"dialog act {name!r}: expected [slot, value] pairs",
                    path=file,
                    record=record,
                )
                acts.append(DialogueAct(act, domain=domain, slot=str(pair[0]), values=[str(pair[1])]))
    else:
        extra["dialog_act"] = dialog_act  # {} or a non-standard value, kept as it is
    for k, v in entry.items():
        if k != key:
            extra[k] = v  # span_info and anything else
    return extra
