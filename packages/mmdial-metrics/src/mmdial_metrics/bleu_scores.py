"""BLEU in the variants papers report, one module per family; this module re-exports them all.

- :mod:`mmdial_metrics.bleu_sacrebleu`: :class:`BLEU` (``bleu``, ``sentence_bleu``), sacrebleu, 0-100.
- :mod:`mmdial_metrics.bleu_nltk`: :class:`NLTKBLEU` (``nltk_bleu``, ``nltk_sentence_bleu``), nltk, 0-1.
- :mod:`mmdial_metrics.bleu_parlai`: :class:`ParlAIBLEU` (``parlai_bleu``), ParlAI's ``bleu-4`` preset.
- :mod:`mmdial_metrics.bleu_coco`: :class:`CocoBLEU` (``coco_bleu``), pycocoevalcap, 0-1.
- :mod:`mmdial_metrics.bleu_statistics`: the per-sentence statistic they all share (:func:`bleu_stats`).

Kept so ``from mmdial_metrics.bleu_scores import ...`` and the registry's ``bleu_scores.<Class>`` targets
keep working; new code imports from the family modules.

Example:
    >>> preds = ["the cat is on the mat"]
    >>> refs = [["the cat sat on the mat", "there is a cat on the mat"]]
    >>> round(bleu(preds, refs).score, 6)
    39.763536
    >>> round(nltk_bleu(preds, refs, smoothing=1).score, 6)
    0.265915
"""

from __future__ import annotations

from mmdial_metrics.bleu_coco import CocoBLEU, coco_bleu
from mmdial_metrics.bleu_nltk import NLTKBLEU, nltk_bleu, nltk_sentence_bleu
from mmdial_metrics.bleu_parlai import ParlAIBLEU
from mmdial_metrics.bleu_sacrebleu import BLEU, SMOOTH_DEFAULTS, bleu, sacrebleu_from_stats, sentence_bleu
from mmdial_metrics.bleu_statistics import bleu_stats, encode_all

__all__ = [
    "BLEU",
    "NLTKBLEU",
    "SMOOTH_DEFAULTS",
    "CocoBLEU",
    "ParlAIBLEU",
    "bleu",
    "bleu_stats",
    "coco_bleu",
    "encode_all",
    "nltk_bleu",
    "nltk_sentence_bleu",
    "sacrebleu_from_stats",
    "sentence_bleu",
]
