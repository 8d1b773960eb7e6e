"""Unigram F1 and exact match with ParlAI's or SQuAD's answer normalization.

- ``parlai``: ParlAI ``normalize_answer`` (lowercase; punctuation -> space; drop a/an/the), ``F1Metric``
  (max over references), 0-1. Knowledge F1 is the same score against the knowledge text.
- ``squad``: SQuAD v1.1 ``normalize_answer`` (lowercase; punctuation deleted; drop a/an/the),
  ``metric_max_over_ground_truths``, 0-100 like the official script.

Example:
    >>> unigram_f1(["The cat, sat."], [["a cat sat down"]]).score
    0.8
    >>> exact_match(["The Cat!"], [["cat"]]).score
    100.0
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from mmdial_metrics.core import Metric, MetricResult

_PARLAI_ART = re.compile(r"\b(a|an|the)\b")
_PARLAI_PUNC = re.compile(r"[!\"#$%&()*+,-./:;<=>?@\[\]\\^`{|}~_\']")
_SQUAD_PUNC = set(string.punctuation)


def normalize_parlai(s: str) -> str:
    """ParlAI ``normalize_answer``.

    >>> normalize_parlai("The cat's hat-trick!")
    'cat s hat trick'
    """
    s = s.lower()
    s = _PARLAI_PUNC.sub(" ", s)
    s = _PARLAI_ART.sub(" ", s)
    return " ".join(s.split())


def normalize_squad(s: str) -> str:
    """SQuAD v1.1 ``normalize_answer``.

    >>> normalize_squad("The cat's hat-trick!")
    'cats hattrick'
    """
    s = "".join(ch for ch in s.lower() if ch not in _SQUAD_PUNC)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


_NORMALIZERS = {"parlai": normalize_parlai, "squad": normalize_squad}


def prec_recall_f1(pred: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """Unigram precision, recall and F1 of token lists (0 when nothing overlaps)."""
    common = Counter(gold) & Counter(pred)
    same = sum(common.values())
    if same == 0:
        return 0.0, 0.0, 0.0
    p = same / len(pred)
    r = same / len(gold)
    return p, r, (2 * p * r) / (p + r)


class UnigramF1(Metric):
    """Unigram F1, max over references; ``normalize`` is ``parlai`` (0-1) or ``squad`` (0-100).

    Example:
        >>> UnigramF1(normalize="squad")(["a b"], [["b c"]]).score
        66.66666666666666
    """

    name: ClassVar[str] = "f1"
    citation: ClassVar[str] = "Rajpurkar et al. 2016 (SQuAD); Miller et al. 2017 (ParlAI); Dinan et al. 2019"
    reference: ClassVar[str] = "ParlAI F1Metric / SQuAD v1.1 evaluate f1_score"

    def __init__(self, *, normalize: str = "parlai", name: str | None = None) -> None:
        super().__init__()
        if normalize not in _NORMALIZERS:
            raise ValueError(f"f1: normalize must be 'parlai' or 'squad', got {normalize!r}")
        self.normalize = normalize
        self.scale = 100.0 if normalize == "squad" else 1.0
        self.name = name or ("squad_f1" if normalize == "squad" else "f1")  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"norm": self.normalize, "multi": "max", "scale": int(self.scale)}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[float]:
        assert references is not None
        norm = _NORMALIZERS[self.normalize]
        out = []
        for p, refs in zip(predictions, references, strict=True):
            pt = norm(p).split()
            out.append(max(prec_recall_f1(pt, norm(r).split())[2] for r in refs) * self.scale)
        return out

    def _reduce(self, stats: list[float]) -> tuple[float, dict[str, Any], list[float] | None]:
        return sum(stats) / len(stats), {}, list(stats)


class ExactMatch(UnigramF1):
    """Exact match after normalization (SQuAD by default, 0-100), max over references."""

    name: ClassVar[str] = "exact_match"
    reference: ClassVar[str] = "SQuAD v1.1 evaluate exact_match_score"

    def __init__(self, *, normalize: str = "squad") -> None:
        super().__init__(normalize=normalize, name="exact_match")
        self.scale = 100.0 if normalize == "squad" else 1.0

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[float]:
        assert references is not None
        norm = _NORMALIZERS[self.normalize]
        return [
            max(float(norm(p) == norm(r)) for r in refs) * self.scale
            for p, refs in zip(predictions, references, strict=True)
        ]


def unigram_f1(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Unigram F1; options as :class:`UnigramF1`."""
    return UnigramF1(**options).score(predictions, references)


def exact_match(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Exact match; options as :class:`ExactMatch`."""
    return ExactMatch(**options).score(predictions, references)
