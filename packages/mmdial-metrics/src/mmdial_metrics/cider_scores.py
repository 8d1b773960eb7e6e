"""CIDEr-D exactly as pycocoevalcap's ``Cider`` computes it (without its Java PTB tokenizer).

Per n-gram order 1..4: tf-idf vectors with document frequencies from the references of the corpus,
hypothesis counts clipped by the reference's (``min(hyp, ref) * ref``), cosine normalised, a Gaussian
length penalty (sigma 6) on the difference of the *bigram counts* (pycocoevalcap's ``length``),
mean over orders and references, times 10. Tokens are ``str.split()``: tokenize beforehand (e.g.
lowercase and strip punctuation as the PTB tokenizer would) if the reference number used it.

Vectorized: n-grams are exact integer keys (:mod:`mmdial_metrics.ngrams`), document frequencies count
unique (item, n-gram) pairs, tf-idf vectors are sorted sparse (sentence, n-gram) arrays, and the clipped
dot products, norms and length penalties are segment sums (``np.bincount``) over them.

Example:
    >>> r = cider_d(["a cat on a mat", "a dog"], [["a cat on the mat"], ["the dog runs"]])
    >>> round(r.score, 6)
    2.602957
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.core import Metric, MetricResult
from mmdial_metrics.encoded import Encoded, concat, take
from mmdial_metrics.ngram_keys import NgramKeys, _count_pairs, _owners, unique_counts
from mmdial_metrics.ngrams import encode_texts


@dataclass
class _Items:
    """Encoded hypotheses and references of a corpus; item ``i`` owns ``ref_count[i]`` consecutive references."""

    hyp: Encoded
    refs: Encoded
    ref_count: np.ndarray

    def __len__(self) -> int:
        return len(self.hyp.lengths)


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` in ``sorted_keys`` and whether each is there."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return idx, sorted_keys[idx] == keys


def _idf(keys: np.ndarray, df_keys: np.ndarray, log_df: np.ndarray, ref_len: float) -> np.ndarray:
    """``ref_len - log(max(1, df))`` per key (an n-gram no reference has: df 0, weight ``ref_len``)."""
    if len(df_keys) == 0:
        return np.full(len(keys), ref_len)
    idx, found = _lookup(df_keys, keys)
    return ref_len - np.where(found, log_df[idx], 0.0)


def cider_item_scores(items: _Items, n: int = 4, sigma: float = 6.0) -> np.ndarray:
    """pycocoevalcap's per-item CIDEr-D scores, document frequencies from ``items``' references."""
    n_items = len(items)
    hyp, refs = items.hyp, items.refs
    n_refs = len(refs.lengths)
    owner = np.repeat(np.arange(n_items, dtype=np.int64), items.ref_count)
    ref_len = math.log(float(n_items))
    # pycocoevalcap's "length" is the number of bigrams; Gaussian penalty on its difference, per reference
    delta = (np.maximum(hyp.lengths - 1, 0)[owner] - np.maximum(refs.lengths - 1, 0)).astype(np.float64)
    pen = np.e ** (-(delta**2) / (2 * sigma**2))
    hyp_pos = _owners(hyp.lengths)
    ref_pos = _owners(refs.lengths)
    multi = n_refs != n_items or bool(np.any(owner != np.arange(n_refs)))
    keys = NgramKeys([hyp, refs], extra_radix=max(n_items, n_refs, 1))
    total = np.zeros(n_refs, dtype=np.float64)
    for _ in range(n):
        keys.next_order()
        radix = keys.radix
        hm, rm = keys.valid(0), keys.valid(1)
        h_comp, h_cnt = _count_pairs(hyp_pos[hm], keys.keys[0][hm], radix)  # sorted (item, n-gram)
        r_comp, r_cnt = _count_pairs(ref_pos[rm], keys.keys[1][rm], radix)  # sorted (reference, n-gram)
        h_item, h_key = h_comp // radix, h_comp % radix
        r_ref, r_key = r_comp // radix, r_comp % radix
        # document frequency: number of items with the n-gram in any of their references
        item_key = owner[r_ref] * radix + r_key
        if multi:
            item_key = unique_counts(item_key)[0]  # sort-based: numpy 2's hashed np.unique is slower here
        df_keys, df = unique_counts(item_key % radix)
        log_df = np.log(np.maximum(1.0, df.astype(np.float64)))
        xh = h_cnt.astype(np.float64) * _idf(h_key, df_keys, log_df, ref_len)
        xr = r_cnt.astype(np.float64) * _idf(r_key, df_keys, log_df, ref_len)
        norm_h = np.sqrt(np.bincount(h_item, weights=xh**2, minlength=n_items))[owner]
        norm_r = np.sqrt(np.bincount(r_ref, weights=xr**2, minlength=n_refs))
        # clipped dot product: reference entries whose n-gram the hypothesis of their item has
        idx, found = _lookup(h_comp, owner[r_ref] * radix + r_key)
        contrib = np.minimum(xh[idx[found]], xr[found]) * xr[found]
        val = np.bincount(r_ref[found], weights=contrib, minlength=n_refs)
        both = (norm_h != 0) & (norm_r != 0)
        val = np.where(both, val / np.where(both, norm_h * norm_r, 1.0), val)
        total += val * pen
    per_item = np.bincount(owner, weights=total, minlength=n_items) / n
    return per_item / items.ref_count * 10.0


class CIDErD(Metric):
    """pycocoevalcap CIDEr-D (corpus mean of per-item scores; document frequencies from this corpus).

    Args:
        n: Highest n-gram order (4).
        sigma: Length penalty width (6.0).
    """

    name: ClassVar[str] = "cider_d"
    citation: ClassVar[str] = "Vedantam et al. 2015"
    reference: ClassVar[str] = "pycocoevalcap.cider.Cider"
    resampling_sensitive: ClassVar[bool] = True  # document frequencies count distinct items

    def __init__(self, *, n: int = 4, sigma: float = 6.0) -> None:
        super().__init__()
        if n < 1:
            raise ValueError(f"cider_d: n must be >= 1, got {n}")
        self.n = n
        self.sigma = sigma

    def signature_info(self) -> dict[str, Any]:
        return {"n": self.n, "sigma": self.sigma, "tok": "whitespace", "df": "corpus-refs"}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> _Items:
        assert references is not None
        flat = [r for group in references for r in group]
        return _Items(
            encode_texts(predictions),
            encode_texts(flat),
            np.fromiter(map(len, references), dtype=np.int64, count=len(references)),
        )

    def _concat(self, chunks: list[_Items]) -> _Items:
        if len(chunks) == 1:
            return chunks[0]
        return _Items(
            concat([c.hyp for c in chunks]),
            concat([c.refs for c in chunks]),
            np.concatenate([c.ref_count for c in chunks]),
        )

    def _select(self, stats: _Items, index: Sequence[int]) -> _Items:
        index = np.asarray(index, dtype=np.int64)
        count = stats.ref_count[index]
        first = (np.cumsum(stats.ref_count) - stats.ref_count)[index]
        ref_index = np.repeat(first - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
        return _Items(take(stats.hyp, index), take(stats.refs, ref_index), count)

    def _reduce(self, stats: _Items) -> tuple[float, dict[str, Any], list[float] | None]:
        items = cider_item_scores(stats, self.n, self.sigma)
        return float(items.mean()), {}, items.tolist()


def cider_d(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """pycocoevalcap CIDEr-D; options as :class:`CIDErD`."""
    return CIDErD(**options).score(predictions, references)
