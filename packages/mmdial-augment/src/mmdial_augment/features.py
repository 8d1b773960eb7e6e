"""Stage 1 of IMAD: per-candidate features that say whether an utterance can be replaced by an image.

For utterance ``u`` with text embedding ``t`` (L2-normalized) and pool image embeddings ``P``:

- ``image_score = max_j t·P_j`` and ``image_row = argmax_j`` (the top-1 image, by the pool's faiss index);
- ``max_entity_score = max_{n in nouns(u)} max_j e(n)·P_j`` with ``e(n)`` the embedding of
  ``"a photo of a {n}"`` (``mmdial_retrieval.entity_prompts``) over the nouns of
  ``mmdial_retrieval.extract_nouns``; ``0`` when ``u`` has no noun;
- ``sent_sim``: cosine of sentence-encoder (MiniLM) embeddings of ``u`` and the top-1 image's caption;
- ``bleu``: sacrebleu sentence BLEU (13a, exp smoothing, effective order, 0-100) of the caption as
  hypothesis against ``u`` as reference, computed with :mod:`mmdial_metrics`;
- ``threshold``: the rule of :mod:`mmdial_augment.thresholds`.

:class:`FeatureExtractor` computes them for many utterances at once (batched matrix products, unique
nouns encoded once per run, batched faiss search); ``batch_size=1`` gives the unbatched path used by the
benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.thresholds import Thresholds

if TYPE_CHECKING:
    from mmdial_augment.captioners import Captioner
    from mmdial_augment.pool import ImagePool
    from mmdial_retrieval.encoder import DualEncoder

#: Column order of the classifier's input (IMAD's ``X_test``).
CLASSIFIER_FEATURES = ("image_score", "bleu", "sent_sim", "max_entity_score", "threshold")


@dataclass
class Stage1Features:
    """Feature columns for ``n`` utterances (row ``i`` = utterance ``i``)."""

    image_score: np.ndarray
    image_row: np.ndarray
    nouns: list[list[str]]
    entity_scores: list[list[float]]
    max_entity_score: np.ndarray
    caption: list[str]
    sent_sim: np.ndarray
    bleu: np.ndarray
    threshold: np.ndarray
    text_embeddings: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.image_score)

    def matrix(self) -> np.ndarray:
        """The classifier input ``(n, 5)`` in :data:`CLASSIFIER_FEATURES` order (``threshold`` as 0/1)."""
        return np.column_stack(
            [self.image_score, self.bleu, self.sent_sim, self.max_entity_score, self.threshold.astype(np.float64)]
        ).astype(np.float64)


def sentence_bleu_scores(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """sacrebleu sentence BLEU (effective order) of each hypothesis against its one reference (0-100).

    >>> sentence_bleu_scores(["a b c d"], ["a b c d e"]).round(4).tolist()
    [77.8801]
    """
    from mmdial_metrics import BLEU

    if not len(hypotheses):
        return np.zeros(0, np.float64)
    result = BLEU(level="sentence", effective_order=True).score(list(hypotheses), [[r] for r in references])
    assert result.item_scores is not None
    return np.asarray(result.item_scores, dtype=np.float64)


class FeatureExtractor:
    """Computes :class:`Stage1Features` with one encoder, one pool, one captioner.

    Args:
        encoder: The image-text dual encoder (``mmdial_retrieval.get_encoder(...)``).
        pool: The image pool, with embeddings from the same encoder.
        sentence_encoder: Text encoder for ``sent_sim`` (MiniLM: ``get_encoder("sentence")``).
        captioner: Captions of top-1 images.
        nouns: Callable texts -> noun lemmas per text.
        thresholds: The rule's thresholds.
        batch_size: Utterances per encoder call; 1 gives the unbatched path.
    """

    def __init__(
        self,
        encoder: DualEncoder,
        pool: ImagePool,
        sentence_encoder: DualEncoder,
        captioner: Captioner,
        nouns: Any,
        thresholds: Thresholds,
        *,
        batch_size: int = 64,
    ) -> None:
        if pool.embeddings is None or pool.encoder_id != encoder.encoder_id:
            raise ValueError(f"pool embeddings are missing or not from {encoder.encoder_id!r}; call pool.embed()")
        self.encoder = encoder
        self.pool = pool
        self.sentence_encoder = sentence_encoder
        self.captioner = captioner
        self.nouns = nouns
        self.thresholds = thresholds
        self.batch_size = batch_size
        self._entity_cache: dict[str, float] = {}

    def _encode(self, encoder: DualEncoder, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, encoder.dim), np.float32)
        parts = [encoder.encode_text(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return np.concatenate(parts)

    def entity_score(self, noun_lists: list[list[str]]) -> tuple[list[list[float]], np.ndarray]:
        """Per-noun scores and their max (0 without nouns); unseen nouns are encoded in one batch."""
        assert self.pool.embeddings is not None
        new = sorted({n for ns in noun_lists for n in ns if n not in self._entity_cache})
        if new:
            from mmdial_retrieval import entity_prompts

            emb = self._encode(self.encoder, entity_prompts(new))
            best = self.pool.search(emb, k=1).scores[:, 0]
            self._entity_cache.update({n: float(s) for n, s in zip(new, best, strict=True)})
        scores = [[self._entity_cache[n] for n in ns] for ns in noun_lists]
        return scores, np.array([max(s) if s else 0.0 for s in scores], dtype=np.float64)

    def __call__(self, utterances: Sequence[str]) -> Stage1Features:
        """Features of ``utterances`` (in order)."""
        assert self.pool.embeddings is not None
        texts = list(utterances)
        emb = self._encode(self.encoder, texts)
        hits = self.pool.search(emb, k=1)
        image_score, image_row = hits.scores[:, 0], hits.rows[:, 0]
        noun_lists = self.nouns(texts) if texts else []
        entity_scores, max_entity = self.entity_score(noun_lists)
        captions = self.captioner(self.pool, image_row.tolist())
        u = self._encode(self.sentence_encoder, texts)
        c = self._encode(self.sentence_encoder, captions)
        sent_sim = np.einsum("ij,ij->i", u, c).astype(np.float64) if texts else np.zeros(0)
        bleu = sentence_bleu_scores(captions, texts)
        image_score64 = image_score.astype(np.float64)
        flag = self.thresholds.flag(max_entity, image_score64, sent_sim)
        return Stage1Features(
            image_score64, image_row, noun_lists, entity_scores, max_entity, captions, sent_sim, bleu, flag, emb
        )
