"""fuzzywuzzy's ``fuzz.partial_ratio`` as mwzeval runs it (with python-Levenshtein installed, as its requirements ask).

fuzzywuzzy 0.18 picks its ``SequenceMatcher`` at import time: python-Levenshtein's ``StringMatcher`` when that
package is installed (mwzeval's ``requirements.txt`` lists it), else :mod:`difflib`'s. The two find different
matching blocks, so scores near the thresholds (90 for venue names, 95 for DST values) can differ. Both are here:

- ``backend="levenshtein"`` (default): matching blocks from Levenshtein opcodes and the Indel ratio, computed with
  ``rapidfuzz`` exactly as python-Levenshtein >= 0.20 (itself built on rapidfuzz) computes them;
- ``backend="difflib"``: the pure-Python path (fuzzywuzzy without python-Levenshtein).

Example:
    >>> partial_ratio("pizza hut", "pizza hut city centre", backend="difflib")
    100
    >>> partial_ratio("", "abc")
    0
"""

from __future__ import annotations

from typing import Any

__all__ = ["FUZZY_BACKENDS", "partial_ratio"]

#: The ``backend`` values :func:`partial_ratio` accepts.
FUZZY_BACKENDS = ("levenshtein", "difflib")


def _blocks_and_ratio(backend: str) -> tuple[Any, Any]:
    if backend == "difflib":
        from difflib import SequenceMatcher

        return (
            lambda a, b: SequenceMatcher(None, a, b).get_matching_blocks(),
            lambda a, b: SequenceMatcher(None, a, b).ratio(),
        )
    if backend != "levenshtein":
        raise ValueError(f"unknown fuzzy backend {backend!r}; use one of {', '.join(FUZZY_BACKENDS)}")
    try:
        from rapidfuzz.distance import Indel, Levenshtein
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ValueError(
            "backend='levenshtein' needs rapidfuzz; install it with: pip install 'mmdial-metrics[multiwoz]' "
            "(or pass backend='difflib')"
        ) from exc
    return (
        lambda a, b: Levenshtein.opcodes(a, b).as_matching_blocks(),
        lambda a, b: Indel.normalized_similarity(a, b),
    )


def partial_ratio(s1: Any, s2: Any, *, backend: str = "levenshtein") -> int:
    """Best ratio (0-100, rounded) of the shorter string against equal-length windows of the longer one."""
    if s1 is None or s2 is None:
        return 0
    if len(s1) == 0 or len(s2) == 0:
        return 0
    if not (isinstance(s1, str) and isinstance(s2, str)):
        s1, s2 = str(s1), str(s2)
    shorter, longer = (s1, s2) if len(s1) <= len(s2) else (s2, s1)
    blocks, ratio = _blocks_and_ratio(backend)
    scores: list[float] = []
    for block in blocks(shorter, longer):
        start = max(block[1] - block[0], 0)
        r = float(ratio(shorter, longer[start : start + len(shorter)]))
        if r > 0.995:
            return 100
        scores.append(r)
    return round(100 * max(scores))
