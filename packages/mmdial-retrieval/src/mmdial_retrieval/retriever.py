"""Text->image and image->image search: an encoder and an index built with the same encoder.

Example:
    >>> import numpy as np
    >>> from mmdial_retrieval import VectorIndex, get_encoder
    >>> enc = get_encoder("offline")  # doctest: +SKIP
    >>> retriever = Retriever.from_pool(pool, enc, cache)  # doctest: +SKIP
    >>> hits = retriever.search_text(["a cat", "a cup of coffee"], k=3)  # doctest: +SKIP
    >>> hits.ids[0][0], hits.captions[0][0]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mmdial_retrieval.encoder import DualEncoder, ImageInput
from mmdial_retrieval.index import IndexParams, SearchResults, VectorIndex

if TYPE_CHECKING:
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.pool import ImagePool


class Retriever:
    """Batched search over ``index`` with queries embedded by ``encoder``.

    Raises:
        ValueError: The index was built with another encoder.
    """

    def __init__(self, encoder: DualEncoder, index: VectorIndex, pool: ImagePool | None = None):
        if index.encoder_id and index.encoder_id != encoder.encoder_id:
            raise ValueError(f"index was built with {index.encoder_id!r}, queries would use {encoder.encoder_id!r}")
        self.encoder = encoder
        self.index = index
        self.pool = pool

    @classmethod
    def from_pool(
        cls,
        pool: ImagePool,
        encoder: DualEncoder,
        cache: EmbeddingCache | None = None,
        *,
        params: IndexParams | str = "auto",
        **embed_kwargs: Any,
    ) -> Retriever:
        """Embed ``pool`` (through ``cache``) and index it."""
        from mmdial_retrieval.embed import embed_pool

        result = embed_pool(pool, encoder, cache, **embed_kwargs)
        index = VectorIndex.build(
            result.vectors, result.ids, captions=pool.captions(result.ids), params=params, encoder_id=encoder.encoder_id
        )
        return cls(encoder, index, pool)

    def search_text(self, texts: Sequence[str], k: int = 10, **search_kwargs: Any) -> SearchResults:
        """Images for each text (e.g. utterances, ``"a photo of a {noun}"`` prompts)."""
        return self.index.search(self.encoder.encode_text(list(texts)), k, **search_kwargs)

    def search_images(self, images: Sequence[ImageInput], k: int = 10, **search_kwargs: Any) -> SearchResults:
        """Similar images for each query image (paths or PIL images)."""
        return self.index.search(self.encoder.encode_images(list(images)), k, **search_kwargs)
