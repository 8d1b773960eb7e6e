"""Fusion samples: a context window, the response, and its turn- and entity-level visual knowledge.

ReSee's windows: the context is the previous turn pair(s) plus the current utterance, the response is the next
utterance; the test split uses only the last window of each dialogue. Visual knowledge refers to images by id;
their embeddings live once in an :class:`~mmdial_fusion.features.ImageFeatureStore`.

Samples are stored as JSON Lines, one sample per line.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("demo/train/1", "demo", "train",
    ...              [Turn(i, "AB"[i % 2], "user", t) for i, t in enumerate(["hi", "hello", "how are you", "fine"])])
    >>> [(w.context, w.response) for w in context_windows(d, max_context_turns=2)]
    [(['hi'], 'hello'), (['hi', 'hello'], 'how are you'), (['hello', 'how are you'], 'fine')]
    >>> [w.response_index for w in context_windows(d, max_context_turns=3, last_only=True)]
    [3]
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data import Dialogue
from mmdial_data.outputs import atomic_path


@dataclass(frozen=True)
class VisualKnowledge:
    """One image attached to a sample.

    Attributes:
        image_id: Id of the image (key of the feature store).
        level: ``"turn"`` or ``"entity"``.
        caption: Caption of the image, if known.
        turn_index: The context turn it illustrates (turn level).
        entity: The context entity it illustrates (entity level).
        score: Retrieval score, if it was retrieved.
    """

    image_id: str
    level: str
    caption: str | None = None
    turn_index: int | None = None
    entity: str | None = None
    score: float | None = None


@dataclass
class FusionSample:
    """A training/evaluation sample.

    Attributes:
        sample_id: ``"<dialogue_id>#<response turn index>"``.
        dialogue_id: The dialogue it comes from.
        context: Context utterances, oldest first.
        context_turns: Turn indices of the context utterances.
        response: The target utterance.
        response_index: Turn index of the response.
        turn_images: Turn-level images (from context turns only), at most ``max_turn_images``.
        entity_images: Entity-level images (from context entities only), at most ``max_entity_images``.
    """

    sample_id: str
    dialogue_id: str
    context: list[str]
    context_turns: list[int]
    response: str
    response_index: int
    turn_images: list[VisualKnowledge] = field(default_factory=list)
    entity_images: list[VisualKnowledge] = field(default_factory=list)

    @property
    def entities(self) -> list[str]:
        """Entities of the entity-level images, in order, without repeats."""
        return list(dict.fromkeys(k.entity for k in self.entity_images if k.entity))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> FusionSample:
        """Inverse of :meth:`to_dict`."""
        row = dict(row)
        row["turn_images"] = [VisualKnowledge(**k) for k in row.get("turn_images") or []]
        row["entity_images"] = [VisualKnowledge(**k) for k in row.get("entity_images") or []]
        return cls(**row)


@dataclass(frozen=True)
class ContextWindow:
    """Turn indices of a context and its response within one dialogue."""

    dialogue: Dialogue
    context_indices: tuple[int, ...]
    response_index: int

    @property
    def context(self) -> list[str]:
        """Context utterances."""
        return [self.dialogue.turns[i].text for i in self.context_indices]

    @property
    def response(self) -> str:
        """The response utterance."""
        return self.dialogue.turns[self.response_index].text


def context_windows(
    dialogue: Dialogue,
    *,
    max_context_turns: int = 3,
    response_roles: Sequence[str] | None = None,
    last_only: bool = False,
) -> list[ContextWindow]:
    """ReSee-style windows of one dialogue.

    Args:
        dialogue: A unified dialogue.
        max_context_turns: Context length in turns (3 = previous turn pair + current utterance).
        response_roles: Only turns with these roles are responses (all turns when None).
        last_only: Keep only the last window (ReSee's test samples).

    Turns with empty text (image-only turns) are never responses, but stay in the context.
    """
    if max_context_turns < 1:
        raise ValueError(f"max_context_turns must be >= 1, got {max_context_turns}")
    windows = []
    turns = dialogue.turns
    for r in range(1, len(turns)):
        if not turns[r].text.strip():
            continue
        if response_roles is not None and turns[r].role not in response_roles:
            continue
        start = max(0, r - max_context_turns)
        indices = tuple(i for i in range(start, r) if turns[i].text.strip() or turns[i].images)
        if not indices:
            continue
        windows.append(ContextWindow(dialogue, indices, r))
    return windows[-1:] if last_only else windows


def write_samples(samples: Iterable[FusionSample], path: str | os.PathLike[str]) -> int:
    """Write samples as JSON Lines, atomically; returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for s in samples:
            fh.write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    return count


def read_samples(path: str | os.PathLike[str]) -> Iterator[FusionSample]:
    """Read samples written by :func:`write_samples`; a bad line raises an error naming file and line."""
    from mmdial_data.errors import MMDialDataError

    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield FusionSample.from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError) as exc:
                raise MMDialDataError(f"not a fusion sample: {exc}", path=path, record=f"line {n}") from exc
