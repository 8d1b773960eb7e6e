"""Attach turn- and entity-level visual knowledge to ReSee samples.

Sources of images, per context window (never the response turn, so nothing about the response leaks in):

- turn level: images already attached to the context turns (``ImageRef`` levels ``turn``/``shared``/
  ``replacement``), then the top images an :class:`ImageRetriever` returns for each context turn's text;
  newest turns first when the budget (``max_turn_images``, ReSee: 5) is short, kept in turn order.
- entity level: ``ImageRef`` with level ``entity`` on context turns, then one retrieved image per entity that
  an :data:`EntityExtractor` finds in the context text (``max_entity_images``; ReSee: 6 for DailyDialog, 8 for
  WoW).

The retriever and the entity extractor are small protocols; :mod:`mmdial_fusion.retrieval_adapter` builds
them from mmdial-retrieval.

Example:
    >>> from mmdial_data import Dialogue, Turn, ImageRef
    >>> d = Dialogue("demo/train/1", "demo", "train", [
    ...     Turn(0, "A", "user", "my cat", images=[ImageRef("img-cat", "cat.png", "demo")]),
    ...     Turn(1, "B", "system", "nice dog", images=[ImageRef("img-dog", "dog.png", "demo")])])
    >>> [s.sample_id for s in build_samples([d])]
    ['demo/train/1#1']
    >>> [k.image_id for k in next(build_samples([d])).turn_images]
    ['img-cat']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from mmdial_data import Dialogue
from mmdial_fusion.samples import ContextWindow, FusionSample, VisualKnowledge, context_windows

#: Image levels of the unified schema that count as turn-level knowledge.
TURN_LEVELS = ("turn", "shared", "replacement")


@dataclass(frozen=True)
class RetrievedImage:
    """One retrieval hit."""

    image_id: str
    score: float
    caption: str | None = None


class ImageRetriever(Protocol):
    """Text queries -> the top ``k`` images of each query, best first."""

    def __call__(self, queries: Sequence[str], k: int) -> list[list[RetrievedImage]]: ...


#: Text -> entity strings (nouns, named entities) found in it.
EntityExtractor = Callable[[str], list[str]]


@dataclass(frozen=True)
class KnowledgeConfig:
    """How samples and their visual knowledge are built.

    Attributes:
        max_context_turns: Context length in turns.
        max_turn_images: Turn-level image budget per sample.
        max_entity_images: Entity-level image budget per sample.
        turn_images_per_turn: Retrieved images per context turn.
        response_roles: Roles whose turns are responses (all when None).
        last_only_splits: Splits that keep only the last window of each dialogue (ReSee's test split).
        use_attached_images: Use images already attached to the context turns.
        min_score: Drop retrieved images scoring below this.
    """

    max_context_turns: int = 3
    max_turn_images: int = 5
    max_entity_images: int = 6
    turn_images_per_turn: int = 1
    response_roles: tuple[str, ...] | None = None
    last_only_splits: tuple[str, ...] = ("test",)
    use_attached_images: bool = True
    min_score: float | None = None


class _CachedRetriever:
    """Memoises retrieval by query text (context windows overlap, entities repeat)."""

    def __init__(self, retriever: ImageRetriever | None, k: int, min_score: float | None):
        self.retriever = retriever
        self.k = k
        self.min_score = min_score
        self.cache: dict[str, list[RetrievedImage]] = {}

    def __call__(self, queries: Sequence[str]) -> list[list[RetrievedImage]]:
        if self.retriever is None:
            return [[] for _ in queries]
        todo = [q for q in dict.fromkeys(queries) if q not in self.cache]
        if todo:
            for q, hits in zip(todo, self.retriever(todo, self.k), strict=True):
                self.cache[q] = [h for h in hits[: self.k] if self.min_score is None or h.score >= self.min_score]
        return [self.cache[q] for q in queries]


def _turn_knowledge(
    window: ContextWindow, config: KnowledgeConfig, retrieve: _CachedRetriever
) -> list[VisualKnowledge]:
    turns = window.dialogue.turns
    per_turn: list[list[VisualKnowledge]] = []
    texts = [turns[i].text for i in window.context_indices]
    hits = retrieve([t for t in texts if t.strip()])
    hit_iter = iter(hits)
    for i, text in zip(window.context_indices, texts, strict=True):
        assert i < window.response_index, "context turns precede the response"
        found: list[VisualKnowledge] = []
        if config.use_attached_images:
            found += [
                VisualKnowledge(img.image_id, "turn", img.caption, turn_index=i, score=img.score)
                for img in turns[i].images
                if img.level in TURN_LEVELS
            ]
        if text.strip():
            found += [
                VisualKnowledge(h.image_id, "turn", h.caption, turn_index=i, score=h.score) for h in next(hit_iter)
            ]
        per_turn.append(found)
    chosen: list[VisualKnowledge] = []
    seen: set[str] = set()
    for found in reversed(per_turn):  # newest turns first when the budget is short
        for k in found:
            if k.image_id not in seen and len(chosen) < config.max_turn_images:
                seen.add(k.image_id)
                chosen.append(k)
    return sorted(chosen, key=lambda k: k.turn_index or 0)


def _entity_knowledge(
    window: ContextWindow, config: KnowledgeConfig, retrieve: _CachedRetriever, extract: EntityExtractor | None
) -> list[VisualKnowledge]:
    turns = window.dialogue.turns
    chosen: list[VisualKnowledge] = []
    seen: set[str] = set()

    def add(k: VisualKnowledge) -> None:
        if k.image_id not in seen and len(chosen) < config.max_entity_images:
            seen.add(k.image_id)
            chosen.append(k)

    if config.use_attached_images:
        for i in window.context_indices:
            for img in turns[i].images:
                if img.level == "entity":
                    add(
                        VisualKnowledge(
                            img.image_id, "entity", img.caption, turn_index=i, entity=img.entity, score=img.score
                        )
                    )
    if extract is not None:
        entities: list[tuple[int, str]] = []
        for i in window.context_indices:
            entities += [(i, e) for e in extract(turns[i].text) if e.strip()]
        unique = list(dict.fromkeys(e for _, e in entities))
        first_turn = {}
        for i, e in entities:
            first_turn.setdefault(e, i)
        for entity, hits in zip(unique, retrieve(unique), strict=True):
            for h in hits[:1]:
                add(
                    VisualKnowledge(
                        h.image_id, "entity", h.caption, turn_index=first_turn[entity], entity=entity, score=h.score
                    )
                )
    return chosen


def build_samples(
    dialogues: Iterable[Dialogue],
    *,
    retriever: ImageRetriever | None = None,
    entity_extractor: EntityExtractor | None = None,
    config: KnowledgeConfig | None = None,
) -> Iterator[FusionSample]:
    """ReSee samples with visual knowledge, lazily, in dialogue order.

    Args:
        dialogues: Unified dialogues.
        retriever: Text -> images; None uses only images attached to the dialogues.
        entity_extractor: Text -> entities; None skips retrieved entity-level images.
        config: Window and budget settings.
    """
    config = config or KnowledgeConfig()
    turn_retrieve = _CachedRetriever(retriever, config.turn_images_per_turn, config.min_score)
    entity_retrieve = _CachedRetriever(retriever, 1, config.min_score)
    for dialogue in dialogues:
        windows = context_windows(
            dialogue,
            max_context_turns=config.max_context_turns,
            response_roles=config.response_roles,
            last_only=dialogue.split in config.last_only_splits,
        )
        for w in windows:
            yield FusionSample(
                sample_id=f"{dialogue.dialogue_id}#{w.response_index}",
                dialogue_id=dialogue.dialogue_id,
                context=w.context,
                context_turns=list(w.context_indices),
                response=w.response,
                response_index=w.response_index,
                turn_images=_turn_knowledge(w, config, turn_retrieve),
                entity_images=_entity_knowledge(w, config, entity_retrieve, entity_extractor),
            )
