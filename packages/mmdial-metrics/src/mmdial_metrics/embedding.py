"""Embedding Average, Greedy Matching and Vector Extrema over pluggable word vectors, in two conventions.

Word vectors are a mapping ``word -> vector`` (a dict, or gensim ``KeyedVectors``-like: ``in`` and ``[]``)
or a callable ``word -> vector | None`` (None: unknown). Tokens are ``str.split()`` unless ``tokenize``
is given.

``convention="liu2016"`` (the original script of Liu et al. 2016, "How NOT to evaluate your dialogue
system", hed-dlg-truncated ``embedding_metrics.py``; the default):

- unknown words are skipped;
- Average: cosine of the sums of the known word vectors of reference and hypothesis;
- Extrema (Forgues et al. 2014): per dimension the min if ``|min| > max`` else the max, then cosine;
- Average/Extrema: an item whose reference has no known word is left out of the mean (the script
  ``continue``s), one whose hypothesis has none scores 0;
- Greedy (Rus and Lintean 2012): ``(G(r, h) + G(h, r)) / 2`` with ``G(a, b)`` the mean over words of ``a``
  of the best cosine with a word of ``b``; 0 when either side has no known word. (The paper's cosine;
  the script takes raw dot products, the same for unit-length vectors.)

``convention="nlgeval"`` (Maluuba nlg-eval ``nlgeval/word2vec/evaluate.py``):

- an unknown word gets the ``unk`` vector: the mean of all the embedding's vectors (for a callable,
  pass ``unk=``);
- Average: ``sum / ||sum||``; cosine as sklearn's ``cosine_similarity`` (a zero vector gives 0);
- Extrema: per dimension with ``x = max``, ``y = min``: ``x`` if ``y > 0``; if ``y < 0``, ``x`` when
  ``x > -y`` else ``y``; and ``y`` (that is 0) when ``y == 0``;
- Greedy: the same symmetric average of the two directions' mean best cosines;
- every item counts; with several references the best is taken (nlg-eval's ``np.max`` over reference
  sources). nlg-eval tokenizes with nltk ``word_tokenize`` (pass ``tokenize=`` to do the same) and
  fails on an empty hypothesis (no tokens); here such an item scores 0.

Example:
    >>> vecs = {"hi": [1.0, 0.0], "hello": [0.9, 0.1], "bye": [-1.0, 0.2]}
    >>> round(embedding_average(["hello there"], [["hi"]], vectors=vecs).score, 6)
    0.993884
    >>> round(embedding_average(["hello there"], [["hi"]], vectors=vecs, convention="nlgeval").score, 6)
    0.986394
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.core import Metric, MetricResult

_KINDS = ("average", "greedy", "extrema")
_CONVENTIONS = ("liu2016", "nlgeval")
_NAMES = {"average": "embedding_average", "greedy": "greedy_matching", "extrema": "vector_extrema"}


def _unit_rows(m: np.ndarray) -> np.ndarray:
    """Rows divided by their norm; zero rows stay zero (sklearn ``normalize``)."""
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(_unit_rows(a) @ _unit_rows(b))


def extrema_liu(m: np.ndarray) -> np.ndarray:
    """Liu et al. 2016 extrema: per dimension the min where ``|min| > max``, else the max."""
    mx, mn = m.max(axis=0), m.min(axis=0)
    return np.where(np.abs(mn) > mx, mn, mx)


def extrema_nlgeval(m: np.ndarray) -> np.ndarray:
    """nlg-eval extrema: ``x if ((x>y or x<-y) and y>0) or ((x<y or x>-y) and y<0) else y`` per dimension."""
    x, y = m.max(axis=0), m.min(axis=0)
    take_max = (((x > y) | (x < -y)) & (y > 0)) | (((x < y) | (x > -y)) & (y < 0))
    return np.where(take_max, x, y)


class WordVectors:
    """Lookup of word vectors with the unknown-word rule of a convention.

    Args:
        vectors: Mapping word -> vector (dict or KeyedVectors-like) or callable word -> vector | None.
        unk: Vector for unknown words (nlg-eval); default: the mean of all vectors of a mapping.
    """

    def __init__(self, vectors: Any, *, unk: Any = None) -> None:
        if vectors is None:
            raise TypeError("word vectors are required: pass vectors=<mapping word -> vector or callable>")
        self._callable = callable(vectors) and not isinstance(vectors, Mapping) and not hasattr(vectors, "__getitem__")
        if not self._callable and not (hasattr(vectors, "__contains__") and hasattr(vectors, "__getitem__")):
            raise TypeError(f"vectors must be a mapping word -> vector or a callable, got {type(vectors).__name__}")
        self.vectors = vectors
        self._cache: dict[str, np.ndarray | None] = {}
        self._unk_arg = unk
        self._unk: np.ndarray | None = None if unk is None else np.asarray(unk, dtype=np.float64)

    def get(self, word: str) -> np.ndarray | None:
        """The vector of ``word`` (float64), or None when unknown."""
        if word in self._cache:
            return self._cache[word]
        known = self._callable or word in self.vectors  # KeyedVectors-like objects need not have .get
        v = (self.vectors(word) if self._callable else self.vectors[word]) if known else None
        out = None if v is None else np.asarray(v, dtype=np.float64).reshape(-1)
        self._cache[word] = out
        return out

    def unk(self) -> np.ndarray:
        """The unknown-word vector: ``unk=`` or the mean of all vectors (nlg-eval's ``vectors.mean(axis=0)``)."""
        if self._unk is None:
            if self._callable:
                raise ValueError("the nlgeval convention needs unk=<vector> when vectors is a callable")
            matrix = getattr(self.vectors, "vectors", None)
            if matrix is None:
                matrix = np.asarray([np.asarray(v, dtype=np.float64).reshape(-1) for v in self.vectors.values()])
            self._unk = np.asarray(matrix, dtype=np.float64).mean(axis=0)
        return self._unk

    def matrix(self, tokens: Sequence[str], convention: str) -> np.ndarray:
        """Vectors of ``tokens`` as rows: unknown words skipped (liu2016) or given ``unk`` (nlgeval)."""
        rows = []
        for t in tokens:
            v = self.get(t)
            if v is None:
                if convention == "liu2016":
                    continue
                v = self.unk()
            rows.append(v)
        return np.asarray(rows, dtype=np.float64)


def pair_score(kind: str, convention: str, hyp: np.ndarray, ref: np.ndarray) -> float | None:
    """Score of one (hypothesis, reference) pair of word-vector matrices; None: the item is left out."""
    if convention == "liu2016":
        if kind == "greedy":
            if len(hyp) == 0 or len(ref) == 0:
                return 0.0
            sim = _unit_rows(ref) @ _unit_rows(hyp).T
            return float((sim.max(axis=1).mean() + sim.max(axis=0).mean()) / 2)
        # the script's tests: norm of the summed vectors (average) or of the word-vector list (extrema)
        size = (lambda m: np.linalg.norm(m.sum(axis=0))) if kind == "average" else np.linalg.norm
        if len(ref) == 0 or size(ref) < 1e-11:
            return None
        if len(hyp) == 0 or size(hyp) < 1e-11:
            return 0.0
        if kind == "average":
            return _cosine(ref.sum(axis=0), hyp.sum(axis=0))
        return _cosine(extrema_liu(ref), extrema_liu(hyp))
    if len(hyp) == 0 or len(ref) == 0:
        return 0.0
    if kind == "greedy":
        sim = _unit_rows(ref) @ _unit_rows(hyp).T
        return float((sim.max(axis=0).mean() + sim.max(axis=1).mean()) / 2)
    if kind == "average":
        return _cosine(ref.sum(axis=0), hyp.sum(axis=0))
    return _cosine(extrema_nlgeval(ref), extrema_nlgeval(hyp))


class EmbeddingMetric(Metric):
    """Embedding Average (``kind="average"``), Greedy Matching (``greedy``) or Vector Extrema (``extrema``).

    Args:
        kind: ``average``, ``greedy`` or ``extrema``.
        vectors: Word vectors: mapping word -> vector or callable word -> vector | None (required).
        convention: ``liu2016`` (unknown words skipped; default) or ``nlgeval`` (unknown -> mean vector).
        unk: Unknown-word vector for ``nlgeval`` with a callable.
        tokenize: Callable str -> list of tokens (default ``str.split``).
        lowercase: Lowercase before tokenizing.
        vectors_name: A name for the vectors, printed into the signature (default ``custom``).
    """

    name: ClassVar[str] = "embedding"
    citation: ClassVar[str] = "Liu et al. 2016; Forgues et al. 2014; Rus and Lintean 2012"
    reference: ClassVar[str] = "Liu et al. 2016 embedding_metrics.py / nlg-eval word2vec/evaluate.py (formulas)"

    def __init__(
        self,
        *,
        kind: str = "average",
        vectors: Any = None,
        convention: str = "liu2016",
        unk: Any = None,
        tokenize: Callable[[str], Sequence[str]] | None = None,
        lowercase: bool = False,
        vectors_name: str = "custom",
    ) -> None:
        super().__init__()
        if kind not in _KINDS:
            raise ValueError(f"embedding metric: kind must be one of {_KINDS}, got {kind!r}")
        if convention not in _CONVENTIONS:
            raise ValueError(f"embedding metric: convention must be one of {_CONVENTIONS}, got {convention!r}")
        self.kind = kind
        self.convention = convention
        self.words = WordVectors(vectors, unk=unk)
        self.tokenize = tokenize
        self.lowercase = lowercase
        self.vectors_name = vectors_name
        self.name = _NAMES[kind]  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {
            "conv": self.convention,
            "vectors": self.vectors_name,
            "tok": "whitespace" if self.tokenize is None else getattr(self.tokenize, "__name__", "custom"),
            "case": "lc" if self.lowercase else "mixed",
        }

    def _tokens(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        return list(text.split() if self.tokenize is None else self.tokenize(text))

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        assert references is not None
        out = np.empty((len(predictions), 2))
        for i, (pred, group) in enumerate(zip(predictions, references, strict=True)):
            hyp = self.words.matrix(self._tokens(pred), self.convention)
            scores = [
                pair_score(self.kind, self.convention, hyp, self.words.matrix(self._tokens(r), self.convention))
                for r in group
            ]
            valid = [s for s in scores if s is not None]
            out[i] = (max(valid), 1.0) if valid else (0.0, 0.0)
        return out

    def _reduce(self, stats: np.ndarray) -> tuple[float, dict[str, Any], list[float] | None]:
        counted = stats[:, 1] > 0
        n = int(counted.sum())
        score = float(stats[counted, 0].mean()) if n else 0.0
        items = [float(s) if c else float("nan") for s, c in zip(stats[:, 0], counted, strict=True)]
        return score, {"counted": n, "left_out": int(len(stats) - n)}, items


def embedding_average(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Embedding Average; options as :class:`EmbeddingMetric` (``vectors=`` required)."""
    return EmbeddingMetric(kind="average", **options).score(predictions, references)


def greedy_matching(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Greedy Matching; options as :class:`EmbeddingMetric` (``vectors=`` required)."""
    return EmbeddingMetric(kind="greedy", **options).score(predictions, references)


def vector_extrema(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Vector Extrema; options as :class:`EmbeddingMetric` (``vectors=`` required)."""
    return EmbeddingMetric(kind="extrema", **options).score(predictions, references)
