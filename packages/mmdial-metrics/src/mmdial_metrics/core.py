"""The shared core of every metric: results, signatures, and the accumulator base class.

A metric turns each (prediction, references) item into *sufficient statistics* (``_stats``), keeps them
as it is fed (``update``), and reduces them to a score (``_reduce``). The functional API, the stateful
accumulator and the bootstrap all go through these two methods, so they give the same numbers.

Example:
    >>> from mmdial_metrics.bleu_sacrebleu import BLEU
    >>> metric = BLEU()
    >>> _ = metric.update(["the cat sat on the mat"], [["the cat sat on the mat"]])
    >>> result = metric.compute()
    >>> round(result.score, 4)
    100.0
    >>> result.signature
    'name:bleu|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:...'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mmdial_metrics.inputs import check_pairs

VERSION = "0.1.0"


def format_signature(name: str, info: Mapping[str, Any]) -> str:
    """A sacrebleu-style signature: ``name:<name>|key:value|...|version:<version>``.

    Booleans print as ``yes``/``no``; floats with up to 6 significant digits.

    >>> format_signature("distinct", {"n": 2, "lowercase": False})
    'name:distinct|n:2|lowercase:no|version:0.1.0'
    """
    parts = [f"name:{name}"]
    for key, value in info.items():
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif isinstance(value, float):
            text = f"{value:.6g}"
        else:
            text = str(value)
        parts.append(f"{key}:{text}")
    parts.append(f"version:{VERSION}")
    return "|".join(parts)


@dataclass
class MetricResult:
    """The value of a metric over a corpus.

    Attributes:
        name: Registered metric name.
        score: The headline number (on the scale of the reference implementation).
        signature: Every choice that determines the number, sacrebleu style.
        details: Further numbers (precisions, brevity penalty, precision/recall ...).
        item_scores: Per-item scores where the metric defines them (sentence-level values), else None.
        higher_is_better: Direction of the metric.

    Example:
        >>> r = MetricResult(name="x", score=0.5, signature="name:x|version:0.1.0")
        >>> float(r), r.to_dict()["score"]
        (0.5, 0.5)
    """

    name: str
    score: float
    signature: str
    details: dict[str, Any] = field(default_factory=dict)
    item_scores: list[float] | None = None
    higher_is_better: bool = True

    def __float__(self) -> float:
        return float(self.score)

    def __str__(self) -> str:
        return f"{self.name} = {self.score:.4f} ({self.signature})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without per-item scores)."""
        return {
            "name": self.name,
            "score": float(self.score),
            "signature": self.signature,
            "higher_is_better": self.higher_is_better,
            "details": _jsonable(self.details),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


class Metric:
    """Base class: a stateful accumulator with ``update``/``compute``/``reset`` and a functional ``score``.

    Subclasses set the class metadata, validate options in ``__init__`` (calling ``super().__init__``),
    and implement ``_stats`` (items -> statistics), ``_reduce`` (statistics -> result) and
    ``signature_info``. Statistics are a list with one entry per item unless ``_concat``/``_select``
    are overridden (numpy arrays use the defaults too: both work on lists and arrays).
    """

    #: Registry name of the metric's default variant.
    name: ClassVar[str] = "metric"
    higher_is_better: ClassVar[bool] = True
    #: Short citation of the metric.
    citation: ClassVar[str] = ""
    #: The reference implementation this variant reproduces.
    reference: ClassVar[str] = ""
    #: Whether references are required.
    needs_references: ClassVar[bool] = True
    #: Whether duplicated items change the score beyond their weight (corpus diversity, corpus idf): the
    #: bootstrap then half-samples without replacement (see :mod:`mmdial_metrics.bootstrap`).
    resampling_sensitive: ClassVar[bool] = False
    #: What "the same score" means for this metric when the corpus is fed in other batches, on another thread
    #: count or CPU: 0.0 = bit-identical (integer counts, or float64 arithmetic in a fixed order: BLEU, ROUGE,
    #: CIDEr, Distinct, F1 ...); otherwise the relative difference float32 model arithmetic can produce
    #: (BERTScore: batch composition changes padding and thus the order of the model's sums).
    rel_tolerance: ClassVar[float] = 0.0

    def __init__(self) -> None:
        self._chunks: list[Any] = []
        self._count = 0
        self._nrefs: set[int] = set()

    # -- metadata ---------------------------------------------------------------------------------------
    @property
    def variant(self) -> str:
        """Name of the configured variant (the registry name plus non-default options in the signature)."""
        return self.name

    def signature_info(self) -> dict[str, Any]:
        """Ordered choices that determine the number (printed into the signature)."""
        return {}

    def signature(self, nrefs: int | str | None = None) -> str:
        """The signature string of this configuration."""
        info: dict[str, Any] = {}
        if nrefs is not None and self.needs_references:
            info["nrefs"] = nrefs
        info.update(self.signature_info())
        return format_signature(self.name, info)

    # -- accumulator ------------------------------------------------------------------------------------
    def reset(self) -> Metric:
        """Forget everything fed so far."""
        self._chunks = []
        self._count = 0
        self._nrefs = set()
        return self

    def update(self, predictions: Sequence[str], references: Sequence[Any] | None = None) -> Metric:
        """Feed a batch of predictions (and their references); returns ``self`` for chaining."""
        preds, refs = self._check(predictions, references)
        if refs is not None:
            self._nrefs.update(len(r) for r in refs)
        self._chunks.append(self._stats(preds, refs))
        self._count += len(preds)
        return self

    def compute(self) -> MetricResult:
        """The metric over everything fed since the last reset."""
        if self._count == 0:
            raise ValueError(f"{self.name}: compute() called before any update()")
        stats = self._concat(self._chunks)
        return self._result(stats)

    def __len__(self) -> int:
        return self._count

    def score(self, predictions: Sequence[str], references: Sequence[Any] | None = None) -> MetricResult:
        """Functional form: a fresh computation over one corpus (does not touch the accumulator)."""
        preds, refs = self._check(predictions, references)
        if not preds:
            raise ValueError(f"{self.name}: no predictions given")
        nrefs = set(map(len, refs)) if refs is not None else set()
        return self._result(self._stats(preds, refs), nrefs)

    def __call__(self, predictions: Sequence[str], references: Sequence[Any] | None = None) -> MetricResult:
        return self.score(predictions, references)

    # -- hooks ------------------------------------------------------------------------------------------
    def _check(self, predictions: Any, references: Any) -> tuple[list[str], list[list[str]] | None]:
        return check_pairs(predictions, references, name=self.name, needs_references=self.needs_references)

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> Any:
        raise NotImplementedError

    def _reduce(self, stats: Any) -> tuple[float, dict[str, Any], list[float] | None]:
        raise NotImplementedError

    def _concat(self, chunks: list[Any]) -> Any:
        if len(chunks) == 1:
            return chunks[0]
        first = chunks[0]
        if hasattr(first, "shape"):
            import numpy as np

            return np.concatenate(chunks)
        out: list[Any] = []
        for c in chunks:
            out.extend(c)
        return out

    def _select(self, stats: Any, index: Sequence[int]) -> Any:
        """Statistics of the items at ``index`` (with repeats), for bootstrap resampling."""
        if hasattr(stats, "shape"):
            return stats[index]
        return [stats[i] for i in index]

    def _result(self, stats: Any, nrefs: set[int] | None = None) -> MetricResult:
        if nrefs is None:
            nrefs = self._nrefs
        nref: int | str | None = None
        if self.needs_references:
            nref = next(iter(nrefs)) if len(nrefs) == 1 else "var"
        score, details, items = self._reduce(stats)
        return MetricResult(
            name=self.name,
            score=float(score),
            signature=self.signature(nref),
            details=details,
            item_scores=items,
            higher_is_better=self.higher_is_better,
        )

    def reduce_score(self, stats: Any) -> float:
        """Headline score of already computed statistics (used by the bootstrap)."""
        return float(self._reduce(stats)[0])

    def item_stats(self, predictions: Sequence[str], references: Sequence[Any] | None = None) -> Any:
        """Per-item statistics of a corpus (checked input), for bootstrap resampling with ``_select``."""
        preds, refs = self._check(predictions, references)
        return self._stats(preds, refs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.signature()!r})"
