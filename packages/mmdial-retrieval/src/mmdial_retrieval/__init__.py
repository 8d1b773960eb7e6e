"""mmdial-retrieval: dual image-text encoders, image pools, an embedding cache, faiss indexes and entities.

The shared retrieval engine of IMAD augmentation and ReSee fusion: embed an image pool once, then find
images for utterances and entities.

Example:
    >>> import mmdial_retrieval as mr
    >>> [e.name for e in mr.list_encoders()]
    ['conse', 'offline', 'openclip', 'sentence']
    >>> import numpy as np
    >>> vecs = mr.l2_normalize(np.eye(3, 4))
    >>> index = mr.VectorIndex.build(vecs, ids=["a", "b", "c"], captions=["x", "y", "z"])
    >>> hits = index.search(vecs[1:2], k=2)
    >>> hits.ids[0][0], hits.captions[0][0], float(hits.scores[0][0])
    ('b', 'y', 1.0)

Typical use (heavier; see the README)::

    enc = mr.get_encoder("offline")                          # or "openclip:ViT-B-32:openai"
    pool = mr.ImagePool.create("pool/"); pool.add_folder("photos/")
    vectors = mr.embed_pool(pool, enc, mr.EmbeddingCache("cache/"))
    index = mr.VectorIndex.from_embeddings(vectors, captions=pool.captions(vectors.ids))  # records enc's id
    mr.Retriever(enc, index).search_text(["a cat on a sofa"], k=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmdial_data.lazy import lazy_exports
from mmdial_retrieval._extras import MissingExtraError
from mmdial_retrieval.encoder import DualEncoder, l2_normalize
from mmdial_retrieval.registry import DEFAULT_ENCODER, get_encoder, list_encoders, register_encoder

if TYPE_CHECKING:
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.embed import embed_pool
    from mmdial_retrieval.embed_result import EmbedResult
    from mmdial_retrieval.entities import Entity, entity_prompts, extract_entities, extract_nouns
    from mmdial_retrieval.evaluate import RetrievalScores, evaluate_pool, retrieval_scores
    from mmdial_retrieval.images import ImageLoadError
    from mmdial_retrieval.index import IndexParams, SearchResults, VectorIndex, choose_index_params
    from mmdial_retrieval.offline_encoder import OfflineConSEEncoder
    from mmdial_retrieval.openclip_encoder import OpenClipEncoder
    from mmdial_retrieval.pool import ImagePool, PoolItem, PoolProblem
    from mmdial_retrieval.projection import fit_projection
    from mmdial_retrieval.retriever import Retriever
    from mmdial_retrieval.sentence_encoder import SentenceEncoder

__version__ = "0.1.0"

_LAZY = {
    "EmbeddingCache": "mmdial_retrieval.cache",
    "EmbedResult": "mmdial_retrieval.embed_result",
    "embed_pool": "mmdial_retrieval.embed",
    "Entity": "mmdial_retrieval.entities",
    "entity_prompts": "mmdial_retrieval.entities",
    "extract_entities": "mmdial_retrieval.entities",
    "extract_nouns": "mmdial_retrieval.entities",
    "RetrievalScores": "mmdial_retrieval.evaluate",
    "evaluate_pool": "mmdial_retrieval.evaluate",
    "retrieval_scores": "mmdial_retrieval.evaluate",
    "ImageLoadError": "mmdial_retrieval.images",
    "IndexParams": "mmdial_retrieval.index",
    "SearchResults": "mmdial_retrieval.index",
    "VectorIndex": "mmdial_retrieval.index",
    "choose_index_params": "mmdial_retrieval.index",
    "OfflineConSEEncoder": "mmdial_retrieval.offline_encoder",
    "OpenClipEncoder": "mmdial_retrieval.openclip_encoder",
    "ImagePool": "mmdial_retrieval.pool",
    "PoolItem": "mmdial_retrieval.pool",
    "PoolProblem": "mmdial_retrieval.pool",
    "fit_projection": "mmdial_retrieval.projection",
    "Retriever": "mmdial_retrieval.retriever",
    "SentenceEncoder": "mmdial_retrieval.sentence_encoder",
}

__all__ = [
    "DEFAULT_ENCODER",
    "DualEncoder",
    "EmbedResult",
    "EmbeddingCache",
    "Entity",
    "ImageLoadError",
    "ImagePool",
    "IndexParams",
    "MissingExtraError",
    "OfflineConSEEncoder",
    "OpenClipEncoder",
    "PoolItem",
    "PoolProblem",
    "RetrievalScores",
    "Retriever",
    "SearchResults",
    "SentenceEncoder",
    "VectorIndex",
    "choose_index_params",
    "embed_pool",
    "entity_prompts",
    "evaluate_pool",
    "extract_entities",
    "extract_nouns",
    "fit_projection",
    "get_encoder",
    "l2_normalize",
    "list_encoders",
    "register_encoder",
    "retrieval_scores",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
