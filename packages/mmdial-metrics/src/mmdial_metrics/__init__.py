"""mmdial-metrics: dialogue metrics that reproduce their reference implementations exactly, faster.

Functional API (HF evaluate convention) and stateful accumulators share one core; every result
carries a sacrebleu-style signature. Everything is imported lazily, so ``import mmdial_metrics`` is fast.

Example:
    >>> import mmdial_metrics as mm
    >>> r = mm.bleu(["the cat sat on the mat"], [["the cat sat on the mat"]])
    >>> round(r.score, 6), r.signature.startswith('name:bleu|nrefs:1|case:mixed|eff:no|tok:13a')
    (100.0, True)
    >>> acc = mm.get_metric("distinct_1")
    >>> _ = acc.update(["a b", "a c"])
    >>> acc.compute().score
    0.75
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmdial_metrics.bleu_coco import (
        CocoBLEU as CocoBLEU,
    )
    from mmdial_metrics.bleu_coco import (
        coco_bleu as coco_bleu,
    )
    from mmdial_metrics.bleu_nltk import (
        NLTKBLEU as NLTKBLEU,
    )
    from mmdial_metrics.bleu_nltk import (
        nltk_bleu as nltk_bleu,
    )
    from mmdial_metrics.bleu_nltk import (
        nltk_sentence_bleu as nltk_sentence_bleu,
    )
    from mmdial_metrics.bleu_sacrebleu import (
        BLEU as BLEU,
    )
    from mmdial_metrics.bleu_sacrebleu import (
        bleu as bleu,
    )
    from mmdial_metrics.bleu_sacrebleu import (
        sentence_bleu as sentence_bleu,
    )
    from mmdial_metrics.bootstrap import (
        bootstrap_ci as bootstrap_ci,
    )
    from mmdial_metrics.cider_scores import (
        CIDErD as CIDErD,
    )
    from mmdial_metrics.cider_scores import (
        cider_d as cider_d,
    )
    from mmdial_metrics.core import (
        Metric as Metric,
    )
    from mmdial_metrics.core import (
        MetricResult as MetricResult,
    )
    from mmdial_metrics.diversity import (
        AverageLength as AverageLength,
    )
    from mmdial_metrics.diversity import (
        Distinct as Distinct,
    )
    from mmdial_metrics.diversity import (
        Entropy as Entropy,
    )
    from mmdial_metrics.diversity import (
        SelfBLEU as SelfBLEU,
    )
    from mmdial_metrics.diversity import (
        avg_length as avg_length,
    )
    from mmdial_metrics.diversity import (
        distinct as distinct,
    )
    from mmdial_metrics.diversity import (
        entropy as entropy,
    )
    from mmdial_metrics.diversity import (
        self_bleu as self_bleu,
    )
    from mmdial_metrics.dst import (
        inform_success as inform_success,
    )
    from mmdial_metrics.dst import (
        intent_accuracy as intent_accuracy,
    )
    from mmdial_metrics.dst import (
        joint_goal_accuracy as joint_goal_accuracy,
    )
    from mmdial_metrics.dst import (
        requested_slot_f1 as requested_slot_f1,
    )
    from mmdial_metrics.dst import (
        slot_scores as slot_scores,
    )
    from mmdial_metrics.evaluate import (
        evaluate_dialogues as evaluate_dialogues,
    )
    from mmdial_metrics.evaluate import (
        read_predictions as read_predictions,
    )
    from mmdial_metrics.f1 import (
        ExactMatch as ExactMatch,
    )
    from mmdial_metrics.f1 import (
        UnigramF1 as UnigramF1,
    )
    from mmdial_metrics.f1 import (
        exact_match as exact_match,
    )
    from mmdial_metrics.f1 import (
        unigram_f1 as unigram_f1,
    )
    from mmdial_metrics.language_model import (
        perplexity as perplexity,
    )
    from mmdial_metrics.registry import (
        get_metric as get_metric,
    )
    from mmdial_metrics.registry import (
        list_metrics as list_metrics,
    )
    from mmdial_metrics.registry import (
        register_metric as register_metric,
    )
    from mmdial_metrics.retrieval import (
        retrieval_metrics as retrieval_metrics,
    )
    from mmdial_metrics.rouge_scores import (
        ROUGE as ROUGE,
    )
    from mmdial_metrics.rouge_scores import (
        CocoRougeL as CocoRougeL,
    )
    from mmdial_metrics.rouge_scores import (
        coco_rouge_l as coco_rouge_l,
    )
    from mmdial_metrics.rouge_scores import (
        rouge as rouge,
    )

__version__ = "0.1.0"

#: Public name -> the submodule that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "Metric": "core",
    "MetricResult": "core",
    "get_metric": "registry",
    "list_metrics": "registry",
    "register_metric": "registry",
    "BLEU": "bleu_sacrebleu",
    "NLTKBLEU": "bleu_nltk",
    "CocoBLEU": "bleu_coco",
    "bleu": "bleu_sacrebleu",
    "sentence_bleu": "bleu_sacrebleu",
    "nltk_bleu": "bleu_nltk",
    "nltk_sentence_bleu": "bleu_nltk",
    "coco_bleu": "bleu_coco",
    "ROUGE": "rouge_scores",
    "CocoRougeL": "rouge_scores",
    "rouge": "rouge_scores",
    "coco_rouge_l": "rouge_scores",
    "CIDErD": "cider_scores",
    "cider_d": "cider_scores",
    "Distinct": "diversity",
    "Entropy": "diversity",
    "SelfBLEU": "diversity",
    "AverageLength": "diversity",
    "distinct": "diversity",
    "entropy": "diversity",
    "self_bleu": "diversity",
    "avg_length": "diversity",
    "UnigramF1": "f1",
    "ExactMatch": "f1",
    "unigram_f1": "f1",
    "exact_match": "f1",
    "perplexity": "language_model",
    "retrieval_metrics": "retrieval",
    "joint_goal_accuracy": "dst",
    "slot_scores": "dst",
    "requested_slot_f1": "dst",
    "intent_accuracy": "dst",
    "inform_success": "dst",
    "bootstrap_ci": "bootstrap",
    "BERTScore": "bertscore",
    "bertscore": "bertscore",
    "EmbeddingMetric": "embedding",
    "embedding_average": "embedding",
    "greedy_matching": "embedding",
    "vector_extrema": "embedding",
    "NLTKMeteor": "meteor",
    "nltk_meteor": "meteor",
    "load_wordnet": "meteor",
    "evaluate_dialogues": "evaluate",
    "read_predictions": "evaluate",
}

__all__ = [
    "BLEU",
    "NLTKBLEU",
    "ROUGE",
    "AverageLength",
    "CIDErD",
    "CocoBLEU",
    "CocoRougeL",
    "Distinct",
    "Entropy",
    "ExactMatch",
    "Metric",
    "MetricResult",
    "SelfBLEU",
    "UnigramF1",
    "avg_length",
    "bleu",
    "bootstrap_ci",
    "cider_d",
    "coco_bleu",
    "coco_rouge_l",
    "distinct",
    "entropy",
    "evaluate_dialogues",
    "exact_match",
    "get_metric",
    "inform_success",
    "intent_accuracy",
    "joint_goal_accuracy",
    "list_metrics",
    "nltk_bleu",
    "nltk_sentence_bleu",
    "perplexity",
    "read_predictions",
    "register_metric",
    "requested_slot_f1",
    "retrieval_metrics",
    "rouge",
    "self_bleu",
    "sentence_bleu",
    "slot_scores",
    "unigram_f1",
]


# Our own copy of mmdial_data.lazy.lazy_exports (PEP 562): metrics' core imports nothing of ours.
def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmdial_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmdial_metrics.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
