"""sacrebleu BLEU (0-100): :class:`BLEU` (``bleu``, ``sentence_bleu``), reproducing sacrebleu's ``BLEU``.

Corpus score and mean sentence score (tokenizers 13a/intl/none, smoothing exp/floor/add-k/none,
effective order); :func:`sacrebleu_from_stats` is sacrebleu's ``compute_bleu`` over the shared
statistic of :mod:`mmdial_metrics.bleu_statistics`.

Example:
    >>> preds = ["the cat is on the mat"]
    >>> refs = [["the cat sat on the mat", "there is a cat on the mat"]]
    >>> round(bleu(preds, refs).score, 6)
    39.763536
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.bleu_statistics import bleu_stats
from mmdial_metrics.core import Metric, MetricResult

SMOOTH_DEFAULTS: dict[str, float | None] = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}


def _my_log(x: float) -> float:
    return -9999999999 if x == 0.0 else math.log(x)


def sacrebleu_from_stats(
    correct: list[float],
    total: list[float],
    sys_len: int,
    ref_len: int,
    *,
    smooth_method: str = "exp",
    smooth_value: float | None = None,
    effective_order: bool = False,
    max_order: int = 4,
) -> tuple[float, list[float], float]:
    """sacrebleu's ``BLEU.compute_bleu``: ``(score, precisions, bp)`` from sufficient statistics."""
    if smooth_value is None:
        smooth_value = SMOOTH_DEFAULTS[smooth_method]
    correct = list(correct)
    total = list(total)
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * max_order
    if not any(correct):
        return 0.0, precisions, bp
    smooth_mteval = 1.0
    eff_order = max_order
    for n in range(1, max_order + 1):
        if smooth_method == "add-k" and n > 1:
            correct[n - 1] += smooth_value  # type: ignore[operator]
            total[n - 1] += smooth_value  # type: ignore[operator]
        if total[n - 1] == 0:
            break
        if effective_order:
            eff_order = n
        if correct[n - 1] == 0:
            if smooth_method == "exp":
                smooth_mteval *= 2
                precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
            elif smooth_method == "floor":
                precisions[n - 1] = 100.0 * smooth_value / total[n - 1]  # type: ignore[operator]
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    score = bp * math.exp(sum([_my_log(p) for p in precisions[:eff_order]]) / eff_order)
    return score, precisions, bp


class BLEU(Metric):
    """sacrebleu BLEU (0-100): corpus score (``bleu``) or mean sentence score (``sentence_bleu``).

    Args:
        tokenize: ``13a`` (default), ``intl`` or ``none``.
        smooth_method: ``exp`` (default), ``floor``, ``add-k`` or ``none``.
        smooth_value: Value for ``floor`` (0.1) and ``add-k`` (1).
        lowercase: Lowercase before tokenizing.
        max_ngram_order: Highest n-gram order (BLEU-1..4 cumulative).
        effective_order: Leave out orders with no n-grams (default: True at sentence level).
        level: ``corpus`` or ``sentence`` (mean of sentence BLEU).

    Example:
        >>> m = BLEU(level="sentence")
        >>> round(m(["a b c d"], [["a b c d e"]]).score, 4)
        77.8801
    """

    name: ClassVar[str] = "bleu"
    citation: ClassVar[str] = "Papineni et al. 2002; Post 2018 (sacrebleu)"
    reference: ClassVar[str] = "sacrebleu BLEU.corpus_score / sentence_score"

    def __init__(
        self,
        *,
        tokenize: str = "13a",
        smooth_method: str = "exp",
        smooth_value: float | None = None,
        lowercase: bool = False,
        max_ngram_order: int = 4,
        effective_order: bool | None = None,
        level: str = "corpus",
    ) -> None:
        super().__init__()
        if tokenize not in ("13a", "intl", "none"):
            raise ValueError(f"bleu: tokenize must be '13a', 'intl' or 'none', got {tokenize!r}")
        if smooth_method not in SMOOTH_DEFAULTS:
            raise ValueError(f"bleu: smooth_method must be one of {list(SMOOTH_DEFAULTS)}, got {smooth_method!r}")
        if level not in ("corpus", "sentence"):
            raise ValueError(f"bleu: level must be 'corpus' or 'sentence', got {level!r}")
        if not isinstance(max_ngram_order, int) or max_ngram_order < 1:
            raise ValueError(f"bleu: max_ngram_order must be a positive int, got {max_ngram_order!r}")
        self.tokenize = tokenize
        self.smooth_method = smooth_method
        self.smooth_value = smooth_value
        self.lowercase = lowercase
        self.max_ngram_order = max_ngram_order
        self.level = level
        self.effective_order = (level == "sentence") if effective_order is None else effective_order
        if level == "sentence":
            self.name = "sentence_bleu"  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        smooth = self.smooth_method
        default = SMOOTH_DEFAULTS[smooth]
        if default is not None:
            value = self.smooth_value if self.smooth_value is not None else default
            smooth += f"[{value:.2f}]"
        info: dict[str, Any] = {
            "case": "lc" if self.lowercase else "mixed",
            "eff": "yes" if self.effective_order else "no",
            "tok": self.tokenize,
            "smooth": smooth,
        }
        if self.max_ngram_order != 4:
            info["order"] = self.max_ngram_order
        return info

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        assert references is not None
        return bleu_stats(
            predictions,
            references,
            tokenizer=self.tokenize,
            lowercase=self.lowercase,
            rstrip=True,
            max_order=self.max_ngram_order,
        )

    def _score(self, row: Sequence[int]) -> tuple[float, list[float], float]:
        n = self.max_ngram_order
        return sacrebleu_from_stats(
            [int(x) for x in row[2 : 2 + n]],
            [int(x) for x in row[2 + n : 2 + 2 * n]],
            int(row[0]),
            int(row[1]),
            smooth_method=self.smooth_method,
            smooth_value=self.smooth_value,
            effective_order=self.effective_order,
            max_order=n,
        )

    def _reduce(self, stats: np.ndarray) -> tuple[float, dict[str, Any], list[float] | None]:
        n = self.max_ngram_order
        if self.level == "sentence":
            items = [self._score(row)[0] for row in stats.tolist()]
            return float(np.mean(items)) if items else 0.0, {}, items
        total = stats.sum(axis=0)
        score, precisions, bp = self._score(total)
        sys_len, ref_len = int(total[0]), int(total[1])
        return (
            score,
            {
                "precisions": precisions,
                "bp": bp,
                "sys_len": sys_len,
                "ref_len": ref_len,
                "counts": total[2 : 2 + n].tolist(),
                "totals": total[2 + n :].tolist(),
                "ratio": sys_len / ref_len if ref_len else 0.0,
            },
            None,
        )


def bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """sacrebleu corpus BLEU (13a, exp smoothing, 0-100); options as :class:`BLEU`."""
    return BLEU(**options).score(predictions, references)


def sentence_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean sacrebleu sentence BLEU (effective order); ``item_scores`` holds each sentence's BLEU."""
    return BLEU(level="sentence", **options).score(predictions, references)
