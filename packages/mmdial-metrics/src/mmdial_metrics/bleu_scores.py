"""BLEU in the three variants papers report, each reproducing its reference implementation.

- :class:`BLEU` (``bleu``, ``sentence_bleu``): sacrebleu ``BLEU`` corpus score and mean sentence score
  (tokenizers 13a/intl/none, smoothing exp/floor/add-k/none, effective order, 0-100).
- :class:`NLTKBLEU` (``nltk_bleu``, ``nltk_sentence_bleu``): nltk ``corpus_bleu``/``sentence_bleu`` with
  ``SmoothingFunction().method0..method7``, any weights (cumulative or individual n-grams), 0-1.
- :class:`CocoBLEU` (``coco_bleu``): pycocoevalcap ``Bleu`` (closest reference length, its tiny/small
  smoothing), 0-1.

All three share one statistic: per sentence, hypothesis length, closest reference length (ties to the
shorter), clipped n-gram matches and n-gram totals, computed vectorized by :mod:`mmdial_metrics.ngrams`.

Example:
    >>> preds = ["the cat is on the mat"]
    >>> refs = [["the cat sat on the mat", "there is a cat on the mat"]]
    >>> round(bleu(preds, refs).score, 6)
    39.763536
    >>> round(nltk_bleu(preds, refs, smoothing=1).score, 6)
    0.265915
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.core import Metric, MetricResult
from mmdial_metrics.ngrams import Encoded, clipped_matches, concat, encode, encode_lines, encode_split, take
from mmdial_metrics.tokenize import get_tokenizer, tokenize_13a, tokenize_13a_text, tokenize_all

SMOOTH_DEFAULTS: dict[str, float | None] = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}


def bleu_stats(
    predictions: list[str],
    references: list[list[str]],
    *,
    tokenizer: str,
    lowercase: bool,
    rstrip: bool,
    max_order: int,
) -> np.ndarray:
    """Per-sentence statistics ``[hyp_len, closest_ref_len, matches_1..N, totals_1..N]`` (int64)."""
    get_tokenizer(tokenizer)  # validate the name
    flat_refs = [r for group in references for r in group]
    owner = np.repeat(
        np.arange(len(references), dtype=np.int64),
        np.fromiter(map(len, references), dtype=np.int64, count=len(references)),
    )
    # every distinct line tokenized once, 13a/whitespace in one batch
    enc = encode_lines(
        predictions + flat_refs, partial(encode_all, tokenizer=tokenizer, lowercase=lowercase, rstrip=rstrip)
    )
    n_pred = len(predictions)
    hyp = take(enc, np.arange(n_pred))
    ref = take(enc, np.arange(n_pred, n_pred + len(flat_refs)))
    matches, totals = clipped_matches(hyp, ref, owner, max_order)
    hyp_len = hyp.lengths
    ref_len = _closest_ref_len(hyp_len, ref.lengths, owner, len(predictions))
    return np.column_stack([hyp_len, ref_len, matches, totals]).astype(np.int64)


def encode_all(lines: list[str], *, tokenizer: str, lowercase: bool = False, rstrip: bool = False) -> Encoded:
    """``encode(tokenize_all(lines, tokenizer, ...))``; 13a and whitespace without a token list per line.

    >>> e = encode_all(["Hi, you.", "a-\\nb", ""], tokenizer="13a")
    >>> e.lengths.tolist()
    [4, 1, 0]
    """
    if tokenizer not in ("13a", "none", "whitespace"):
        return encode(tokenize_all(lines, tokenizer, lowercase=lowercase, rstrip=rstrip))
    if lowercase:
        lines = list(map(str.lower, lines))
    if rstrip:
        lines = list(map(str.rstrip, lines))
    if tokenizer != "13a":
        return encode_split(lines)
    text, fallback = tokenize_13a_text(lines)
    enc = encode_split(text.split("\n") if lines else [])
    if not fallback:
        return enc
    index = np.arange(len(lines), dtype=np.int64)
    index[fallback] = len(lines) + np.arange(len(fallback))
    return take(concat([enc, encode([tokenize_13a(lines[i]) for i in fallback])]), index)


def _closest_ref_len(hyp_len: np.ndarray, ref_len: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Closest reference length per hypothesis; ties go to the shorter reference."""
    diff = np.abs(ref_len - hyp_len[owner])
    # lexicographic min of (diff, len) per owner: pack into one integer
    packed = diff * (int(ref_len.max(initial=0)) + 1) + ref_len
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, owner, packed)
    return best % (int(ref_len.max(initial=0)) + 1)


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


# ParlAI splits normalized text with ``split(" ")``: an empty text is one empty token ``[""]``. That token is
# written as "<.>", which no normalized text can hold (normalize_answer turns "<", "." and ">" into spaces).
_PARLAI_EMPTY = "<.>"


class ParlAIBLEU(NLTKBLEU):
    """ParlAI ``BleuMetric`` (``parlai_bleu``, its ``bleu-k``): mean per-item nltk ``sentence_bleu`` (0-1).

    As ``parlai/core/metrics.py`` ``BleuMetric.compute(guess, answers, k)``: prediction and references go
    through ParlAI's ``normalize_answer`` (lowercase; punctuation -> space; drop a/an/the; single spaces),
    are split with ``split(" ")`` (an empty text is the one token ``""``), and scored by
    ``sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction(epsilon=1e-12).method1,
    weights=[1/k]*k)``; ``TeacherMetrics`` averages the items (``AverageMetric``). ``k=4`` is ParlAI's default
    ``bleu-4``.

    Example:
        >>> round(ParlAIBLEU()(["The cat sat on the mat!"], [["a cat sat on a mat"]]).score, 6)
        1.0
    """

    name: ClassVar[str] = "parlai_bleu"
    citation: ClassVar[str] = "Papineni et al. 2002; Miller et al. 2017 (ParlAI)"
    reference: ClassVar[str] = (
        "ParlAI parlai/core/metrics.py BleuMetric.compute (normalize_answer, nltk sentence_bleu, "
        "SmoothingFunction(epsilon=1e-12).method1, weights 1/k)"
    )

    def __init__(self, *, k: int = 4) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"parlai_bleu: k must be a positive int, got {k!r}")
        super().__init__(weights=[1 / k for _ in range(k)], smoothing=1, epsilon=1e-12, level="sentence")
        self.bleu_k = k
        self.name = "parlai_bleu"  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"k": self.bleu_k, "norm": "parlai", **super().signature_info()}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        from mmdial_metrics.f1 import normalize_parlai

        assert references is not None

        def norm(text: str) -> str:
            return normalize_parlai(text) or _PARLAI_EMPTY

        return super()._stats([norm(p) for p in predictions], [[norm(r) for r in refs] for refs in references])


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


def bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """sacrebleu corpus BLEU (13a, exp smoothing, 0-100); options as :class:`BLEU`."""
    return BLEU(**options).score(predictions, references)


def sentence_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean sacrebleu sentence BLEU (effective order); ``item_scores`` holds each sentence's BLEU."""
    return BLEU(level="sentence", **options).score(predictions, references)


def nltk_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """nltk ``corpus_bleu``; options as :class:`NLTKBLEU`."""
    return NLTKBLEU(**options).score(predictions, references)


def nltk_sentence_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean nltk ``sentence_bleu``; ``item_scores`` holds each sentence's value."""
    return NLTKBLEU(level="sentence", **options).score(predictions, references)


def coco_bleu(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """pycocoevalcap ``Bleu`` corpus BLEU-n; options as :class:`CocoBLEU`."""
    return CocoBLEU(**options).score(predictions, references)
