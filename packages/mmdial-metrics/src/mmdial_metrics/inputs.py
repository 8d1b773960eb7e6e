"""Input checks shared by all metrics: clear TypeError/ValueError naming the item at fault.

Example:
    >>> check_pairs(["a b"], ["a b"], name="bleu")
    (['a b'], [['a b']])
    >>> check_pairs(["a"], [["x"], ["y"]], name="bleu")
    Traceback (most recent call last):
    ...
    ValueError: bleu: 1 predictions but 2 reference entries
"""

from __future__ import annotations

from itertools import chain
from typing import Any


def check_strings(values: Any, *, name: str, what: str = "predictions") -> list[str]:
    """A list of str, or TypeError naming the first bad item."""
    if values is None:
        raise TypeError(f"{name}: {what} must be a list of str, got None")
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: {what} must be a list of str, got a single {type(values).__name__}")
    try:
        out = list(values)
    except TypeError:
        raise TypeError(f"{name}: {what} must be a list of str, got {type(values).__name__}") from None
    if set(map(type, out)) <= {str}:  # fast path: every item exactly a str
        return out
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise TypeError(f"{name}: {what}[{i}] must be str, got {type(v).__name__}")
    return out


def check_pairs(
    predictions: Any, references: Any, *, name: str, needs_references: bool = True
) -> tuple[list[str], list[list[str]] | None]:
    """Validate predictions and references (one str or a list of str per prediction).

    Returns the predictions and the references as a list of lists (``None`` when the metric needs none
    and none were given). Raises TypeError for None/non-str values and ValueError for mismatched
    lengths or an empty reference list.
    """
    preds = check_strings(predictions, name=name)
    if references is None:
        if needs_references:
            raise TypeError(f"{name}: references are required")
        return preds, None
    if isinstance(references, (str, bytes)):
        raise TypeError(f"{name}: references must be a list (one entry per prediction), got a single str")
    try:
        refs_in = list(references)
    except TypeError:
        raise TypeError(f"{name}: references must be a list, got {type(references).__name__}") from None
    if len(refs_in) != len(preds):
        raise ValueError(f"{name}: {len(preds)} predictions but {len(refs_in)} reference entries")
    types = set(map(type, refs_in))
    if types == {str}:  # fast paths: one str per prediction, or non-empty lists of str
        return preds, [[r] for r in refs_in]
    if types == {list} and 0 not in map(len, refs_in) and set(map(type, chain.from_iterable(refs_in))) == {str}:
        return preds, refs_in  # the caller's lists, read only (a copy of each costs more than the check)
    refs: list[list[str]] = []
    for i, r in enumerate(refs_in):
        if isinstance(r, str):
            refs.append([r])
            continue
        if r is None:
            raise TypeError(f"{name}: references[{i}] is None")
        if isinstance(r, bytes) or not hasattr(r, "__iter__"):
            raise TypeError(f"{name}: references[{i}] must be str or a list of str, got {type(r).__name__}")
        group = list(r)
        if not group:
            raise ValueError(f"{name}: references[{i}] is an empty list (give at least one reference)")
        for j, x in enumerate(group):
            if not isinstance(x, str):
                raise TypeError(f"{name}: references[{i}][{j}] must be str, got {type(x).__name__}")
        refs.append(group)
    return preds, refs
