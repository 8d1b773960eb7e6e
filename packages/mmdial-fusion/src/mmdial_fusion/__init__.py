"""mmdial-fusion: ReSee-style visual-knowledge fusion for dialogue models (Tu et al., EMNLP 2023).

Samples carry turn-level images (from context turns only) and entity-level images (from context entities);
a shared projection maps their embeddings into any transformers encoder-decoder or decoder-only backbone,
where they are appended after the context text with a modality-type embedding. Train from a YAML config,
generate (greedy/beam/top-k/top-p), and score per ablation.

``import mmdial_fusion`` is fast: torch and transformers load on first use of a model-side name.

Example:
    >>> import mmdial_fusion as mf
    >>> mf.ABLATIONS["no_entity"]
    (True, False)
    >>> "FusionModel" in mf.__all__
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmdial_data.lazy import lazy_exports
from mmdial_fusion.knowledge import ImageRetriever, KnowledgeConfig, RetrievedImage, build_samples
from mmdial_fusion.samples import FusionSample, VisualKnowledge, context_windows, read_samples, write_samples

if TYPE_CHECKING:
    from mmdial_fusion.backbones import Backbone, list_backbones, load_backbone, register_backbone
    from mmdial_fusion.collate import ABLATIONS, FusionCollator
    from mmdial_fusion.config import FusionConfig, GenerationConfig
    from mmdial_fusion.evaluation import score_responses
    from mmdial_fusion.features import ImageFeatureStore
    from mmdial_fusion.generation import evaluate_ablations, generate_responses
    from mmdial_fusion.model import FusionModel
    from mmdial_fusion.projection import VisualProjection
    from mmdial_fusion.retrieval_adapter import IndexRetriever, features_from_index, spacy_entity_extractor
    from mmdial_fusion.training import TrainResult, load_checkpoint, train

__version__ = "0.1.0"

_LAZY = {
    "Backbone": "mmdial_fusion.backbones",
    "list_backbones": "mmdial_fusion.backbones",
    "load_backbone": "mmdial_fusion.backbones",
    "register_backbone": "mmdial_fusion.backbones",
    "ABLATIONS": "mmdial_fusion.collate",
    "FusionCollator": "mmdial_fusion.collate",
    "FusionConfig": "mmdial_fusion.config",
    "GenerationConfig": "mmdial_fusion.config",
    "score_responses": "mmdial_fusion.evaluation",
    "ImageFeatureStore": "mmdial_fusion.features",
    "evaluate_ablations": "mmdial_fusion.generation",
    "generate_responses": "mmdial_fusion.generation",
    "FusionModel": "mmdial_fusion.model",
    "VisualProjection": "mmdial_fusion.projection",
    "IndexRetriever": "mmdial_fusion.retrieval_adapter",
    "features_from_index": "mmdial_fusion.retrieval_adapter",
    "spacy_entity_extractor": "mmdial_fusion.retrieval_adapter",
    "TrainResult": "mmdial_fusion.training",
    "load_checkpoint": "mmdial_fusion.training",
    "train": "mmdial_fusion.training",
}

__all__ = [
    "ABLATIONS",
    "Backbone",
    "FusionCollator",
    "FusionConfig",
    "FusionModel",
    "FusionSample",
    "GenerationConfig",
    "ImageFeatureStore",
    "ImageRetriever",
    "IndexRetriever",
    "KnowledgeConfig",
    "RetrievedImage",
    "TrainResult",
    "VisualKnowledge",
    "VisualProjection",
    "build_samples",
    "context_windows",
    "evaluate_ablations",
    "features_from_index",
    "generate_responses",
    "list_backbones",
    "load_backbone",
    "load_checkpoint",
    "read_samples",
    "register_backbone",
    "score_responses",
    "spacy_entity_extractor",
    "train",
    "write_samples",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
