"""Token-id sequences held flat (:class:`Encoded`) and the operations that only move them: :func:`take`,
:func:`concat`, :func:`encode_ids`. Turning text into ids (one vocabulary per process) is :mod:`.ngrams`.

Example:
    >>> e = concat([encode_ids([[1, 2]]), encode_ids([[3], []])])
    >>> e.ids.tolist(), e.lengths.tolist(), e.offsets.tolist()
    ([1, 2, 3], [2, 1, 0], [0, 2, 3, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np


@dataclass
class Encoded:
    """Token ids of many sequences, flattened: ``ids[offsets[i]:offsets[i+1]]`` is sequence ``i``."""

    ids: np.ndarray
    lengths: np.ndarray

    @property
    def offsets(self) -> np.ndarray:
        out = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=out[1:])
        return out


def take(enc: Encoded, index: np.ndarray | Sequence[int]) -> Encoded:
    """The sequences of ``enc`` at ``index`` (repeats allowed), flattened again.

    >>> e = take(encode_ids([[1, 2], [3], [4, 5, 6]]), [2, 0, 2])
    >>> e.ids.tolist(), e.lengths.tolist()
    ([4, 5, 6, 1, 2, 4, 5, 6], [3, 2, 3])
    """
    index = np.asarray(index, dtype=np.int64)
    lengths = enc.lengths[index]
    starts = enc.offsets[:-1][index]
    total = int(lengths.sum())
    if total == 0:
        return Encoded(ids=np.zeros(0, dtype=np.int64), lengths=lengths)
    # position j of the output reads starts[seq(j)] + (j - out_start[seq(j)])
    out_start = np.cumsum(lengths) - lengths
    shift = np.repeat(starts - out_start, lengths)
    return Encoded(ids=enc.ids[np.arange(total, dtype=np.int64) + shift], lengths=lengths)


def concat(parts: Sequence[Encoded]) -> Encoded:
    """One :class:`Encoded` of several, in order."""
    return Encoded(ids=np.concatenate([p.ids for p in parts]), lengths=np.concatenate([p.lengths for p in parts]))


def encode_ids(id_lists: Sequence[Sequence[int]]) -> Encoded:
    """Encode sequences that are already token ids (e.g. from a cache)."""
    lengths = np.fromiter((len(t) for t in id_lists), dtype=np.int64, count=len(id_lists))
    total = int(lengths.sum())
    ids = np.fromiter(chain.from_iterable(id_lists), dtype=np.int64, count=total)
    return Encoded(ids=ids, lengths=lengths)
