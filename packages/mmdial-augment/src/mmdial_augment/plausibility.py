"""How plausible are the chosen images? The share of replacements where a noun of the utterance appears in
the chosen image's caption, against the same share for random pool images (the chance level).

Caption words are compared by lowercase lemma (spaCy), so "dogs" in a caption matches the noun "dog".

Example:
    >>> lemmas = lambda texts: [set(t.lower().split()) for t in texts]
    >>> noun_in_caption_share([["dog"], ["cat"], []], ["dog", "apple", "cat"], lemmas)
    0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Lemmatizer = Callable[[Sequence[str]], list[set[str]]]


def spacy_lemmas(model: str | None = None) -> Lemmatizer:
    """A lemmatizer: texts -> set of lowercase lemmas and words of each text (spaCy pipeline)."""
    from mmdial_retrieval.entities import DEFAULT_SPACY_MODEL, load_spacy

    nlp = load_spacy(model or DEFAULT_SPACY_MODEL)

    def lemmas(texts: Sequence[str]) -> list[set[str]]:
        return [
            {t.lemma_.lower() for t in doc if t.is_alpha} | {t.lower_ for t in doc if t.is_alpha}
            for doc in nlp.pipe(list(texts))
        ]

    return lemmas


def noun_in_caption_share(nouns: Sequence[Sequence[str]], captions: Sequence[str | None], lemmas: Lemmatizer) -> float:
    """Share of rows where some noun of the row is among its caption's lemmas (0.0 with no rows)."""
    if not len(nouns):
        return 0.0
    sets = lemmas([c or "" for c in captions])
    hits = [bool(set(ns) & s) for ns, s in zip(nouns, sets, strict=True)]
    return float(np.mean(hits))


def random_baseline_share(
    nouns: Sequence[Sequence[str]],
    pool_captions: Sequence[str | None],
    lemmas: Lemmatizer,
    *,
    seed: int = 0,
    draws: int = 20,
) -> float:
    """Mean over ``draws`` of the share when each row gets a uniformly random pool image (seeded)."""
    if not len(nouns) or not len(pool_captions):
        return 0.0
    caption_sets = lemmas([c or "" for c in pool_captions])
    rng = np.random.default_rng(seed)
    shares = []
    for _ in range(draws):
        pick = rng.integers(0, len(pool_captions), size=len(nouns))
        shares.append(np.mean([bool(set(ns) & caption_sets[j]) for ns, j in zip(nouns, pick, strict=True)]))
    return float(np.mean(shares))


def bootstrap_interval(values: Sequence[float], *, n_boot: int = 1000, seed: int = 0) -> list[float | None]:
    """Percentile 95% interval of the mean of ``values`` over ``n_boot`` seeded resamples ([None, None] if empty).

    >>> bootstrap_interval([1.0, 1.0, 1.0])
    [1.0, 1.0]
    """
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return [None, None]
    means = v[np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def plausibility(
    rows: dict[str, list[Any]], pool_captions: Sequence[str | None], lemmas: Lemmatizer | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Over the replaced rows of ``features.parquet``: ``n``, ``chosen_share`` (a noun of the utterance in the chosen
    image's caption), ``top1_share`` (the same for stage 1's top image), ``random_share`` (random pool images,
    :func:`random_baseline_share`), ``random_expected`` (its exact expectation: per row, the share of pool captions
    holding one of its nouns, averaged) and 95% bootstrap intervals over rows (``*_interval``)."""
    lemmas = lemmas or spacy_lemmas()
    idx = [i for i, r in enumerate(rows.get("replaced", [])) if r]
    nouns = [rows["nouns"][i] for i in idx]
    chosen = lemmas([rows["chosen_caption"][i] or "" for i in idx])
    chosen_hits = [float(bool(set(ns) & c)) for ns, c in zip(nouns, chosen, strict=True)]
    pool_sets = lemmas([c or "" for c in pool_captions]) if idx else []
    expected = [float(np.mean([bool(set(ns) & c) for c in pool_sets])) if pool_sets else 0.0 for ns in nouns]
    return {
        "n": len(idx),
        "chosen_share": float(np.mean(chosen_hits)) if idx else 0.0,
        "chosen_interval": bootstrap_interval(chosen_hits, seed=seed),
        "top1_share": noun_in_caption_share(nouns, [rows["image_caption"][i] for i in idx], lemmas),
        "random_share": random_baseline_share(nouns, pool_captions, lemmas, seed=seed),
        "random_expected": float(np.mean(expected)) if idx else 0.0,
        "random_interval": bootstrap_interval(expected, seed=seed),
    }
