"""nltk BLEU (0-1): :class:`NLTKBLEU` (``nltk_bleu``, ``nltk_sentence_bleu``), reproducing nltk.

nltk ``corpus_bleu``/``sentence_bleu`` with ``SmoothingFunction().method0..method7`` and any weights
(cumulative or individual n-grams), over the shared statistic of :mod:`mmdial_metrics.bleu_statistics`.

Example:
    >>> preds = ["the cat is on the mat"]
    >>> refs = [["the cat sat on the mat", "there is a cat on the mat"]]
    >>> round(nltk_bleu(preds, refs, smoothing=1).score, 6)
    0.265915
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.bleu_statistics import bleu_stats
from mmdial_metrics.core import Metric, MetricResult
from mmdial_metrics.tokenize import get_tokenizer


class NLTKBLEU(Metric):
    """nltk BLEU (0-1): ``corpus_bleu`` (``nltk_bleu``) or mean ``sentence_bleu`` (``nltk_sentence_bleu``).

    Args:
        weights: n-gram weights, e.g. ``(0.25,)*4`` (cumulative BLEU-4) or ``(0, 0, 0, 1)`` (individual 4-gram).
        smoothing: 0..7 for ``SmoothingFunction().method0..method7``.
        epsilon, alpha, k: ``SmoothingFunction`` parameters.
        auto_reweigh: nltk's ``auto_reweigh``.
        tokenize: How to turn strings into nltk's token lists: ``whitespace`` (``str.split``, default),
            ``13a``, ``intl``.
        lowercase: Lowercase first.
        level: ``corpus`` or ``sentence``.
        floor: What unsmoothed BLEU (``smoothing=0``) reports when a weighted n-gram order has no match.
            nltk then puts ``sys.float_info.min`` in that precision and returns a floor value such as
            ``1e-155`` (BLEU-2) or ``1e-231`` (BLEU-3) while its own warning says "the BLEU score evaluates to
            0". ``"zero"`` (default) reports 0.0 and names the orders in ``details["zero_matches"]`` (corpus) or
            counts the items in ``details["floored_items"]`` (sentence), with the reason in ``details["note"]``;
            ``"nltk"`` returns nltk's floor value unchanged (bit for bit). Recorded in the signature as
            ``floor:zero`` / ``floor:nltk``; ignored by the smoothing methods 1..7.

    Example:
        >>> round(nltk_sentence_bleu(["a b c"], [["a b d"]], smoothing=1).score, 6)
        0.240281
        >>> r = nltk_bleu(["a c b"], [["a b d"]], weights=(0.5, 0.5))  # no bigram of "a c b" in the reference
        >>> raw = nltk_bleu(["a c b"], [["a b d"]], weights=(0.5, 0.5), floor="nltk")  # nltk's own value
        >>> r.score, r.details["zero_matches"], f"{raw.score:.2g}"
        (0.0, [2], '1.2e-154')
    """

    name: ClassVar[str] = "nltk_bleu"
    citation: ClassVar[str] = "Papineni et al. 2002; Chen & Cherry 2014 (smoothing)"
    reference: ClassVar[str] = "nltk.translate.bleu_score corpus_bleu / sentence_bleu"

    def __init__(
        self,
        *,
        weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
        smoothing: int = 0,
        epsilon: float = 0.1,
        alpha: float = 5,
        k: float = 5,
        auto_reweigh: bool = False,
        tokenize: str = "whitespace",
        lowercase: bool = False,
        level: str = "corpus",
        floor: str = "zero",
    ) -> None:
        super().__init__()
        if floor not in ("zero", "nltk"):
            raise ValueError(f"nltk_bleu: floor must be 'zero' or 'nltk', got {floor!r}")
        if smoothing not in range(8):
            raise ValueError(f"nltk_bleu: smoothing must be 0..7 (SmoothingFunction.methodN), got {smoothing!r}")
        if level not in ("corpus", "sentence"):
            raise ValueError(f"nltk_bleu: level must be 'corpus' or 'sentence', got {level!r}")
        weights = tuple(float(w) for w in weights)
        if not weights:
            raise ValueError("nltk_bleu: weights must not be empty")
        get_tokenizer(tokenize)
        self.weights = weights
        self.smoothing = smoothing
        self.epsilon, self.alpha, self.k = epsilon, alpha, k
        self.auto_reweigh = auto_reweigh
        self.tokenize = tokenize
        self.lowercase = lowercase
        self.level = level
        self.floor = floor
        if level == "sentence":
            self.name = "nltk_sentence_bleu"  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "weights": ",".join(f"{w:g}" for w in self.weights),
            "smooth": f"method{self.smoothing}",
            "tok": self.tokenize,
            "case": "lc" if self.lowercase else "mixed",
        }
        if self.smoothing == 0:
            info["floor"] = self.floor
        if self.smoothing in (1,):
            info["epsilon"] = self.epsilon
        if self.smoothing in (4, 7):
            info["k"] = self.k
        if self.smoothing == 6:
            info["alpha"] = self.alpha
        if self.auto_reweigh:
            info["reweigh"] = True
        return info

    def _orders(self) -> int:
        # nltk's method5 always adds the 5-gram precision of the last sentence
        return max(len(self.weights), 5) if self.smoothing in (5, 7) else len(self.weights)

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        assert references is not None
        return bleu_stats(
            predictions,
            references,
            tokenizer=self.tokenize,
            lowercase=self.lowercase,
            rstrip=False,
            max_order=self._orders(),
        )

    def _score(self, num: list[int], den: list[int], hyp_len: int, ref_len: int, last: Sequence[int]) -> float:
        """nltk corpus_bleu given summed numerators/denominators; ``last`` is the last sentence's row."""
        from fractions import Fraction

        nw = len(self.weights)
        if num[0] == 0:
            return 0.0
        if hyp_len > ref_len:
            bp = 1.0
        elif hyp_len == 0:
            bp = 0.0
        else:
            bp = math.exp(1 - ref_len / hyp_len)
        p_n: list[Any] = [_NltkFrac(num[i], den[i]) for i in range(nw)]
        orders = self._orders()
        last_len = int(last[0])
        last_num = [int(x) for x in last[2 : 2 + orders]]
        last_tot = [max(1, int(x)) for x in last[2 + orders : 2 + 2 * orders]]
        s = self.smoothing

        def method4(p: list[Any]) -> list[Any]:
            incvnt = 1
            hl = hyp_len if hyp_len else last_len
            for i, p_i in enumerate(p):
                if p_i.numerator == 0 and hl > 1:
                    numerator = 1 / (2**incvnt * self.k / math.log(hl))
                    p[i] = numerator / p_i.denominator
                    incvnt += 1
            return p

        def method5(p: list[Any]) -> list[Any]:
            p_plus1 = [*p, Fraction(last_num[4], last_tot[4])]
            m: dict[int, Any] = {-1: p[0] + 1}
            for i, p_i in enumerate(p):
                p[i] = (m[i - 1] + p_i + p_plus1[i + 1]) / 3
                m[i] = p[i]
            return p

        if s == 0:
            p_n = [p if p.numerator != 0 else sys.float_info.min for p in p_n]
        elif s == 1:
            p_n = [(p.numerator + self.epsilon) / p.denominator if p.numerator == 0 else p for p in p_n]
        elif s == 2:
            p_n = [p_n[0]] + [_NltkFrac(p.numerator + 1, p.denominator + 1) for p in p_n[1:]]
        elif s == 3:
            incvnt = 1
            for i, p in enumerate(p_n):
                if p.numerator == 0:
                    p_n[i] = 1 / (2**incvnt * p.denominator)
                    incvnt += 1
        elif s == 4:
            p_n = method4(p_n)
        elif s == 5:
            p_n = method5(p_n)
        elif s == 6:
            if nw < 3 or not p_n[2]:
                raise ValueError("nltk_bleu: smoothing method6 requires non-zero precision for trigrams")
            for i, p_i in enumerate(p_n):
                if i in (0, 1):
                    continue
                pi0 = 0 if p_n[i - 2] == 0 else p_n[i - 1] ** 2 / p_n[i - 2]
                ell = max(last_len - i, 0)
                p_n[i] = (p_i.numerator + self.alpha * pi0) / (ell + self.alpha)
        elif s == 7:
            p_n = method5(method4(p_n))
        weights = self.weights
        if self.auto_reweigh and hyp_len < 4 and weights == (0.25, 0.25, 0.25, 0.25):
            weights = (1 / hyp_len,) * hyp_len
        if s == 0 and self.floor == "zero" and self._zero_orders(num, weights):
            return 0.0
        return bp * math.exp(math.fsum(w * math.log(p) for w, p in zip(weights, p_n, strict=False) if p > 0))

    @staticmethod
    def _zero_orders(num: Sequence[int], weights: Sequence[float]) -> list[int]:
        """The n-gram orders (1-based) with a non-zero weight and no clipped match: nltk's floor cases."""
        return [i + 1 for i, (w, m) in enumerate(zip(weights, num, strict=False)) if w and m == 0]

    def _row_score(self, rows: np.ndarray) -> float:
        nw = len(self.weights)
        orders = self._orders()
        num = rows[:, 2 : 2 + nw].sum(axis=0).tolist()
        den = np.maximum(rows[:, 2 + orders : 2 + orders + nw], 1).sum(axis=0).tolist()
        return self._score(num, den, int(rows[:, 0].sum()), int(rows[:, 1].sum()), rows[-1].tolist())

    def _sentence_scores_vectorized(self, stats: np.ndarray) -> np.ndarray:
        """Sentence BLEU of every row at once (methods 0-3, no auto_reweigh): same arithmetic as nltk."""
        nw = len(self.weights)
        orders = self._orders()
        num = stats[:, 2 : 2 + nw].astype(np.float64)
        den = np.maximum(stats[:, 2 + orders : 2 + orders + nw], 1).astype(np.float64)
        hyp_len = stats[:, 0].astype(np.float64)
        ref_len = stats[:, 1].astype(np.float64)
        zero = num == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            p = num / den
            if self.smoothing == 0:
                p = np.where(zero, sys.float_info.min, p)
            elif self.smoothing == 1:
                p = np.where(zero, (num + self.epsilon) / den, p)
            elif self.smoothing == 2:
                p[:, 1:] = (num[:, 1:] + 1) / (den[:, 1:] + 1)
            elif self.smoothing == 3:
                incvnt = np.cumsum(zero, axis=1)
                p = np.where(zero, 1 / (2.0**incvnt * den), p)
            bp = np.where(hyp_len > ref_len, 1.0, np.where(hyp_len == 0, 0.0, np.exp(1 - ref_len / hyp_len)))
            w = np.asarray(self.weights)[None, :]
            terms = np.where(p > 0, w * np.log(np.where(p > 0, p, 1.0)), 0.0)
            out = bp * np.exp(terms.sum(axis=1))
            if self.smoothing == 0 and self.floor == "zero":
                out = np.where((zero & (w != 0)).any(axis=1), 0.0, out)
        return np.where(num[:, 0] == 0, 0.0, out)

    _FLOOR_NOTE = (
        "unsmoothed (method0) BLEU with no {what} match is 0 (nltk returns a floor value from sys.float_info.min; "
        "floor='nltk' gives it, a smoothing method 1..7 gives a smoothed score)"
    )

    def _floor_details(self, stats: np.ndarray) -> dict[str, Any]:
        """Which orders (corpus) or how many items (sentence) were reported as 0 instead of nltk's floor."""
        if self.smoothing != 0 or self.floor != "zero" or not len(stats):
            return {}
        nw = len(self.weights)
        if self.level == "corpus":
            orders = self._zero_orders(stats[:, 2 : 2 + nw].sum(axis=0).tolist(), self.weights)
            if not orders or 1 in orders:  # no unigram match: nltk itself returns 0
                return {}
            what = "/".join(f"{n}-gram" for n in orders)
            return {"zero_matches": orders, "note": self._FLOOR_NOTE.format(what=what)}
        num = stats[:, 2 : 2 + nw]
        weighted = np.asarray(self.weights) != 0
        floored = int((((num == 0) & weighted).any(axis=1) & (num[:, 0] > 0)).sum())
        if not floored:
            return {}
        return {"floored_items": floored, "note": self._FLOOR_NOTE.format(what="n-gram")}

    def _reduce(self, stats: np.ndarray) -> tuple[float, dict[str, Any], list[float] | None]:
        details = self._floor_details(stats)
        if self.level == "sentence" and self.smoothing in (0, 1, 2, 3) and not self.auto_reweigh:
            values = self._sentence_scores_vectorized(stats)
            return float(values.mean()) if len(values) else 0.0, details, values.tolist()
        if self.level == "sentence":
            items = [self._row_score(stats[i : i + 1]) for i in range(len(stats))]
            return float(np.mean(items)) if items else 0.0, details, items
        return self._row_score(stats), details, None


class _NltkFrac:
    """nltk's unnormalised Fraction: keeps numerator/denominator as given; float value exact."""

    __slots__ = ("denominator", "numerator")

    def __init__(self, numerator: int, denominator: int):
        self.numerator = numerator
        self.denominator = denominator

    def _frac(self) -> Any:
        from fractions import Fraction

        return Fraction(self.numerator, self.denominator)

    def __float__(self) -> float:
        return float(self._frac())

    def __bool__(self) -> bool:
        return self.numerator != 0

    def __eq__(self, other: object) -> bool:
        return bool(self._frac() == other)

    def __hash__(self) -> int:
        return hash(self._frac())

    def __gt__(self, other: Any) -> bool:
        return bool(self._frac() > other)

    def __add__(self, other: Any) -> Any:
        return self._frac() + (other._frac() if isinstance(other, _NltkFrac) else other)

    __radd__ = __add__

    def __truediv__(self, other: Any) -> Any:
        return self._frac() / (other._frac() if isinstance(other, _NltkFrac) else other)

    def __rtruediv__(self, other: Any) -> Any:
        return other / self._frac()

    def __pow__(self, other: Any) -> Any:
        return self._frac() ** other

    def __mul__(self, other: Any) -> Any:
        return self._frac() * (other._frac() if isinstance(other, _NltkFrac) else other)

    __rmul__ = __mul__


def nltk_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """nltk ``corpus_bleu``; options as :class:`NLTKBLEU`."""
    return NLTKBLEU(**options).score(predictions, references)


def nltk_sentence_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean nltk ``sentence_bleu``; ``item_scores`` holds each sentence's value."""
    return NLTKBLEU(level="sentence", **options).score(predictions, references)
