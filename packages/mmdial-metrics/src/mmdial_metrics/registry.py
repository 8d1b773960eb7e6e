"""The metric registry: ``list_metrics()``, ``get_metric(name, **options)``, ``register_metric``.

Built-in metrics are listed here explicitly (module, class, preset options) and imported only when
asked for, so ``import mmdial_metrics`` stays fast. Each name is one variant of a metric.

Example:
    >>> "bleu" in list_metrics()
    True
    >>> m = get_metric("rougeL")
    >>> round(m(["the cat sat"], [["the cat sat down"]]).score, 4)
    0.8571
    >>> get_metric("bleu4")
    Traceback (most recent call last):
    ...
    mmdial_metrics.names.UnknownNameError: unknown metric 'bleu4'; did you mean 'bleu'?
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmdial_metrics.core import Metric
from mmdial_metrics.names import Registry


@dataclass(frozen=True)
class MetricSpec:
    """How to build a registered metric: ``factory(**preset, **options)``."""

    name: str
    factory: Callable[..., Metric] | str
    preset: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self, **options: Any) -> Metric:
        factory = self.factory
        if isinstance(factory, str):
            module, _, attr = factory.rpartition(".")
            factory = getattr(importlib.import_module(module), attr)
        assert callable(factory)
        return factory(**{**self.preset, **options})


def _b(name: str, target: str, description: str, **preset: Any) -> MetricSpec:
    return MetricSpec(name=name, factory=f"mmdial_metrics.{target}", preset=preset, description=description)


_BUILTIN = [
    _b("bleu", "bleu_scores.BLEU", "sacrebleu corpus BLEU (13a, exp smoothing, 0-100)"),
    _b("sentence_bleu", "bleu_scores.BLEU", "mean sacrebleu sentence BLEU (effective order)", level="sentence"),
    _b("nltk_bleu", "bleu_scores.NLTKBLEU", "nltk corpus_bleu (whitespace tokens, SmoothingFunction methodN)"),
    _b("nltk_sentence_bleu", "bleu_scores.NLTKBLEU", "mean nltk sentence_bleu", level="sentence"),
    _b(
        "parlai_bleu",
        "bleu_scores.ParlAIBLEU",
        "ParlAI BleuMetric bleu-4: normalize_answer, mean nltk sentence_bleu, method1 epsilon 1e-12",
    ),
    _b("coco_bleu", "bleu_scores.CocoBLEU", "pycocoevalcap Bleu (BLEU-4 by default)"),
    _b("rouge1", "rouge_scores.ROUGE", "rouge-score ROUGE-1 F (mean over items, best reference)", rouge_type="rouge1"),
    _b("rouge2", "rouge_scores.ROUGE", "rouge-score ROUGE-2 F", rouge_type="rouge2"),
    _b("rougeL", "rouge_scores.ROUGE", "rouge-score ROUGE-L F", rouge_type="rougeL"),
    _b(
        "rougeLsum",
        "rouge_scores.ROUGE",
        "rouge-score ROUGE-Lsum F (sentences split on newlines)",
        rouge_type="rougeLsum",
    ),
    _b("coco_rouge_l", "rouge_scores.CocoRougeL", "pycocoevalcap Rouge (ROUGE-L, beta 1.2)"),
    _b("cider_d", "cider_scores.CIDErD", "pycocoevalcap Cider (CIDEr-D, sigma 6, whitespace tokens)"),
    _b("nltk_meteor", "meteor.NLTKMeteor", "nltk meteor_score (WordNet 3.0 synonyms, Porter stems), mean over items"),
    _b(
        "embedding_average",
        "embedding.EmbeddingMetric",
        "Embedding Average (cosine of summed word vectors); vectors=",
        kind="average",
    ),
    _b(
        "greedy_matching",
        "embedding.EmbeddingMetric",
        "Greedy Matching (symmetric mean best word cosine); vectors=",
        kind="greedy",
    ),
    _b(
        "vector_extrema",
        "embedding.EmbeddingMetric",
        "Vector Extrema (per-dimension extreme value, cosine); vectors=",
        kind="extrema",
    ),
    _b("bertscore", "bertscore.BERTScore", "BERTScore F1 with a local transformers model (bert-score); model="),
    _b("distinct_1", "diversity.Distinct", "corpus-level distinct unigrams / all unigrams", n=1),
    _b("distinct_2", "diversity.Distinct", "corpus-level distinct bigrams / all bigrams", n=2),
    _b("intra_distinct_1", "diversity.Distinct", "mean per-response distinct-1", n=1, mode="intra"),
    _b("intra_distinct_2", "diversity.Distinct", "mean per-response distinct-2", n=2, mode="intra"),
    _b("entropy_4", "diversity.Entropy", "n-gram entropy (natural log) of the corpus", n=4),
    _b("self_bleu", "diversity.SelfBLEU", "Self-BLEU: each prediction against all others (nltk, method1)"),
    _b("avg_length", "diversity.AverageLength", "mean prediction length in tokens"),
    _b("f1", "f1.UnigramF1", "ParlAI unigram F1 (normalize_answer), best reference", normalize="parlai"),
    MetricSpec(
        name="parlai_f1",
        factory="mmdial_metrics.f1.UnigramF1",
        preset={"normalize": "parlai", "name": "parlai_f1"},
        description="ParlAI F1Metric: normalize_answer, unigram F1, max over references, 0-1",
    ),
    _b("squad_f1", "f1.UnigramF1", "SQuAD v1.1 unigram F1, best reference", normalize="squad"),
    _b("exact_match", "f1.ExactMatch", "SQuAD exact match after normalization"),
    _b("knowledge_f1", "f1.UnigramF1", "ParlAI knowledge F1: F1 against the knowledge text", normalize="parlai"),
]

#: Every metric variant by name.
METRICS: Registry[MetricSpec] = Registry("metric", {spec.name: spec for spec in _BUILTIN})


def list_metrics() -> list[str]:
    """Names of the registered metrics (sorted)."""
    return METRICS.names()


def metric_spec(name: str) -> MetricSpec:
    """The registry entry of ``name``; :class:`~mmdial_metrics.names.UnknownNameError` (a ``KeyError``) with a
    suggestion for unknown names."""
    return METRICS.get(name)


def get_metric(name: str, **options: Any) -> Metric:
    """A fresh accumulator of metric ``name`` (options override the variant's presets)."""
    return metric_spec(name).build(**options)


def register_metric(
    name: str, factory: Callable[..., Metric], *, description: str = "", overwrite: bool = False, **preset: Any
) -> None:
    """Register a metric under ``name`` (a callable returning a :class:`~mmdial_metrics.core.Metric`)."""
    if not overwrite and name in METRICS:
        raise ValueError(f"metric {name!r} is already registered (pass overwrite=True to replace it)")
    if not callable(factory):
        raise TypeError(f"factory for {name!r} must be callable, got {type(factory).__name__}")
    METRICS.register(
        name, MetricSpec(name=name, factory=factory, preset=dict(preset), description=description), replace=True
    )
