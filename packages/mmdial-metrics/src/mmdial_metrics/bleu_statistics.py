"""The statistic every BLEU family shares, computed vectorized by :mod:`mmdial_metrics.ngrams`.

Per sentence: hypothesis length, closest reference length (ties to the shorter), clipped n-gram matches
and n-gram totals (:func:`bleu_stats`); :func:`encode_all` tokenizes and encodes lines in one batch.

Example:
    >>> bleu_stats(["a b c"], [["a b d", "a b"]], tokenizer="none", lowercase=False, rstrip=False, max_order=2)
    array([[3, 3, 2, 1, 3, 2]])
"""

from __future__ import annotations

from functools import partial

import numpy as np

from mmdial_metrics.ngrams import Encoded, clipped_matches, concat, encode, encode_lines, encode_split, take
from mmdial_metrics.tokenize import get_tokenizer, tokenize_13a, tokenize_13a_text, tokenize_all


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
