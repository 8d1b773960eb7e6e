"""Candidate utterances: every non-empty turn with a non-empty context (never the first turn).

As in IMAD's ``DialogDataset``, utterances are stripped and the length filter counts only words longer
than two characters (``sum(len(w) > 2 for w in text.split())``). The context holds every earlier turn's
text (stripped), including turns that are themselves filtered out by length.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/train/1", "x", "train", [
    ...     Turn(0, "A", "speaker_a", "Hello there!"),
    ...     Turn(1, "B", "speaker_b", "I saw a dog at the park."),
    ...     Turn(2, "A", "speaker_a", "Oh ok"),
    ... ])
    >>> [(c.turn_index, c.n_long_words) for c in candidates(d)]
    [(1, 4), (2, 0)]
    >>> [c.turn_index for c in candidates(d, min_words=1)]
    [1]
    >>> count_long_words("I am at a zoo")
    1
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mmdial_data import Dialogue


@dataclass(frozen=True)
class Candidate:
    """One utterance that may be replaced by an image."""

    dialogue_id: str
    turn_index: int
    utterance: str
    context: tuple[str, ...]
    n_long_words: int


def count_long_words(text: str) -> int:
    """Number of whitespace-separated words longer than 2 characters (IMAD's length measure)."""
    return sum(len(w) > 2 for w in text.split())


def candidates(dialogue: Dialogue, *, min_words: int = 0, max_words: int | None = None) -> Iterator[Candidate]:
    """Yield the candidate utterances of one dialogue, in turn order."""
    context: list[str] = []
    for turn in dialogue.turns:
        text = turn.text.strip()
        if not text:  # image-only turns are part of neither the candidates nor the text context
            continue
        n = count_long_words(text)
        if context and n >= min_words and (max_words is None or n <= max_words):
            yield Candidate(dialogue.dialogue_id, turn.turn_index, text, tuple(context), n)
        context.append(text)


def all_candidates(
    dialogues: Iterable[Dialogue], *, min_words: int = 0, max_words: int | None = None
) -> list[Candidate]:
    """Candidates of many dialogues, in order."""
    return [c for d in dialogues for c in candidates(d, min_words=min_words, max_words=max_words)]
