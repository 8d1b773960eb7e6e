"""Longest common subsequence: bit-parallel length (Hyyrö 2004) and the DP table rouge-score backtracks.

Example:
    >>> lcs_length(["a", "b", "c", "d"], ["a", "c", "b", "d"])
    3
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from mmdial_metrics.ngrams import Encoded


def lcs_length(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Length of the LCS of ``a`` and ``b`` with word-parallel bit operations on Python ints."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return 0
    masks: dict[Hashable, int] = {}
    for i, x in enumerate(a):
        masks[x] = masks.get(x, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for y in b:
        m = masks.get(y)
        if m is None:
            continue
        u = v & m
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def lcs_lengths(x: Encoded, y: Encoded, *, chunk_tokens: int = 1 << 16) -> np.ndarray:
    """LCS length of each pair ``(x[i], y[i])`` of encoded sequences, all pairs at once.

    The bit-parallel recurrence of :func:`lcs_length` on numpy ``uint64`` words, one per pair: the bits
    run over the pair's shorter sequence, the steps over its longer one, and step ``j`` updates only
    the pairs whose longer sequence has a ``j``-th token (pairs sorted by that length). The match mask
    of each token of the longer sequence comes from one sort of (pair, token) keys of the shorter.
    Pairs whose shorter sequence has more than 64 tokens use :func:`lcs_length`. The pairs go in
    chunks of about ``chunk_tokens`` tokens, so the arrays stay cache-sized.

    >>> from mmdial_metrics.ngrams import encode
    >>> lcs_lengths(encode([list("abcd"), [], list("xyz")]), encode([list("acbd"), list("ab"), list("zyx")])).tolist()
    [3, 0, 1]
    """
    import numpy as np

    from mmdial_metrics.ngrams import Encoded

    n = len(x.lengths)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(x.lengths + y.lengths)
    bounds = np.searchsorted(cum, np.arange(chunk_tokens, int(cum[-1]), chunk_tokens), side="right").tolist()
    x_off, y_off = x.offsets, y.offsets
    parts = []
    for a, b in zip([0, *bounds], [*bounds, n], strict=True):
        if a < b:
            xs = Encoded(ids=x.ids[x_off[a] : x_off[b]], lengths=x.lengths[a:b])
            ys = Encoded(ids=y.ids[y_off[a] : y_off[b]], lengths=y.lengths[a:b])
            parts.append(_lcs_chunk(xs, ys))
    return np.concatenate(parts)


def _lcs_chunk(x: Encoded, y: Encoded) -> np.ndarray:
    """:func:`lcs_lengths` of one chunk of pairs."""
    import numpy as np

    from mmdial_metrics.ngram_keys import _owners, dense_ids, run_starts

    n = len(x.lengths)
    out = np.zeros(n, dtype=np.int64)
    swap = x.lengths > y.lengths
    short_len = np.where(swap, y.lengths, x.lengths)
    long_len = np.where(swap, x.lengths, y.lengths)
    x_off, y_off = x.offsets, y.offsets
    words = np.flatnonzero((short_len > 0) & (short_len <= 64))
    for i in np.flatnonzero(short_len > 64).tolist():  # rare: Python ints as bit vectors
        out[i] = lcs_length(x.ids[x_off[i] : x_off[i + 1]].tolist(), y.ids[y_off[i] : y_off[i + 1]].tolist())
    if len(words) == 0:
        return out

    both = np.concatenate([x.ids, y.ids])

    def gather(from_y: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Tokens of one sequence of each pair in ``words``: x's where ``from_y`` is 0, else y's."""
        starts = np.where(from_y, y_off[words] + len(x.ids), x_off[words])
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return both[np.repeat(starts, lengths) + within]

    s_len, l_len = short_len[words], long_len[words]
    swap_w = swap[words]
    toks, vocab = dense_ids(np.concatenate([gather(swap_w, s_len), gather(~swap_w, l_len)]))
    s_tok, l_tok = toks[: int(s_len.sum())], toks[int(s_len.sum()) :]
    # match mask of (pair, token) over the shorter sequence's positions
    s_owner = _owners(s_len)
    s_index = np.arange(len(s_tok)) - np.repeat(np.cumsum(s_len) - s_len, s_len)
    s_bit = np.left_shift(np.uint64(1), s_index.astype(np.uint64))
    key = s_owner * vocab + s_tok
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    starts = run_starts(key_sorted)
    uniq = key_sorted[starts]
    mask = np.bitwise_or.reduceat(s_bit[order], starts)
    l_key = _owners(l_len) * vocab + l_tok
    at = np.minimum(np.searchsorted(uniq, l_key), len(uniq) - 1)
    l_mask = np.where(uniq[at] == l_key, mask[at], np.uint64(0))
    # Hyyrö's recurrence, pairs by decreasing length of their longer sequence
    by_len = np.argsort(-l_len, kind="stable")
    base = (np.cumsum(l_len) - l_len)[by_len]
    active = np.searchsorted(-l_len[by_len], -np.arange(int(l_len.max())), side="left")  # pairs longer than j
    v = np.full(len(words), np.uint64(0xFFFFFFFFFFFFFFFF))
    for j, k in enumerate(active.tolist()):
        vk = v[:k]
        u = vk & l_mask[base[:k] + j]
        v[:k] = (vk + u) | (vk - u)  # wraps mod 2**64: bits above the shorter length never reach below
    full = np.left_shift(np.uint64(1), s_len.astype(np.uint64) - np.uint64(1)) * np.uint64(2) - np.uint64(1)
    out[words[by_len]] = s_len[by_len] - np.bitwise_count(v & full[by_len]).astype(np.int64)
    return out


def lcs_table(ref: Sequence[Hashable], can: Sequence[Hashable]) -> list[list[int]]:
    """rouge-score's ``_lcs_table``."""
    rows, cols = len(ref), len(can)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        prev, row, r = table[i - 1], table[i], ref[i - 1]
        for j in range(1, cols + 1):
            row[j] = prev[j - 1] + 1 if r == can[j - 1] else max(prev[j], row[j - 1])
    return table


def lcs_indices(ref: Sequence[Hashable], can: Sequence[Hashable]) -> list[int]:
    """rouge-score's ``lcs_ind``: indices into ``ref`` of one LCS (its backtracking tie rule)."""
    t = lcs_table(ref, can)
    i, j = len(ref), len(can)
    out: list[int] = []
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            out.append(i - 1)
            i -= 1
            j -= 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    out.reverse()
    return out
