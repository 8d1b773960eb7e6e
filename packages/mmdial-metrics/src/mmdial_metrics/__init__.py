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
    from mmdial_metrics.bleu_scores import BLEU, NLTKBLEU, CocoBLEU, bleu, coco_bleu, nltk_bleu, nltk_sentence_bleu, sentence_bleu
    from mmdial_metrics.cider_scores import CIDErD, cider_d
    from mmdial_metrics.core import Metric, MetricResult
    from mmdial_metrics.diversity import AverageLength, Distinct, Entropy, SelfBLEU, avg_length, distinct, entropy, self_bleu
    from mmdial_metrics.f1 import ExactMatch, UnigramF1, exact_match, unigram_f1
    from mmdial_metrics.registry import get_metric, list_metrics, register_metric
    from mmdial_metrics.rouge_scores import ROUGE, CocoRougeL, coco_rouge_l, rouge

__version__ = "0.1.0"

_LAZY = {
    "Metric": "core", "MetricResult": "core",
    "get_metric": "registry", "list_metrics": "registry", "register_metric": "registry",
    "BLEU": "bleu_scores", "NLTKBLEU": "bleu_scores", "CocoBLEU": "bleu_scores", "bleu": "bleu_scores", "sentence_bleu": "bleu_scores",
    "nltk_bleu": "bleu_scores", "nltk_sentence_bleu": "bleu_scores", "coco_bleu": "bleu_scores",
    "ROUGE": "rouge_scores", "CocoRougeL": "rouge_scores", "rouge": "rouge_scores", "coco_rouge_l": "rouge_scores",
    "CIDErD": "cider_scores", "cider_d": "cider_scores",
    "Distinct": "diversity", "Entropy": "diversity", "SelfBLEU": "diversity", "AverageLength": "diversity",
    "distinct": "diversity", "entropy": "diversity", "self_bleu": "diversity", "avg_length": "diversity",
    "UnigramF1": "f1", "ExactMatch": "f1", "unigram_f1": "f1", "exact_match": "f1",
    "perplexity": "language_model",
    "retrieval_metrics": "retrieval",
    "joint_goal_accuracy": "dst", "slot_scores": "dst", "requested_slot_f1": "dst", "intent_accuracy": "dst",
    "inform_success": "dst",
    "bootstrap_ci": "bootstrap",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmdial_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mmdial_metrics.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
