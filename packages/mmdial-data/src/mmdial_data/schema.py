"""Typed Python objects of the unified schema (v1).

One :class:`Dialogue` per row; its :class:`Turn` objects carry text, images (:class:`ImageRef`) and
:class:`Annotations`. Source-specific fields without a column live in ``Dialogue.meta`` and
``Annotations.extra`` (JSON objects), so nothing from a source is dropped.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue(
    ...     dialogue_id="demo/train/1", source="demo", split="train",
    ...     turns=[Turn(turn_index=0, speaker="A", role="user", text="hi")],
    ... )
    >>> d.turns[0].text
    'hi'
    >>> Dialogue.from_dict(d.to_dict()) == d
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1"

#: Allowed values of :attr:`ImageRef.level`.
IMAGE_LEVELS: tuple[str, ...] = ("shared", "replacement", "turn", "entity")


def dump_json(obj: Any) -> str:
    """Serialise a JSON object the way the schema stores ``meta``/``extra``: compact, key order kept.

    >>> dump_json({"b": 1, "a": [1, "é"]})
    '{"b":1,"a":[1,"é"]}'
    """
    if not obj and isinstance(obj, dict):
        return "{}"
    return _ENCODER.encode(obj)


# One encoder for every call: json.dumps with options builds a new encoder each time, which dominated builds.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass
class ImageRef:
    """An image attached to a turn (or, with level ``shared``, to the whole dialogue).

    Attributes:
        image_id: Stable id of the image (dataset id or content hash).
        uri: Path relative to an image root, or an ``http(s)://`` URL.
        source: Where the image comes from (``"coco"``, ``"photochat"``, ``"tuxpaint"`` ...).
        caption: A description of the image, if known.
        level: One of :data:`IMAGE_LEVELS`.
        entity: The entity the image illustrates (level ``entity``).
        score: A retrieval or selection score, if the image was chosen by a model.
    """

    image_id: str
    uri: str
    source: str
    caption: str | None = None
    level: str = "turn"
    entity: str | None = None
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the Arrow row of this image (field order of the schema)."""
        return {
            "image_id": self.image_id,
            "uri": self.uri,
            "source": self.source,
            "caption": self.caption,
            "level": self.level,
            "entity": self.entity,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> ImageRef:
        """Build from an Arrow/JSON row."""
        return cls(
            image_id=row["image_id"],
            uri=row["uri"],
            source=row["source"],
            caption=row.get("caption"),
            level=row.get("level", "turn"),
            entity=row.get("entity"),
            score=row.get("score"),
        )


@dataclass
class DialogueAct:
    """One dialogue act: ``act`` with optional ``domain``/``slot`` and values.

    DailyDialog's ``inform`` is ``DialogueAct("inform")``; SGD's ``INFORM(city=San Jose)`` is
    ``DialogueAct("INFORM", domain="Restaurants_1", slot="city", values=["San Jose"])``.
    """

    act: str
    domain: str | None = None
    slot: str | None = None
    values: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the Arrow row of this act."""
        return {"act": self.act, "domain": self.domain, "slot": self.slot, "values": list(self.values)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> DialogueAct:
        """Build from an Arrow/JSON row."""
        return cls(act=row["act"], domain=row.get("domain"), slot=row.get("slot"), values=list(row.get("values") or []))


@dataclass
class Annotations:
    """Per-turn labels.

    Attributes:
        dialogue_acts: Acts of the turn.
        emotion: Emotion label (DailyDialog, EmpatheticDialogues ...).
        intent: Active intent (SGD ``active_intent``), if any.
        state: Dialogue state after the turn: ``"<domain>-<slot>" -> values``.
        knowledge: Knowledge sentences grounding the turn.
        extra: Everything else the source has for this turn (a JSON object).
    """

    dialogue_acts: list[DialogueAct] = field(default_factory=list)
    emotion: str | None = None
    intent: str | None = None
    state: dict[str, list[str]] = field(default_factory=dict)
    knowledge: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the Arrow row (``state`` as a list of slot/values pairs, ``extra`` as JSON text)."""
        return {
            "dialogue_acts": [a.to_dict() for a in self.dialogue_acts],
            "emotion": self.emotion,
            "intent": self.intent,
            "state": [{"slot": k, "values": list(v)} for k, v in self.state.items()],
            "knowledge": list(self.knowledge),
            "extra": dump_json(self.extra),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any] | None) -> Annotations:
        """Build from an Arrow row (``extra`` as JSON text) or a JSONL row (``extra`` as object)."""
        if not row:
            return cls()
        extra = row.get("extra")
        state = row.get("state") or []
        return cls(
            dialogue_acts=[DialogueAct.from_dict(a) for a in row.get("dialogue_acts") or []],
            emotion=row.get("emotion"),
            intent=row.get("intent"),
            state=({s["slot"]: list(s["values"]) for s in state} if isinstance(state, list) else dict(state)),
            knowledge=list(row.get("knowledge") or []),
            extra=_load_json_field(extra),
        )


@dataclass
class Turn:
    """One utterance (or image-sharing turn) of a dialogue.

    Attributes:
        turn_index: 0-based position in the dialogue.
        speaker: The source's speaker id.
        role: ``"user"``, ``"system"``, ``"speaker_a"``, ``"speaker_b"`` ...
        text: The utterance; empty only when the turn is an image.
        images: Images of this turn.
        annotations: Labels of this turn.
    """

    turn_index: int
    speaker: str
    role: str
    text: str
    images: list[ImageRef] = field(default_factory=list)
    annotations: Annotations = field(default_factory=Annotations)

    def to_dict(self) -> dict[str, Any]:
        """Return the Arrow row of this turn."""
        return {
            "turn_index": self.turn_index,
            "speaker": self.speaker,
            "role": self.role,
            "text": self.text,
            "images": [i.to_dict() for i in self.images],
            "annotations": self.annotations.to_dict(),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Turn:
        """Build from an Arrow/JSON row."""
        return cls(
            turn_index=int(row["turn_index"]),
            speaker=row["speaker"],
            role=row["role"],
            text=row["text"],
            images=[ImageRef.from_dict(i) for i in row.get("images") or []],
            annotations=Annotations.from_dict(row.get("annotations")),
        )


@dataclass
class Dialogue:
    """One dialogue of the unified schema.

    Attributes:
        dialogue_id: ``"<source>/<split>/<original id>"``, unique and deterministic.
        source: Reader name that produced it.
        split: ``train``/``validation``/``test`` or the source's own split name.
        turns: The turns, in order.
        meta: Dialogue-level fields of the source (persona, goal, services, images of the whole dialogue...).
        schema_version: Version of this schema.
    """

    dialogue_id: str
    source: str
    split: str
    turns: list[Turn]
    meta: dict[str, Any] = field(default_factory=dict)
    schema_version: str = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Return the Arrow row (``meta`` as JSON text)."""
        return {
            "dialogue_id": self.dialogue_id,
            "source": self.source,
            "split": self.split,
            "turns": [t.to_dict() for t in self.turns],
            "meta": dump_json(self.meta),
            "schema_version": self.schema_version,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Dialogue:
        """Build from an Arrow row (``meta`` as JSON text) or a JSONL row (``meta`` as object)."""
        return cls(
            dialogue_id=row["dialogue_id"],
            source=row["source"],
            split=row["split"],
            turns=[Turn.from_dict(t) for t in row["turns"]],
            meta=_load_json_field(row.get("meta")),
            schema_version=row.get("schema_version", SCHEMA_VERSION),
        )

    @property
    def images(self) -> list[ImageRef]:
        """All images attached to the turns, in turn order."""
        return [img for t in self.turns for img in t.images]

    def _repr_html_(self) -> str:
        from mmdial_data.viewer import render_dialogue_html

        return render_dialogue_html(self)


def _load_json_field(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        loaded = json.loads(value)
        if not isinstance(loaded, dict):
            raise ValueError(f"expected a JSON object, got {type(loaded).__name__}")
        return loaded
    if isinstance(value, dict):
        return value
    raise ValueError(f"expected a JSON object, got {type(value).__name__}")
