"""Exact integer keys of n-grams and counting with them: :class:`NgramKeys` (mixed-radix packing of token ids,
re-ranked to dense ids whenever packing would overflow 62 bits), :func:`clipped_matches` (clipped n-gram matches
per sentence), :func:`ngram_counts`, and the sort-based counting helpers (:func:`unique_counts`,
:func:`dense_ids`, :func:`run_starts`). Re-exported by :mod:`.ngrams`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmdial_metrics.encoded import Encoded, take

_LIMIT = 1 << 62


def _owners(lengths: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)


def _remaining(lengths: np.ndarray) -> np.ndarray:
    """For each token position: how many tokens of its sequence start there (itself included)."""
    total = int(lengths.sum())
    ends = np.repeat(np.cumsum(lengths), lengths)
    return ends - np.arange(total, dtype=np.int64)


class NgramKeys:
    """Integer keys of all n-grams of several encoded corpora, order by order, comparable across corpora.

    Call :meth:`next_order` to go from order n-1 to n; :attr:`keys` then holds one key per position
    (valid where :meth:`valid` is true), and :attr:`radix` bounds the keys.
    """

    def __init__(self, corpora: Sequence[Encoded], extra_radix: int = 1):
        self.corpora = list(corpora)
        self.remaining = [_remaining(c.lengths) for c in self.corpora]
        self.order = 0
        self.keys: list[np.ndarray] = []
        # ids can exceed the corpora's own vocabulary (process-wide vocabulary): re-rank them densely.
        # (order-preserving, as np.unique's inverse, but O(ids + vocabulary) without a sort)
        nonempty = [c.ids for c in self.corpora if len(c.ids)]
        if nonempty:
            present = np.zeros(max(int(ids.max()) for ids in nonempty) + 1, dtype=bool)
            for ids in nonempty:
                present[ids] = True
            rank = np.cumsum(present, dtype=np.int64) - 1
            self.vocab = max(int(rank[-1]) + 1, 1)
            parts = [rank[c.ids] for c in self.corpora]
        else:
            self.vocab = 1
            parts = [c.ids for c in self.corpora]
        self.tokens = parts
        self.radix = 1
        self.extra = max(int(extra_radix), 1)

    def valid(self, i: int) -> np.ndarray:
        return self.remaining[i] >= self.order

    def next_order(self) -> None:
        n = self.order + 1
        if n == 1:
            self.keys = [t.copy() for t in self.tokens]
            self.radix = self.vocab
            self.order = 1
            return
        if self.radix * self.vocab * self.extra >= _LIMIT:
            self._rerank()
        new = []
        for keys, toks in zip(self.keys, self.tokens, strict=True):
            k = np.zeros_like(keys)
            if len(keys) >= n:
                k[: len(keys) - n + 1] = keys[: len(keys) - n + 1] * self.vocab + toks[n - 1 :]
            new.append(k)
        self.keys = new
        self.radix = self.radix * self.vocab
        self.order = n

    def _rerank(self) -> None:
        masks = [self.valid(i) for i in range(len(self.keys))]
        vals = np.concatenate([k[m] for k, m in zip(self.keys, masks, strict=True)])
        uniq, inv = np.unique(vals, return_inverse=True)
        out = []
        start = 0
        for k, m in zip(self.keys, masks, strict=True):
            cnt = int(m.sum())
            r = np.zeros_like(k)
            r[m] = inv[start : start + cnt]
            start += cnt
            out.append(r)
        self.keys = out
        self.radix = max(len(uniq), 1)


def run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted array.

    >>> run_starts(np.array([1, 1, 2, 5, 5, 5])).tolist()
    [0, 2, 3]
    """
    if len(sorted_values) == 0:
        return np.zeros(0, dtype=np.int64)
    flags = np.empty(len(sorted_values), dtype=bool)
    flags[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=flags[1:])
    return np.flatnonzero(flags)


def unique_counts(values: np.ndarray, *, presorted_runs: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts (``np.unique(values, return_counts=True)``).

    With ``presorted_runs`` the values are nearly sorted (e.g. sentence-major composites whose sentence
    part is non-decreasing): timsort (``kind="stable"``) then runs in about linear time.

    >>> [a.tolist() for a in unique_counts(np.array([3, 1, 3, 2, 3]))]
    [[1, 2, 3], [1, 1, 3]]
    """
    ordered = np.sort(values, kind="stable" if presorted_runs else None)
    starts = run_starts(ordered)
    counts = np.empty(len(starts), dtype=np.int64)
    if len(starts):
        counts[:-1] = starts[1:] - starts[:-1]
        counts[-1] = len(ordered) - starts[-1]
    return ordered[starts], counts


def _count_pairs(group: np.ndarray, keys: np.ndarray, radix: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique (group, key) composites and their counts (``group`` non-decreasing, so the sort is cheap)."""
    return unique_counts(group * radix + keys, presorted_runs=True)


def dense_ids(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids re-ranked to ``0..V-1`` (order-preserving, O(ids + largest id) without a sort) and ``V``.

    >>> t, v = dense_ids(np.array([7, 3, 7, 10]))
    >>> t.tolist(), v
    ([1, 0, 1, 2], 3)
    """
    if len(ids) == 0:
        return ids.astype(np.int64), 1
    present = np.zeros(int(ids.max()) + 1, dtype=bool)
    present[ids] = True
    rank = np.cumsum(present, dtype=np.int64) - 1
    return rank[ids], int(rank[-1]) + 1


def clipped_matches(
    hyp: Encoded,
    refs: Encoded,
    ref_owner: Sequence[int] | np.ndarray,
    max_order: int,
    *,
    chunk_tokens: int = 1 << 16,
) -> tuple[np.ndarray, np.ndarray]:
    """BLEU's clipped n-gram matches and n-gram totals per hypothesis.

    Args:
        hyp: One encoded sequence per hypothesis.
        refs: All references, flattened.
        ref_owner: For each reference, the index of its hypothesis.
        max_order: Highest n-gram order.

    Returns:
        ``(matches, totals)``, int64 arrays of shape ``(n_hyp, max_order)``: for each order,
        ``sum_g min(count_hyp(g), max_r count_ref_r(g))`` and the number of hypothesis n-grams.

    How: hypothesis and reference positions are sorted together by (hypothesis index, n-gram); each
    run of one (hypothesis, n-gram) then holds the hypothesis count and the count in each reference.
    The run index of an n-gram is the key prefix of the next order (``run * V + next token``), so keys
    never overflow, and positions whose n-gram is missing from the hypothesis or from all its
    references are dropped (no longer n-gram starting there can match). The arrays stay in the sorted
    order of the previous order, where the next keys are nearly sorted (timsort: about linear time),
    and stable sorting keeps each run's entries in position order (hypothesis, then its references).

    The work goes in chunks of hypotheses (about ``chunk_tokens`` tokens with their references), so
    the arrays stay small enough for the CPU caches.

    >>> from mmdial_metrics.ngrams import encode
    >>> h, r = encode([["a", "b", "a", "b"]]), encode([["b", "a", "b"], ["a", "b", "a"]])
    >>> m, t = clipped_matches(h, r, [0, 0], 3)
    >>> m.tolist(), t.tolist()
    ([[4, 2, 2]], [[4, 3, 2]])
    """
    n_hyp = len(hyp.lengths)
    owner = np.asarray(ref_owner, dtype=np.int64)
    matches = np.zeros((n_hyp, max_order), dtype=np.int64)
    totals = np.zeros((n_hyp, max_order), dtype=np.int64)
    for n in range(1, max_order + 1):
        totals[:, n - 1] = np.maximum(hyp.lengths - n + 1, 0)
    if len(hyp.ids) == 0 or len(refs.ids) == 0:
        return matches, totals
    if len(owner) and np.any(owner[1:] < owner[:-1]):  # references grouped by hypothesis, order kept
        by_owner = np.argsort(owner, kind="stable")
        refs, owner = take(refs, by_owner), owner[by_owner]
    # chunk boundaries: hypothesis index ranges of about chunk_tokens tokens, references included
    ref_tokens = np.bincount(owner, weights=refs.lengths, minlength=n_hyp)
    cum = np.cumsum(hyp.lengths + ref_tokens)
    bounds = np.unique(np.searchsorted(cum, np.arange(chunk_tokens, cum[-1], chunk_tokens), side="right"))
    h_off, r_off = hyp.offsets, refs.offsets
    r_first = np.searchsorted(owner, np.arange(n_hyp + 1))
    for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), n_hyp], strict=True):
        if a == b:
            continue
        ra, rb = int(r_first[a]), int(r_first[b])
        part_h = Encoded(ids=hyp.ids[h_off[a] : h_off[b]], lengths=hyp.lengths[a:b])
        part_r = Encoded(ids=refs.ids[r_off[ra] : r_off[rb]], lengths=refs.lengths[ra:rb])
        matches[a:b] = _clipped_chunk(part_h, part_r, owner[ra:rb] - a, max_order)
    return matches, totals


def _clipped_chunk(hyp: Encoded, refs: Encoded, owner: np.ndarray, max_order: int) -> np.ndarray:
    """:func:`clipped_matches` of one chunk (references grouped by hypothesis): the matches."""
    n_hyp = len(hyp.lengths)
    n_refs = len(refs.lengths)
    matches = np.zeros((n_hyp, max_order), dtype=np.int64)
    n_hyp_tok = len(hyp.ids)
    if n_hyp_tok == 0 or len(refs.ids) == 0:
        return matches
    lengths = np.concatenate([hyp.lengths, refs.lengths])
    tok, vocab = dense_ids(np.concatenate([hyp.ids, refs.ids]))
    grp = np.repeat(np.concatenate([np.arange(n_hyp, dtype=np.int64), owner]), lengths)
    end = np.repeat(np.cumsum(lengths), lengths)  # end of each position's sequence
    src = None
    n_src = 2
    if n_refs != n_hyp or not np.array_equal(owner, np.arange(n_refs)):
        # source of each position: 0 hypothesis, 1 + k the k-th reference of its hypothesis
        by_owner = np.argsort(owner, kind="stable")
        first = np.searchsorted(owner[by_owner], np.arange(n_hyp))
        within = np.empty(n_refs, dtype=np.int64)
        within[by_owner] = np.arange(n_refs) - first[owner[by_owner]]
        src_seq = np.concatenate([np.zeros(n_hyp, dtype=np.int64), within + 1])
        src = np.repeat(src_seq, lengths)
        n_src = int(src_seq.max()) + 1
    total = len(tok)
    if max(n_hyp, total) * max(vocab, n_src) >= _LIMIT:  # pragma: no cover - beyond any real corpus
        raise ValueError("clipped_matches: corpus too large for 62-bit n-gram keys")
    pos = np.arange(total, dtype=np.int64)  # the positions, in the current arrangement
    key = grp * vocab + tok  # order 1: (hypothesis index, token)
    for n in range(1, max_order + 1):
        order = np.argsort(key, kind="stable")
        pos = pos[order]
        ks = key[order]
        new_run = np.empty(len(ks), dtype=bool)
        new_run[0] = True
        np.not_equal(ks[1:], ks[:-1], out=new_run[1:])
        starts = np.flatnonzero(new_run)
        run = np.cumsum(new_run, dtype=np.int64)
        run -= 1
        count_all = np.diff(np.append(starts, len(ks)))
        hyp_cnt = np.add.reduceat(pos < n_hyp_tok, starts, dtype=np.int64)
        if src is None:
            ref_cnt = count_all - hyp_cnt
        else:
            # (run, source) is non-decreasing here: count each reference's run, keep the max
            comp = run * n_src + src[pos]
            sub = run_starts(comp)
            sub_cnt = np.diff(np.append(sub, len(comp)))
            sub_run, sub_src = np.divmod(comp[sub], n_src)
            is_ref = sub_src > 0
            ref_cnt = np.zeros(len(starts), dtype=np.int64)
            np.maximum.at(ref_cnt, sub_run[is_ref], sub_cnt[is_ref])
        clipped = np.minimum(hyp_cnt, ref_cnt)
        matches[:, n - 1] = np.bincount(grp[pos[starts]], weights=clipped, minlength=n_hyp).astype(np.int64)
        if n == max_order:
            break
        # the next order extends n-grams that both sides have (no other can match) and that have room
        keep = (clipped > 0)[run]
        keep &= end[pos] - pos > n
        pos = pos[keep]
        if len(pos) == 0:
            break
        key = run[keep]
        key *= vocab
        key += tok[pos + n]
    return matches


def ngram_counts(enc: Encoded, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct n-grams of each sequence: ``(owner, key, count)`` arrays (keys comparable within ``enc``)."""
    keys = NgramKeys([enc], extra_radix=max(len(enc.lengths), 1))
    for _ in range(n):
        keys.next_order()
    m = keys.valid(0)
    comp, cnt = _count_pairs(_owners(enc.lengths)[m], keys.keys[0][m], keys.radix)
    return comp // keys.radix, comp % keys.radix, cnt
