"""CIDEr-D exactly as pycocoevalcap's ``Cider`` computes it (without its Java PTB tokenizer).

Per n-gram order 1..4: tf-idf vectors with document frequencies from the references of the corpus,
hypothesis counts clipped by the reference's (``min(hyp, ref) * ref``), cosine normalised, a Gaussian
length penalty (sigma 6) on the difference of the *bigram counts* (pycocoevalcap's ``length``),
mean over orders and references, times 10. Tokens are ``str.split()``: tokenize beforehand (e.g.
lowercase and strip punctuation as the PTB tokenizer would) if the reference number used it.

Example:
    >>> r = cider_d(["a cat on a mat", "a dog"], [["a cat on the mat"], ["the dog runs"]])
    >>> round(r.score, 6)
    2.602957
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from mmdial_metrics.core import Metric, MetricResult

Counts = dict[tuple[str, ...], int]


def _precook(s: str, n: int) -> Counts:
    words = s.split()
    counts: Counter[tuple[str, ...]] = Counter()
    for k in range(1, n + 1):
        counts.update(tuple(words[i : i + k]) for i in range(len(words) - k + 1))
    return dict(counts)


class CIDErD(Metric):
    """pycocoevalcap CIDEr-D (corpus mean of per-item scores; document frequencies from this corpus).

    Args:
        n: Highest n-gram order (4).
        sigma: Length penalty width (6.0).
    """

    name: ClassVar[str] = "cider_d"
    citation: ClassVar[str] = "Vedantam et al. 2015"
    reference: ClassVar[str] = "pycocoevalcap.cider.Cider"

    def __init__(self, *, n: int = 4, sigma: float = 6.0) -> None:
        super().__init__()
        if n < 1:
            raise ValueError(f"cider_d: n must be >= 1, got {n}")
        self.n = n
        self.sigma = sigma

    def signature_info(self) -> dict[str, Any]:
        return {"n": self.n, "sigma": self.sigma, "tok": "whitespace", "df": "corpus-refs"}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[tuple[Counts, list[Counts]]]:
        assert references is not None
        return [(_precook(p, self.n), [_precook(r, self.n) for r in refs])
                for p, refs in zip(predictions, references, strict=True)]

    def _reduce(self, stats: list[tuple[Counts, list[Counts]]]) -> tuple[float, dict[str, Any], list[float] | None]:
        n_orders = self.n
        df: Counter[tuple[str, ...]] = Counter()
        for _, refs in stats:
            df.update({g for ref in refs for g in ref})
        ref_len = math.log(float(len(stats)))
        log_df = {g: math.log(max(1.0, float(c))) for g, c in df.items()}
        two_s2 = 2 * self.sigma**2

        def vec(cnts: Counts) -> tuple[list[dict[tuple[str, ...], float]], list[float], int]:
            v: list[dict[tuple[str, ...], float]] = [{} for _ in range(n_orders)]
            norm = [0.0] * n_orders
            length = 0
            for g, tf in cnts.items():
                k = len(g) - 1
                x = float(tf) * (ref_len - log_df.get(g, 0.0))
                v[k][g] = x
                norm[k] += x**2
                if k == 1:
                    length += tf
            return v, [math.sqrt(x) for x in norm], length

        items = []
        for test, refs in stats:
            vh, nh, lh = vec(test)
            score = [0.0] * n_orders
            for ref in refs:
                vr, nr, lr = vec(ref)
                delta = float(lh - lr)
                pen = math.e ** (-(delta**2) / two_s2)
                for k in range(n_orders):
                    val = 0.0
                    rk = vr[k]
                    for g, x in vh[k].items():
                        y = rk.get(g, 0.0)
                        val += min(x, y) * y
                    if nh[k] != 0 and nr[k] != 0:
                        val /= nh[k] * nr[k]
                    score[k] += val * pen
            avg = sum(score) / n_orders
            avg /= len(refs)
            items.append(avg * 10.0)
        return sum(items) / len(items), {}, items


def cider_d(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """pycocoevalcap CIDEr-D; options as :class:`CIDErD`."""
    return CIDErD(**options).score(predictions, references)
