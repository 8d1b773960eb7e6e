"""Plausibility of replacements: shares, the exact chance level and bootstrap intervals, on hand-made rows."""

from __future__ import annotations

from mmdial_augment.plausibility import bootstrap_interval, plausibility


def lemmas(texts):
    return [set(t.lower().split()) for t in texts]


ROWS = {
    "replaced": [True, True, False, True],
    "nouns": [["dog"], ["cat", "hat"], ["car"], ["tree"]],
    "chosen_caption": ["a dog", "a red hat", "a car", "a house"],
    "image_caption": ["a dog", "a cat", "a car", "a bird"],
}
POOL = ["a dog", "a cat", "a house", "a bird", "a car"]


def test_shares_and_exact_chance_level() -> None:
    p = plausibility(ROWS, POOL, lemmas, seed=0)
    assert p["n"] == 3 and p["chosen_share"] == 2 / 3 and p["top1_share"] == 2 / 3
    # per replaced row: share of pool captions holding one of its nouns: dog 1/5, cat|hat 1/5, tree 0/5
    assert p["random_expected"] == (1 / 5 + 1 / 5 + 0) / 3
    lo, hi = p["chosen_interval"]
    assert 0.0 <= lo <= p["chosen_share"] <= hi <= 1.0
    assert plausibility(ROWS, POOL, lemmas, seed=0) == p  # seeded


def test_interval_edges() -> None:
    assert bootstrap_interval([]) == [None, None]
    assert bootstrap_interval([0.0, 0.0]) == [0.0, 0.0]
    p = plausibility(
        {"replaced": [False], "nouns": [["x"]], "chosen_caption": [""], "image_caption": [""]}, POOL, lemmas
    )
    assert p["n"] == 0 and p["chosen_interval"] == [None, None] and p["random_expected"] == 0.0
