"""ROUGE as rouge-score computes it (ROUGE-N, ROUGE-L, ROUGE-Lsum) and pycocoevalcap's ROUGE-L.

rouge-score: lowercase, ``[a-z0-9]+`` tokens, optional Porter stemmer (tokens longer than 3 chars);
with several references, the reference with the highest F-measure counts (``score_multi``). The
corpus value is the mean over items of the per-item score (F-measure by default; precision and
recall means in ``details``), on rouge-score's 0-1 scale.

Example:
    >>> r = rouge(["the cat was found under the bed"], [["the cat was under the bed"]], rouge_type="rouge2")
    >>> round(r.score, 6), round(r.details["recall"], 6)
    (0.727273, 0.8)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from mmdial_metrics.core import Metric, MetricResult
from mmdial_metrics.lcs import lcs_indices, lcs_length
from mmdial_metrics.tokenize import tokenize_rouge

_TYPES = re.compile(r"rouge([1-9])$|rougeL$|rougeLsum$")


def _fmeasure(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _score_ngrams(target: Sequence[str], pred: Sequence[str], n: int) -> tuple[float, float, float]:
    t, p = _ngrams(target, n), _ngrams(pred, n)
    inter = sum(min(c, p[g]) for g, c in t.items() if g in p)
    precision = inter / max(sum(p.values()), 1)
    recall = inter / max(sum(t.values()), 1)
    return precision, recall, _fmeasure(precision, recall)


def _score_lcs(target: Sequence[str], pred: Sequence[str]) -> tuple[float, float, float]:
    if not target or not pred:
        return 0.0, 0.0, 0.0
    lcs = lcs_length(target, pred)
    precision = lcs / len(pred)
    recall = lcs / len(target)
    return precision, recall, _fmeasure(precision, recall)


def _score_lsum(target: list[list[str]], pred: list[list[str]]) -> tuple[float, float, float]:
    if not target or not pred:
        return 0.0, 0.0, 0.0
    m = sum(map(len, target))
    n = sum(map(len, pred))
    if not n or not m:
        return 0.0, 0.0, 0.0
    cnt_r: Counter[str] = Counter()
    cnt_c: Counter[str] = Counter()
    for s in target:
        cnt_r.update(s)
    for s in pred:
        cnt_c.update(s)
    hits = 0
    for r in target:
        union = sorted(set().union(*[lcs_indices(r, c) for c in pred]))
        for t in (r[i] for i in union):
            if cnt_c[t] > 0 and cnt_r[t] > 0:
                hits += 1
                cnt_c[t] -= 1
                cnt_r[t] -= 1
    recall = hits / m
    precision = hits / n
    return precision, recall, _fmeasure(precision, recall)


# rouge-score's tokens on bytes: one table lowercases A-Z and turns every byte but [a-z0-9] and the line
# separator into a space. A non-ASCII character becomes one "?" when encoded, so a space too: that equals
# str.lower() then [a-z0-9]+ because only two non-ASCII characters lowercase to ASCII letters, and
# those are replaced by their lowercase first.
_ALNUM = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789")
_LOWER_TO_ASCII = {"\u0130": "i\u0307", "\u212a": "k"}


def _rouge_table(sep: str) -> bytes:
    lower = bytes(range(256)).lower()
    return bytes(lower[c] if lower[c] in _ALNUM or c == ord(sep) else 32 for c in range(256))


_SEPARATORS = {sep: _rouge_table(sep) for sep in ("\n", "\x00", "\x01", "\x02")}


def encode_rouge(lines: list[str], stemmer: bool = False) -> Any:
    """rouge-score's tokens of ``lines`` as an :class:`~mmdial_metrics.ngrams.Encoded`, one pass over the corpus.

    >>> encode_rouge(["It's 5 o'clock.", "", "Héllo"]).lengths.tolist()
    [5, 0, 2]
    """
    from mmdial_metrics.ngrams import encode, encode_split

    if stemmer:
        return encode([tokenize_rouge(x, True) for x in lines])
    for sep, table in _SEPARATORS.items():
        joined = sep.join(lines)
        if joined.count(sep) == len(lines) - 1:  # no line holds the separator
            if not joined.isascii():
                for char, lower in _LOWER_TO_ASCII.items():
                    joined = joined.replace(char, lower)
            text = joined.encode("ascii", "replace").translate(table).decode("ascii")
            return encode_split(text.split(sep) if lines else [])
    return encode([tokenize_rouge(x) for x in lines])


def _rouge_vectorized(predictions: list[str], references: list[list[str]], rouge_type: str, stemmer: bool) -> Any:
    """rouge-score's ``score_multi`` (ROUGE-N or ROUGE-L) of every item at once: ``(n, 3)`` float64 array."""
    import numpy as np

    from mmdial_metrics.lcs import lcs_lengths
    from mmdial_metrics.ngrams import clipped_matches, encode_lines, take

    n_pred = len(predictions)
    counts = np.fromiter(map(len, references), dtype=np.int64, count=n_pred)
    owner = np.repeat(np.arange(n_pred, dtype=np.int64), counts)
    flat = [t for group in references for t in group]
    enc = encode_lines(predictions + flat, lambda lines: encode_rouge(lines, stemmer))
    pred = take(enc, owner)  # one (prediction, target) pair per reference
    target = take(enc, n_pred + np.arange(len(flat), dtype=np.int64))
    if rouge_type == "rougeL":
        inter = lcs_lengths(target, pred)
        pred_total, target_total = pred.lengths, target.lengths
        both = (pred_total > 0) & (target_total > 0)  # rouge-score: (0, 0, 0) when either side is empty
        pred_total, target_total = np.where(both, pred_total, 1), np.where(both, target_total, 1)
    else:
        order = int(rouge_type[5:])
        matches, _ = clipped_matches(pred, target, np.arange(len(flat)), order)
        inter = matches[:, order - 1]
        pred_total = np.maximum(pred.lengths - order + 1, 1)
        target_total = np.maximum(target.lengths - order + 1, 1)
    precision = inter / pred_total
    recall = inter / target_total
    denom = precision + recall
    fmeasure = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    scores = np.column_stack([precision, recall, fmeasure])
    if len(flat) == n_pred:
        return scores
    # several references: the first with the highest F (rouge-score's argmax)
    first = np.cumsum(counts) - counts
    best_f = np.maximum.reduceat(fmeasure, first)
    index = np.arange(len(flat), dtype=np.int64)
    candidate = np.where(fmeasure == best_f[owner], index, len(flat))
    return scores[np.minimum.reduceat(candidate, first)]


class ROUGE(Metric):
    """rouge-score ``RougeScorer`` for one ROUGE type, mean over items, best reference by F-measure.

    Args:
        rouge_type: ``rouge1``..``rouge9``, ``rougeL`` or ``rougeLsum`` (sentences split on ``\\n``).
        use_stemmer: Porter-stem tokens longer than 3 characters (needs nltk, as rouge-score does).
        measure: Headline number: ``fmeasure`` (default), ``precision`` or ``recall``.

    Example:
        >>> round(ROUGE(rouge_type="rougeL")(["a b c"], [["a c", "b"]]).score, 6)
        0.8
    """

    name: ClassVar[str] = "rougeL"
    citation: ClassVar[str] = "Lin 2004"
    reference: ClassVar[str] = "rouge-score RougeScorer.score / score_multi"

    def __init__(self, *, rouge_type: str = "rougeL", use_stemmer: bool = False, measure: str = "fmeasure") -> None:
        super().__init__()
        if not isinstance(rouge_type, str) or not _TYPES.match(rouge_type):
            raise ValueError(f"rouge: rouge_type must be rouge1..rouge9, rougeL or rougeLsum, got {rouge_type!r}")
        if measure not in ("fmeasure", "precision", "recall"):
            raise ValueError(f"rouge: measure must be fmeasure, precision or recall, got {measure!r}")
        self.rouge_type = rouge_type
        self.use_stemmer = use_stemmer
        self.measure = measure
        self.name = rouge_type  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"tok": "rouge", "stem": self.use_stemmer, "measure": self.measure, "multi": "max-f"}

    def _one(self, target: str, pred: str) -> tuple[float, float, float]:
        stem = self.use_stemmer
        if self.rouge_type == "rougeLsum":
            t = [tokenize_rouge(s, stem) for s in target.split("\n") if len(s)]
            p = [tokenize_rouge(s, stem) for s in pred.split("\n") if len(s)]
            return _score_lsum(t, p)
        tt, pt = tokenize_rouge(target, stem), tokenize_rouge(pred, stem)
        if self.rouge_type == "rougeL":
            return _score_lcs(tt, pt)
        return _score_ngrams(tt, pt, int(self.rouge_type[5:]))

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> Any:
        """``(n, 3)`` array of (precision, recall, F) per item, of the reference with the highest F."""
        import numpy as np

        assert references is not None
        if self.rouge_type == "rougeLsum":
            out = []
            for pred, refs in zip(predictions, references, strict=True):
                scores = [self._one(t, pred) for t in refs]
                out.append(max(scores, key=lambda s: s[2]) if len(scores) > 1 else scores[0])
            return np.array(out, dtype=np.float64).reshape(len(out), 3)
        return _rouge_vectorized(predictions, references, self.rouge_type, self.use_stemmer)

    def _reduce(self, stats: Any) -> tuple[float, dict[str, Any], list[float] | None]:
        n = len(stats)
        cols = [stats[:, k].tolist() for k in range(3)]
        p, r, f = (sum(c) / n for c in cols)  # Python's left-to-right sum, as a plain mean over items
        col = {"precision": 0, "recall": 1, "fmeasure": 2}[self.measure]
        headline = {"precision": p, "recall": r, "fmeasure": f}[self.measure]
        return headline, {"precision": p, "recall": r, "fmeasure": f}, cols[col]


class CocoRougeL(Metric):
    """pycocoevalcap ``Rouge``: ROUGE-L with beta 1.2, max precision and max recall over references,
    tokens from ``str.split(" ")``; mean over items (0-1).

    Example:
        >>> round(coco_rouge_l(["a b c"], [["a c"]]).score, 6)
        0.829932
    """

    name: ClassVar[str] = "coco_rouge_l"
    citation: ClassVar[str] = "Lin 2004; Chen et al. 2015 (COCO caption evaluation)"
    reference: ClassVar[str] = "pycocoevalcap.rouge.Rouge"

    def __init__(self, *, beta: float = 1.2) -> None:
        super().__init__()
        self.beta = beta

    def signature_info(self) -> dict[str, Any]:
        return {"tok": "split-space", "beta": self.beta}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[float]:
        assert references is not None
        out = []
        b2 = self.beta**2
        for pred, refs in zip(predictions, references, strict=True):
            c = pred.split(" ")
            prec, rec = [], []
            for ref in refs:
                r = ref.split(" ")
                lcs = lcs_length(r, c)
                prec.append(lcs / float(len(c)))
                rec.append(lcs / float(len(r)))
            pm, rm = max(prec), max(rec)
            out.append(((1 + b2) * pm * rm) / float(rm + b2 * pm) if pm != 0 and rm != 0 else 0.0)
        return out

    def _reduce(self, stats: list[float]) -> tuple[float, dict[str, Any], list[float] | None]:
        import numpy as np

        return float(np.mean(np.array(stats))), {}, list(stats)


def rouge(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """rouge-score ROUGE (default ROUGE-L F); options as :class:`ROUGE`."""
    return ROUGE(**options).score(predictions, references)


def coco_rouge_l(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """pycocoevalcap ROUGE-L."""
    return CocoRougeL(**options).score(predictions, references)
