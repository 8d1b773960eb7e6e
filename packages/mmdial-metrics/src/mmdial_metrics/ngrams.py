"""Vectorized n-gram statistics: clipped n-gram matches per sentence with numpy, exactly.

Tokens become integer ids (one vocabulary per process, cached per sentence); an n-gram becomes one
integer key (mixed-radix packing of its token ids, re-ranked to dense ids whenever packing would
overflow 62 bits), so no hashing and no collisions. Counting (sentence, n-gram) pairs is a sort.

This module turns text into ids (:func:`encode`, :func:`encode_split`, :func:`encode_texts`); the flat sequences
are :mod:`.encoded`, the n-gram keys and counts :mod:`.ngram_keys` (both re-exported here).

Example:
    >>> hyp = encode([["a", "b", "a"]])
    >>> ref = encode([["a", "b", "b"]])
    >>> m, t = clipped_matches(hyp, ref, [0], 2)
    >>> m.tolist(), t.tolist()
    ([[2, 1]], [[3, 2]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, count, filterfalse, repeat
from typing import Any

import numpy as np

from mmdial_metrics.encoded import Encoded as Encoded
from mmdial_metrics.encoded import concat as concat
from mmdial_metrics.encoded import encode_ids as encode_ids
from mmdial_metrics.encoded import take as take
from mmdial_metrics.ngram_keys import NgramKeys as NgramKeys
from mmdial_metrics.ngram_keys import clipped_matches as clipped_matches
from mmdial_metrics.ngram_keys import dense_ids as dense_ids
from mmdial_metrics.ngram_keys import ngram_counts as ngram_counts
from mmdial_metrics.ngram_keys import run_starts as run_starts
from mmdial_metrics.ngram_keys import unique_counts as unique_counts

_VOCAB: dict[str, int] = {}


def encode(token_lists: Sequence[Sequence[str]]) -> Encoded:
    """Encode tokenized sequences."""
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    flat = list(chain.from_iterable(token_lists))
    vocab = _VOCAB
    for tok in dict.fromkeys(flat):  # new tokens get ids in order of first occurrence
        if tok not in vocab:
            vocab[tok] = len(vocab)
    ids = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    return Encoded(ids=ids, lengths=lengths)


#: The characters ``str.split()`` splits on (``str.isspace``), as a regex class for polars (Rust ``regex``).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PL_OTHER_WS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE if c != " ") + "]"

#: ``None``: use polars for whitespace tokenization when it is installed; ``False``: never (tests set it).
USE_POLARS: bool | None = None


def _polars() -> object | None:
    if USE_POLARS is False:
        return None
    try:
        import polars
    except ImportError:
        return None
    return polars


def _from_unique(codes: np.ndarray, unique_tokens: list[str], lengths: np.ndarray, skip: str | None = None) -> Encoded:
    """Encoded from local codes (indices into ``unique_tokens``), mapped to the process vocabulary
    (``skip``: a separator token whose codes are gone already; it gets no id)."""
    vocab = _VOCAB
    new = dict.fromkeys(filterfalse(vocab.__contains__, unique_tokens))
    new.pop(skip, None)
    vocab.update(zip(new, count(len(vocab))))  # new tokens: the next ids, in order of first occurrence
    lut = np.fromiter(map(vocab.get, unique_tokens, repeat(-1)), dtype=np.int64, count=len(unique_tokens))
    return Encoded(ids=lut[codes] if len(codes) else np.zeros(0, dtype=np.int64), lengths=lengths)


def _encode_split_polars(texts: list[str], pl: Any) -> Encoded:
    s = pl.Series(values=texts, dtype=pl.String)
    if s.str.contains(_PL_OTHER_WS).any():
        s = s.str.replace_all(_PL_OTHER_WS, " ")
    parts = s.str.split(" ")  # runs of spaces give empty parts, dropped below
    counts = parts.list.len().to_numpy().astype(np.int64)
    flat = parts.explode()
    nonempty = (flat.str.len_bytes() > 0).to_numpy()
    if nonempty.all():
        lengths = counts
    else:
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
        lengths = np.bincount(owner[nonempty], minlength=len(texts)).astype(np.int64)
        flat = flat.filter(pl.Series(values=nonempty))
    cats = flat.cast(pl.Categorical)
    present = cats.unique(maintain_order=True)  # first-occurrence order, as the Python path
    codes = cats.to_physical().to_numpy().astype(np.int64)
    present_codes = present.to_physical().to_numpy().astype(np.int64)
    local = np.zeros(int(present_codes.max()) + 1 if len(present_codes) else 1, dtype=np.int64)
    local[present_codes] = np.arange(len(present_codes))  # polars' codes -> index into ``present``
    return _from_unique(local[codes], present.cast(pl.String).to_list(), lengths)


def _encode_split_python(texts: list[str]) -> Encoded:
    n = len(texts)
    for sep in ("\x00", "\x01", "\x02", "\x03"):  # a separator token no text contains
        joined = f" {sep} ".join(texts)
        if joined.count(sep) == n - 1:
            break
    else:
        return encode([t.split() for t in texts])
    tokens = joined.split()  # one call for the corpus: no list per text
    local = dict(zip(dict.fromkeys(tokens), count()))
    codes = np.fromiter(map(local.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    if n > 1:
        is_sep = codes == local[sep]
        bounds = np.flatnonzero(is_sep)
        lengths = np.diff(np.concatenate([[-1], bounds, [len(codes)]])) - 1
        codes = codes[~is_sep]
    else:
        lengths = np.array([len(codes)], dtype=np.int64)
    return _from_unique(codes, list(local), lengths.astype(np.int64), sep)


def encode_split(texts: Sequence[str]) -> Encoded:
    """``encode([t.split() for t in texts])``, without a token list per text.

    With polars installed, its string kernels split and index the tokens (other whitespace mapped to
    spaces first, empty parts dropped: exactly ``str.split()``); otherwise one ``str.split()`` over
    the texts joined by a separator token. Both give the same ids (first-occurrence order).

    >>> e = encode_split(["a  b\ta", "", " b "])
    >>> e.lengths.tolist(), (e.ids[[0, 1]] == e.ids[[2, 3]]).tolist()
    ([3, 0, 1], [True, True])
    """
    texts = list(texts)
    if not texts:
        return Encoded(ids=np.zeros(0, dtype=np.int64), lengths=np.zeros(0, dtype=np.int64))
    pl = _polars()
    return _encode_split_polars(texts, pl) if pl is not None else _encode_split_python(texts)


def encode_texts(texts: Sequence[str], *, lowercase: bool = False) -> Encoded:
    """Encode whitespace-tokenized texts (``str.split()``, optionally lowercased first), each distinct text once.

    >>> e = encode_texts(["a b a", "", "b"])
    >>> e.lengths.tolist(), (e.ids[[0, 1]] == e.ids[[2, 3]]).tolist(), bool(e.ids[0] == e.ids[1])
    ([3, 0, 1], [True, True], False)
    """
    return encode_lines([t.lower() for t in texts] if lowercase else texts, encode_split)


def encode_lines(lines: Sequence[str], encoder: Callable[[list[str]], Encoded]) -> Encoded:
    """Encode ``lines``, each distinct line once when that saves work (``encoder`` maps a list of lines
    to their :class:`Encoded`).

    >>> e = encode_lines(["a b", "c", "a b"], encode_split)
    >>> e.lengths.tolist(), e.ids[:2].tolist() == e.ids[3:].tolist()
    ([2, 1, 2], True)
    """
    lines = list(lines)
    sample = lines[:: max(1, len(lines) // 2048)]
    if len(set(sample)) > 0.9 * len(sample):  # few repeats (judged on a sample): not worth the look-ups
        return encoder(lines)
    distinct = dict.fromkeys(lines)
    position = dict(zip(distinct, count()))
    unique = encoder(list(distinct))
    return take(unique, np.fromiter(map(position.__getitem__, lines), dtype=np.int64, count=len(lines)))
