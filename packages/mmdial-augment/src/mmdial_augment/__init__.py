"""mmdial-augment: IMAD two-stage image augmentation of text dialogues (Moskvoretskii et al., 2023).

Stage 1 scores every candidate utterance (image_score, max_entity_score, sent_sim, bleu, threshold flag) and
decides which are replaceable (IMAD's threshold rule, or a JSON-stored classifier with a probability cutoff);
stage 2 retrieves the top-N images of each and keeps the one a VQA backend finds most likely to be described
by the utterance. Heavy dependencies load lazily: importing this package is fast.

Example:
    >>> import mmdial_augment
    >>> mmdial_augment.CUTOFF_PRESETS[8]
    0.027817989779176946
    >>> mmdial_augment.list_vqa_backends()
    ['blip', 'lm-caption']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmdial_augment.config import CUTOFF_PRESETS, VQA_QUESTION, AugmentConfig, load_config
from mmdial_data.lazy import lazy_exports

if TYPE_CHECKING:
    from mmdial_augment.captioners import get_captioner, list_captioners, register_captioner
    from mmdial_augment.classifier import StageOneClassifier, fit_classifier, load_classifier
    from mmdial_augment.features import FeatureExtractor, Stage1Features
    from mmdial_augment.pipeline import AugmentPipeline, RunResult, run_augment
    from mmdial_augment.pool import ImagePool, load_pool
    from mmdial_augment.thresholds import Thresholds
    from mmdial_augment.vqa import get_vqa_backend, list_vqa_backends, register_vqa_backend

__version__ = "0.1.0"

_LAZY = {
    "AugmentPipeline": ".pipeline",
    "RunResult": ".pipeline",
    "run_augment": ".pipeline",
    "FeatureExtractor": ".features",
    "Stage1Features": ".features",
    "ImagePool": ".pool",
    "load_pool": ".pool",
    "Thresholds": ".thresholds",
    "StageOneClassifier": ".classifier",
    "fit_classifier": ".classifier",
    "load_classifier": ".classifier",
    "get_captioner": ".captioners",
    "list_captioners": ".captioners",
    "register_captioner": ".captioners",
    "get_vqa_backend": ".vqa",
    "list_vqa_backends": ".vqa",
    "register_vqa_backend": ".vqa",
}

__all__ = [
    "CUTOFF_PRESETS",
    "VQA_QUESTION",
    "AugmentConfig",
    "AugmentPipeline",
    "FeatureExtractor",
    "ImagePool",
    "RunResult",
    "Stage1Features",
    "StageOneClassifier",
    "Thresholds",
    "fit_classifier",
    "get_captioner",
    "get_vqa_backend",
    "list_captioners",
    "list_vqa_backends",
    "load_classifier",
    "load_config",
    "load_pool",
    "register_captioner",
    "register_vqa_backend",
    "run_augment",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
