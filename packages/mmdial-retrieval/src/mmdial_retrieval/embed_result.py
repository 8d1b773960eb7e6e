"""What embedding a pool gives: :class:`EmbedResult` (vectors in pool order, counts, failures).

Its own module so that both ways of embedding, in process (:mod:`mmdial_retrieval.embed`) and on an engine
(:mod:`mmdial_retrieval.engines`), build it without importing each other.

Example:
    >>> import numpy as np
    >>> r = EmbedResult(["a", "b"], np.eye(2, 3, dtype=np.float32), "test:enc")
    >>> r.ids, r.vectors.shape, r.embedded_now
    (['a', 'b'], (2, 3), 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.encoder import DualEncoder
    from mmdial_retrieval.pool import PoolProblem


@dataclass
class EmbedResult:
    """Vectors of the pool's embeddable images (pool order) and what happened.

    Attributes:
        ids: Image ids, one per row of ``vectors``.
        vectors: ``(len(ids), dim)`` float32, normalized.
        encoder_id: The encoder used.
        embedded_now: Images embedded in this run.
        from_cache: Images found in the cache.
        failed: Images that could not be decoded (left out of ``ids``).
        cache_id: Encoder id the cache holds the vectors under (:attr:`DualEncoder.image_cache_id`; differs
            from ``encoder_id`` when the vectors are derived from a base encoder's, e.g. a projection).
    """

    ids: list[str]
    vectors: np.ndarray
    encoder_id: str
    embedded_now: int = 0
    from_cache: int = 0
    failed: list[PoolProblem] = field(default_factory=list)
    cache_id: str | None = None

    @classmethod
    def read_cached(
        cls,
        encoder: DualEncoder,
        cache: EmbeddingCache,
        all_ids: list[str],
        *,
        embedded_now: int,
        from_cache: int,
        failed: list[PoolProblem],
        failed_ids: set[str],
    ) -> EmbedResult:
        """The result once ``cache`` holds every image of ``all_ids`` but ``failed_ids`` (pool order kept)."""
        ids = [i for i in all_ids if i not in failed_ids]
        cache_id = encoder.image_cache_id
        vectors = encoder.from_cached(cache.get(cache_id, ids)) if ids else np.zeros((0, encoder.dim), np.float32)
        return cls(ids, vectors, encoder.encoder_id, embedded_now, from_cache, failed, cache_id)
