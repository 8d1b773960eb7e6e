"""Diversity of the predictions alone: Distinct-n (three definitions), n-gram entropy, Self-BLEU, length.

- ``inter`` Distinct-n (Li et al. 2016): distinct n-grams of the whole corpus / all n-grams of the corpus.
- ``intra`` Distinct-n: mean over responses of distinct n-grams / n-grams of that response (a response
  with no n-gram counts 0).
- ``token`` Distinct-n: distinct n-grams of the corpus / number of tokens of the corpus.

Tokens are ``str.split()`` (optionally lowercased). References, if given, are ignored.

Example:
    >>> preds = ["i do not know", "i do not know", "i like cats"]
    >>> distinct(preds, n=1).score
    0.5454545454545454
    >>> round(distinct(preds, n=2, mode="intra").score, 6)
    1.0
    >>> round(entropy(preds, n=1).score, 6)
    1.720193
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.core import Metric, MetricResult
from mmdial_metrics.ngrams import Encoded, concat, dense_ids, encode_texts, ngram_counts, take, unique_counts

_MODES = ("inter", "intra", "token")


_DENSE_LIMIT = 1 << 26  # largest n-gram key space counted with a table (bytes) instead of a sort


def _count_distinct(enc: Any, n: int) -> int:
    """Number of distinct n-grams of the whole corpus.

    An n-gram is the exact integer ``sum_k id_k * V**(n-1-k)`` (V = number of distinct ids) when that
    fits in 62 bits; the distinct keys are then counted with a table of ``V**n`` flags when that is
    small, else with one sort (``uint32`` where the keys fit). Otherwise the general re-ranking path
    of :func:`ngram_counts`.
    """
    total = len(enc.ids)
    starts = total - n + 1
    if starts <= 0:
        return 0
    ids, vocab = dense_ids(enc.ids)
    if vocab**n >= 1 << 62:
        _, key, _ = ngram_counts(enc, n)
        return len(unique_counts(key)[0])
    # an n-gram starts at each position but the last n-1 of its sentence (none in a shorter sentence)
    lengths = enc.lengths[enc.lengths > 0]
    ends = np.cumsum(lengths)
    first = ends - lengths
    valid = np.ones(total, dtype=bool)
    for k in range(1, n):
        valid[np.maximum(ends - k, first)] = False
    valid = valid[:starts]
    key = ids[:starts].copy()
    for k in range(1, n):
        key *= vocab
        key += ids[k : k + starts]
    key = key[valid]
    if len(key) == 0:
        return 0
    if vocab**n <= _DENSE_LIMIT:
        seen = np.zeros(vocab**n, dtype=bool)
        seen[key] = True
        return int(np.count_nonzero(seen))
    key = np.sort(key.astype(np.uint32) if vocab**n <= 1 << 32 else key)
    return int(np.count_nonzero(key[1:] != key[:-1])) + 1


class _PredictionsOnly(Metric):
    needs_references: ClassVar[bool] = False

    def __init__(self, *, lowercase: bool = False) -> None:
        super().__init__()
        self.lowercase = lowercase

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> Encoded:
        return encode_texts(predictions, lowercase=self.lowercase)

    def _concat(self, chunks: list[Encoded]) -> Encoded:
        return chunks[0] if len(chunks) == 1 else concat(chunks)

    def _select(self, stats: Encoded, index: Sequence[int]) -> Encoded:
        return take(stats, index)


class Distinct(_PredictionsOnly):
    """Distinct-n; ``mode`` is ``inter`` (corpus, default), ``intra`` (mean per response) or ``token``."""

    name: ClassVar[str] = "distinct"
    citation: ClassVar[str] = "Li et al. 2016"
    reference: ClassVar[str] = "plain Python set/Counter loop (definition)"

    def __init__(self, *, n: int = 2, mode: str = "inter", lowercase: bool = False) -> None:
        super().__init__(lowercase=lowercase)
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"distinct: n must be a positive int, got {n!r}")
        if mode not in _MODES:
            raise ValueError(f"distinct: mode must be one of {_MODES}, got {mode!r}")
        self.n = n
        self.mode = mode
        self.resampling_sensitive = mode != "intra"  # type: ignore[misc]  # intra: a mean of per-item values
        self.name = f"{'intra_' if mode == 'intra' else ''}distinct_{n}{'_tok' if mode == 'token' else ''}"  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"n": self.n, "mode": self.mode, "tok": "whitespace", "case": "lc" if self.lowercase else "mixed"}

    def _reduce(self, stats: Encoded) -> tuple[float, dict[str, Any], list[float] | None]:
        enc = stats
        per_item_total = np.maximum(enc.lengths - self.n + 1, 0)
        if self.mode == "intra":
            owner, _, _ = ngram_counts(enc, self.n)
            distinct_per = np.bincount(owner, minlength=len(enc.lengths))
            items = np.where(per_item_total > 0, distinct_per / np.maximum(per_item_total, 1), 0.0)
            return float(items.mean()), {}, items.tolist()
        n_distinct = _count_distinct(enc, self.n)
        denom = int(per_item_total.sum()) if self.mode == "inter" else int(enc.lengths.sum())
        score = n_distinct / denom if denom else 0.0
        return score, {"distinct": n_distinct, "total": denom}, None


class Entropy(_PredictionsOnly):
    """n-gram entropy of the corpus (Zhang et al. 2018): ``-sum p log p`` over n-gram frequencies.

    Args:
        n: n-gram order.
        base: ``e`` (natural log, default) or ``2``.
    """

    name: ClassVar[str] = "entropy"
    citation: ClassVar[str] = "Zhang et al. 2018"
    reference: ClassVar[str] = "plain Python Counter loop (definition)"
    resampling_sensitive: ClassVar[bool] = True

    def __init__(self, *, n: int = 4, base: str | float = "e", lowercase: bool = False) -> None:
        super().__init__(lowercase=lowercase)
        if base not in ("e", 2, "2", 2.0):
            raise ValueError(f"entropy: base must be 'e' or 2, got {base!r}")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"entropy: n must be a positive int, got {n!r}")
        self.n = n
        self.base = "e" if base == "e" else "2"
        self.name = f"entropy_{n}" + ("_log2" if self.base == "2" else "")  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"n": self.n, "log": self.base, "tok": "whitespace", "case": "lc" if self.lowercase else "mixed"}

    def _reduce(self, stats: Encoded) -> tuple[float, dict[str, Any], list[float] | None]:
        enc = stats
        _, key, cnt = ngram_counts(enc, self.n)
        if len(key) == 0:
            return 0.0, {}, None
        order = np.argsort(key, kind="stable")
        key, cnt = key[order], cnt[order]
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        freq = np.add.reduceat(cnt, starts).astype(np.float64)
        p = freq / freq.sum()
        h = float(-(p * np.log(p)).sum())
        if self.base == "2":
            h /= math.log(2)
        return h, {"ngrams": int(freq.sum()), "distinct": len(freq)}, None


class AverageLength(_PredictionsOnly):
    """Mean number of whitespace tokens per prediction."""

    name: ClassVar[str] = "avg_length"
    citation: ClassVar[str] = ""
    reference: ClassVar[str] = "definition"
    higher_is_better: ClassVar[bool] = True

    def signature_info(self) -> dict[str, Any]:
        return {"tok": "whitespace"}

    def _reduce(self, stats: Encoded) -> tuple[float, dict[str, Any], list[float] | None]:
        items = stats.lengths.astype(np.float64).tolist()
        return sum(items) / len(items), {}, items


class SelfBLEU(Metric):
    """Self-BLEU (Zhu et al. 2018, Texygen): each prediction's nltk sentence BLEU against all the others
    (whitespace tokens, uniform weights up to ``n``, ``SmoothingFunction().method1``), averaged. Lower is
    more diverse. Cost grows with the square of the number of predictions: pass ``max_items`` to sample.
    """

    name: ClassVar[str] = "self_bleu"
    citation: ClassVar[str] = "Zhu et al. 2018"
    reference: ClassVar[str] = "Texygen SelfBleu (nltk sentence_bleu, method1)"
    higher_is_better: ClassVar[bool] = False
    needs_references: ClassVar[bool] = False
    resampling_sensitive: ClassVar[bool] = True

    def __init__(self, *, n: int = 4, smoothing: int = 1, max_items: int | None = None, seed: int = 0) -> None:
        super().__init__()
        self.n = n
        self.smoothing = smoothing
        self.max_items = max_items
        self.seed = seed

    def signature_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"n": self.n, "smooth": f"method{self.smoothing}", "tok": "whitespace"}
        if self.max_items:
            info["sample"] = f"{self.max_items}@{self.seed}"
        return info

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[str]:
        return list(predictions)

    def _reduce(self, stats: list[str]) -> tuple[float, dict[str, Any], list[float] | None]:
        from mmdial_metrics.bleu_nltk import NLTKBLEU

        preds = list(stats)
        if len(preds) < 2:
            return 0.0, {}, [0.0] * len(preds)
        if self.max_items and len(preds) > self.max_items:
            rng = np.random.default_rng(self.seed)
            preds = [preds[i] for i in sorted(rng.choice(len(preds), self.max_items, replace=False))]
        refs = [preds[:i] + preds[i + 1 :] for i in range(len(preds))]
        metric = NLTKBLEU(weights=(1.0 / self.n,) * self.n, smoothing=self.smoothing, level="sentence")
        result = metric.score(preds, refs)
        return result.score, {}, result.item_scores


def distinct(predictions: Sequence[str], references: Sequence[Any] | None = None, **options: Any) -> MetricResult:
    """Distinct-n; options as :class:`Distinct`."""
    return Distinct(**options).score(predictions, references)


def entropy(predictions: Sequence[str], references: Sequence[Any] | None = None, **options: Any) -> MetricResult:
    """n-gram entropy; options as :class:`Entropy`."""
    return Entropy(**options).score(predictions, references)


def self_bleu(predictions: Sequence[str], references: Sequence[Any] | None = None, **options: Any) -> MetricResult:
    """Self-BLEU; options as :class:`SelfBLEU`."""
    return SelfBLEU(**options).score(predictions, references)


def avg_length(predictions: Sequence[str], references: Sequence[Any] | None = None) -> MetricResult:
    """Mean prediction length in whitespace tokens."""
    return AverageLength().score(predictions, references)
