"""Schema-Guided Dialogue (DSTC8) reader.

Input: a split folder (``train/`` with ``dialogues_*.json`` and ``schema.json``) or one dialogues file
(``schema.json`` is looked up beside it). Per turn: acts (with service as domain), active intent, state as
``"<service>-<slot>" -> values``; slot spans, requested slots, canonical values, service calls and results
go to ``annotations.extra["frames"]``. The schema of the dialogue's services is attached to ``meta``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "sgd"
LICENSE = "CC BY-SA 4.0"
CITATION = (
    "Rastogi et al. 2020, Towards Scalable Multi-Domain Conversational Agents: The Schema-Guided Dialogue Dataset, AAAI"
)
_ROLES = {"USER": "user", "SYSTEM": "system"}
#: Frame keys mapped to columns; every other key is kept verbatim in ``extra["frames"]``.
_FRAME_COLUMNS = {"actions", "state"}


def read_sgd(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of an SGD split folder or dialogues file.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> from mmdial_data.errors import ErrorPolicy
        >>> d = next(read_sgd(demo_dir() / "sgd" / "train", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].annotations.intent
        ('sgd/train/1_00000', 'FindRestaurants')
    """
    files = sorted(path.glob("dialogues_*.json")) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError("no dialogues_*.json files in this folder", path=path)
    folder = path if path.is_dir() else path.parent
    schema_path = folder / "schema.json"
    schemas: dict[str, Any] = {}
    if schema_path.exists():
        schema = load_json(schema_path)
        expect(isinstance(schema, list), "schema.json must be a list of services", path=schema_path, record="top level")
        schemas = {s["service_name"]: s for s in schema}
    split_name = split or infer_split(files[0])
    for file in files:
        data = load_json(file)
        expect(isinstance(data, list), "expected a JSON list of dialogues", path=file, record="top level")
        for index, raw in enumerate(data):
            record = f"dialogue {index} ({raw.get('dialogue_id', '?') if isinstance(raw, dict) else '?'})"
            dialogue = build_or_report(
                partial(_dialogue, raw, split_name, schemas, file, record), policy, path=file, record=record
            )
            if dialogue is not None:
                yield dialogue


def _dialogue(raw: dict[str, Any], split: str, schemas: dict[str, Any], file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and "turns" in raw and "dialogue_id" in raw,
        "missing dialogue_id or turns",
        path=file,
        record=record,
    )
    services = list(raw.get("services", []))
    turns = []
    for i, t in enumerate(raw["turns"]):
        speaker = t["speaker"]
        expect(speaker in _ROLES, f"turn {i}: unknown speaker {speaker!r}", path=file, record=record)
        expect(isinstance(t["utterance"], str), f"turn {i}: utterance is not a string", path=file, record=record)
        turns.append(Turn(i, speaker, _ROLES[speaker], t["utterance"], annotations=_annotations(t["frames"])))
    meta: dict[str, Any] = {"services": services}
    missing = [s for s in services if s not in schemas]
    if schemas:
        meta["schema"] = [schemas[s] for s in services if s in schemas]
    if missing:
        meta["services_without_schema"] = missing
    rest = {k: v for k, v in raw.items() if k not in ("dialogue_id", "services", "turns")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{raw['dialogue_id']}", SOURCE, split, turns, meta)


def _annotations(frames: list[dict[str, Any]]) -> Annotations:
    acts: list[DialogueAct] = []
    state: dict[str, list[str]] = {}
    intents: list[str] = []
    extra_frames = []
    for frame in frames:
        service = frame["service"]
        for action in frame.get("actions", []):
            acts.append(
                DialogueAct(
                    action["act"],
                    domain=service,
                    slot=action.get("slot") or None,
                    values=list(action.get("values", [])),
                )
            )
        kept: dict[str, Any] = {k: v for k, v in frame.items() if k not in _FRAME_COLUMNS}
        kept["canonical_values"] = [a.get("canonical_values", []) for a in frame.get("actions", [])]
        frame_state = frame.get("state")
        if frame_state is not None:
            for slot, values in frame_state.get("slot_values", {}).items():
                state[f"{service}-{slot}"] = list(values)
            intent = frame_state.get("active_intent")
            if intent and intent != "NONE":
                intents.append(intent)
            kept["active_intent"] = intent
            kept["requested_slots"] = frame_state.get("requested_slots", [])
            other = {
                k: v for k, v in frame_state.items() if k not in ("slot_values", "active_intent", "requested_slots")
            }
            if other:
                kept["state_fields"] = other
        extra_frames.append(kept)
    return Annotations(
        dialogue_acts=acts,
        intent=intents[0] if intents else None,
        state=state,
        extra={"frames": extra_frames},
    )
