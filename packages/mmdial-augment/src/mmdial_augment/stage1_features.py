"""Stage 1's feature table (:class:`FeatureTable`, built by :class:`Stage1Featurizer`): IMAD's image features plus
``mean_entity_score``, the text features and two MiniLM embedding groups (see :mod:`mmdial_augment.stage1`, which
re-exports these names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.features import CLASSIFIER_FEATURES

if TYPE_CHECKING:
    from mmdial_augment.pool import ImagePool
    from mmdial_retrieval.encoder import DualEncoder

#: Scalar features that need the image encoder and the pool.
IMAGE_FEATURES: tuple[str, ...] = (*CLASSIFIER_FEATURES, "mean_entity_score")
#: Scalar features of the text alone.
TEXT_FEATURES: tuple[str, ...] = ("n_words", "n_nouns", "question")
#: Vector feature groups (MiniLM, 384-d each): text only.
EMBEDDING_GROUPS: tuple[str, ...] = ("sentence_embedding", "noun_embedding")


@dataclass
class FeatureTable:
    """Stage-1 features of ``n`` utterances: scalar ``columns`` and vector ``groups`` (row ``i`` = utterance ``i``)."""

    columns: dict[str, np.ndarray]
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def matrix(self, features: Sequence[str]) -> np.ndarray:
        """The ``(n, d)`` model input: scalar columns and whole vector groups, in the order given."""
        parts = []
        for name in features:
            if name in self.columns:
                parts.append(np.asarray(self.columns[name], np.float64)[:, None])
            elif name in self.groups:
                parts.append(np.asarray(self.groups[name], np.float64))
            else:
                raise KeyError(f"unknown stage-1 feature {name!r}; have {sorted(self.columns) + sorted(self.groups)}")
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(self), 0))

    def take(self, rows: Any) -> FeatureTable:
        """The rows given (indices or a mask)."""
        return FeatureTable({k: v[rows] for k, v in self.columns.items()}, {k: v[rows] for k, v in self.groups.items()})

    def scalars(self, i: int) -> dict[str, float | bool]:
        """Row ``i``'s scalar features as JSON values (``threshold``, ``question`` as booleans)."""
        out: dict[str, float | bool] = {}
        for k, v in self.columns.items():
            x = v[i]
            if k in ("threshold", "question"):
                out[k] = bool(x)
            else:
                out[k] = int(x) if k in ("n_words", "n_nouns") else float(x)
        return out


class _MemoEncoder:
    """Caches ``encode_text`` by text, so the sentence embeddings of ``sent_sim`` are reused as features."""

    def __init__(self, encoder: DualEncoder) -> None:
        self.encoder = encoder
        self.dim = encoder.dim
        self.encoder_id = encoder.encoder_id
        self.memo: dict[str, np.ndarray] = {}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            self.memo.update(zip(new, np.asarray(self.encoder.encode_text(new), np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.memo[t] for t in texts])


class Stage1Featurizer:
    """Stage-1 features of utterances with one image encoder and pool (see the module docs).

    Args:
        encoder: The image-text encoder of IMAD's features.
        pool: The pool, embedded with ``encoder``.
        sentence_encoder: MiniLM (``get_encoder("sentence")``): ``sent_sim`` and the embedding groups.
        nouns: Callable texts -> noun lemmas (default: the pipeline's ``NounExtractor``).
        thresholds: The rule's thresholds (default: :func:`~mmdial_augment.thresholds.thresholds_for` the encoder).
        captioner: Captions of the top-1 images (default: the pool's captions).
    """

    def __init__(
        self,
        encoder: DualEncoder,
        pool: ImagePool,
        sentence_encoder: DualEncoder,
        *,
        nouns: Callable[[Sequence[str]], list[list[str]]] | None = None,
        thresholds: Any = None,
        captioner: Any = None,
        batch_size: int = 64,
    ) -> None:
        from mmdial_augment.captioners import get_captioner
        from mmdial_augment.features import FeatureExtractor
        from mmdial_augment.nouns import NounExtractor
        from mmdial_augment.thresholds import thresholds_for

        self.encoder = encoder
        self.pool = pool
        self.sentence = _MemoEncoder(sentence_encoder)
        self.thresholds = thresholds or thresholds_for(encoder.encoder_id, encoder.info())
        self.extractor = FeatureExtractor(
            encoder,
            pool,
            self.sentence,  # type: ignore[arg-type]
            captioner or get_captioner("pool-caption"),
            nouns or NounExtractor(),
            self.thresholds,
            batch_size=batch_size,
        )

    def info(self) -> dict[str, Any]:
        """What the features depend on (for a model's metadata)."""
        return {
            "encoder": self.encoder.encoder_id,
            "sentence_encoder": self.sentence.encoder_id,
            "pool": {"source": self.pool.source, "images": len(self.pool)},
            "thresholds": self.thresholds.to_dict(),
        }

    def __call__(self, utterances: Sequence[str]) -> FeatureTable:
        texts = [u.strip() for u in utterances]
        f = self.extractor(texts)
        n = len(texts)
        mean_entity = np.array([float(np.mean(s)) if s else 0.0 for s in f.entity_scores], np.float64)
        sent = self.sentence.encode_text(texts) if n else np.zeros((0, self.sentence.dim), np.float32)
        all_nouns = sorted({x for ns in f.nouns for x in ns})
        noun_vec = dict(zip(all_nouns, self.sentence.encode_text(all_nouns), strict=True)) if all_nouns else {}
        noun_emb = np.zeros((n, self.sentence.dim), np.float64)
        for i, ns in enumerate(f.nouns):
            if ns:
                noun_emb[i] = np.mean([noun_vec[x] for x in ns], axis=0)
        columns = {
            "image_score": f.image_score,
            "bleu": f.bleu,
            "sent_sim": f.sent_sim,
            "max_entity_score": f.max_entity_score,
            "threshold": f.threshold.astype(np.float64),
            "mean_entity_score": mean_entity,
            "n_words": np.array([len(t.split()) for t in texts], np.float64),
            "n_nouns": np.array([len(ns) for ns in f.nouns], np.float64),
            "question": np.array(["?" in t for t in texts], np.float64),
        }
        groups = {"sentence_embedding": np.asarray(sent, np.float64), "noun_embedding": noun_emb}
        return FeatureTable(columns, groups)
