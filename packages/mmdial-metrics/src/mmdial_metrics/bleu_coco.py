"""COCO BLEU (0-1): :class:`CocoBLEU` (``coco_bleu``), reproducing pycocoevalcap's ``Bleu``.

Closest reference length and its tiny/small smoothing, over the shared statistic of
:mod:`mmdial_metrics.bleu_statistics`.

Example:
    >>> round(coco_bleu(["a b c d"], [["a b c d e"]]).score, 6)
    0.778801
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.bleu_statistics import bleu_stats
from mmdial_metrics.core import Metric, MetricResult


class CocoBLEU(Metric):
    """pycocoevalcap ``Bleu`` (0-1): corpus BLEU-n with closest reference length and tiny/small smoothing.

    Args:
        n: Report BLEU-n (1..max_order); ``details["bleu"]`` holds BLEU-1..max_order.
        max_order: Highest order computed (pycocoevalcap's ``Bleu(n)``).

    Example:
        >>> r = coco_bleu(["a b c d"], [["a b c d"]])
        >>> round(r.score, 6)
        1.0
    """

    name: ClassVar[str] = "coco_bleu"
    citation: ClassVar[str] = "Papineni et al. 2002; Chen et al. 2015 (COCO caption evaluation)"
    reference: ClassVar[str] = "pycocoevalcap.bleu.Bleu"

    def __init__(self, *, n: int = 4, max_order: int = 4) -> None:
        super().__init__()
        if not 1 <= n <= max_order:
            raise ValueError(f"coco_bleu: need 1 <= n <= max_order, got n={n}, max_order={max_order}")
        self.n = n
        self.max_order = max_order

    def signature_info(self) -> dict[str, Any]:
        return {"n": self.n, "tok": "whitespace", "reflen": "closest"}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        assert references is not None
        return bleu_stats(
            predictions, references, tokenizer="whitespace", lowercase=False, rstrip=False, max_order=self.max_order
        )

    def _reduce(self, stats: np.ndarray) -> tuple[float, dict[str, Any], list[float] | None]:
        n = self.max_order
        small, tiny = 1e-9, 1e-15
        items = []
        for row in stats.tolist():
            testlen, reflen = row[0], row[1]
            b = 1.0
            vals = []
            for k in range(n):
                b *= (float(row[2 + k]) + tiny) / (float(row[2 + n + k]) + small)
                vals.append(b ** (1.0 / (k + 1)))
            ratio = (testlen + tiny) / (reflen + small)
            if ratio < 1:
                vals = [v * math.exp(1 - 1 / ratio) for v in vals]
            items.append(vals[self.n - 1])
        total = stats.sum(axis=0).tolist()
        b = 1.0
        bleus = []
        for k in range(n):
            b *= float(total[2 + k] + tiny) / (total[2 + n + k] + small)
            bleus.append(b ** (1.0 / (k + 1)))
        ratio = (total[0] + tiny) / (total[1] + small)
        if ratio < 1:
            bleus = [v * math.exp(1 - 1 / ratio) for v in bleus]
        return bleus[self.n - 1], {"bleu": bleus, "testlen": total[0], "reflen": total[1]}, items


def coco_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """pycocoevalcap ``Bleu`` corpus BLEU-n; options as :class:`CocoBLEU`."""
    return CocoBLEU(**options).score(predictions, references)
