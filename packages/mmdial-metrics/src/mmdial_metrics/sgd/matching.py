"""Slot-value matching as the DSTC8 SGD evaluator does it: exact string equality or fuzzywuzzy's token-sort ratio.

The official ``schema_guided_dst/metrics.py`` scores a non-categorical slot with
``fuzzywuzzy.fuzz.token_sort_ratio(ref, hyp) / 100`` (best over the reference values) when fuzzy matching is on,
else with ``ref == hyp`` (case-sensitive); a categorical slot is always ``ref_values[0] == hyp`` (case-sensitive).
The fuzzy score depends on which sequence matcher fuzzywuzzy finds at import time:

- ``"difflib"`` (**the official default**): fuzzywuzzy without python-Levenshtein, as the script's
  ``requirements.txt`` installs it (``fuzzywuzzy>=0.17.0`` only); ``difflib.SequenceMatcher(None, a, b).ratio()``.
- ``"levenshtein"``: fuzzywuzzy with python-Levenshtein installed; ``Levenshtein.ratio``, the indel similarity
  ``1 - (len1 + len2 - 2 * LCS) / (len1 + len2)`` (computed here in pure Python, no dependency).

Both backends see the same processed strings: characters U+0080..U+00FF dropped (fuzzywuzzy's "ascii dammit";
other non-ASCII characters stay), every non-word character (``(?ui)\\W``) replaced by a space, lowercased,
split on whitespace, tokens sorted and joined by one space. Equal processed strings score 100 (also when both
are empty), one empty string scores 0, ``None`` scores 0, other non-strings are compared as ``str(value)``;
the ratio is rounded with Python's ``round`` (half to even) to an integer percentage.

Example:
    >>> token_sort_ratio("The Golden Gate", "golden gate the")
    100
    >>> token_sort_ratio("7 pm", "7:00 pm"), token_sort_ratio("Asian", "San Fran")
    (73, 31)
    >>> token_sort_ratio("Asian", "San Fran", backend="levenshtein")  # difflib's greedy blocks vs the true LCS
    62
    >>> token_sort_ratio("Café Rouge", "cafe rouge"), token_sort_ratio("", "")
    (95, 100)
    >>> noncategorical_score(["6:30 pm", "half past 6 in the evening"], "6:30 PM", fuzzy=False)
    0.0
    >>> noncategorical_score(["6:30 pm", "half past 6 in the evening"], "6:30 PM")
    1.0
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any, Literal

FuzzyBackend = Literal["difflib", "levenshtein"]

#: The fuzzy backends: the sequence matcher fuzzywuzzy uses without / with python-Levenshtein installed.
FUZZY_BACKENDS: tuple[FuzzyBackend, ...] = ("difflib", "levenshtein")

#: The backend of the official setup (``pip install -r schema_guided_dst/requirements.txt``: no python-Levenshtein).
DEFAULT_FUZZY_BACKEND: FuzzyBackend = "difflib"

_NON_WORD = re.compile(r"(?ui)\W")
_LATIN1_HIGH = {code: None for code in range(128, 256)}


def check_backend(backend: str) -> FuzzyBackend:
    """Return ``backend`` if it names a fuzzy backend, else raise ValueError naming the choices.

    >>> check_backend("difflib")
    'difflib'
    """
    if backend not in FUZZY_BACKENDS:
        raise ValueError(
            f"unknown fuzzy backend {backend!r}; use one of {', '.join(FUZZY_BACKENDS)} "
            f"(official default: {DEFAULT_FUZZY_BACKEND})"
        )
    return backend


def process_and_sort(value: Any) -> str:
    """The string fuzzywuzzy's ``token_sort_ratio`` compares (``force_ascii=True, full_process=True``).

    >>> process_and_sort("San Jose, CA")
    'ca jose san'
    >>> process_and_sort("Café   du-Nord")
    'caf du nord'
    """
    text = value if isinstance(value, str) else str(value)
    text = text.translate(_LATIN1_HIGH)
    text = _NON_WORD.sub(" ", text).lower().strip()
    return " ".join(sorted(text.split())).strip()


def _lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence (bit-parallel, one machine word per character of ``a``)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full
    for ch in b:
        match = row & masks.get(ch, 0)
        row = ((row + match) | (row - match)) & full
    return len(a) - row.bit_count()


def sequence_ratio(a: str, b: str, backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND) -> float:
    """Similarity in [0, 1] of two (processed) strings with the sequence matcher of ``backend``.

    >>> sequence_ratio("lewenstein", "levenshtein", backend="levenshtein")
    0.8571428571428572
    >>> round(sequence_ratio("lewenstein", "levenshtein", backend="difflib"), 6)
    0.857143
    """
    if backend == "difflib":
        return SequenceMatcher(None, a, b).ratio()
    if backend == "levenshtein":
        total = len(a) + len(b)
        if total == 0:
            return 1.0
        distance = total - 2 * _lcs_length(a, b)
        return 1.0 - distance / total
    check_backend(backend)
    raise AssertionError("unreachable")


def token_sort_ratio(ref: Any, hyp: Any, backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND) -> int:
    """fuzzywuzzy 0.18 ``fuzz.token_sort_ratio(ref, hyp)``: an integer percentage (see the module docstring)."""
    check_backend(backend)
    if ref is None or hyp is None:
        return 0
    a, b = process_and_sort(ref), process_and_sort(hyp)
    if a == b:
        return 100
    if not a or not b:
        return 0
    return round(100 * sequence_ratio(a, b, backend))  # fuzzywuzzy's intr: int(round(x)), half to even


def fuzzy_string_match(ref: Any, hyp: Any, backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND) -> float:
    """The official ``fuzzy_string_match``: ``token_sort_ratio(ref, hyp) / 100``, in [0, 1]."""
    return token_sort_ratio(ref, hyp, backend) / 100.0


def noncategorical_score(
    refs: Sequence[Any], hyp: Any, *, fuzzy: bool = True, backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND
) -> float:
    """Score of a non-categorical slot: the best over the reference values of the fuzzy score (``fuzzy=True``)
    or of case-sensitive equality (``fuzzy=False``); 0.0 for no reference value."""
    score = 0.0
    for ref in refs:
        value = fuzzy_string_match(ref, hyp, backend) if fuzzy else float(ref == hyp)
        score = max(score, value)
    return score


def categorical_score(refs: Sequence[Any], hyp: Any) -> float:
    """Score of a categorical slot: 1.0 when the first reference value equals ``hyp`` (case-sensitive), else 0.0.

    >>> categorical_score(["True"], "True"), categorical_score(["True"], "true")
    (1.0, 0.0)
    """
    return float(refs[0] == hyp)
