"""The :class:`DualEncoder` interface shared by every backend.

A dual encoder maps texts and images into one space of L2-normalized ``float32`` vectors of size
:attr:`DualEncoder.dim`, so that the inner product is the cosine similarity. :attr:`DualEncoder.encoder_id`
names the model *and its weights*; embedding caches and indexes are keyed by it and provenance records it.

Example:
    >>> import numpy as np
    >>> class Bag(DualEncoder):
    ...     '''Toy encoder for the docs: letter counts.'''
    ...     encoder_id = "doc:bag"
    ...     dim = 26
    ...     def _encode_texts(self, texts):
    ...         out = np.zeros((len(texts), 26), np.float32)
    ...         for i, t in enumerate(texts):
    ...             for ch in t.lower():
    ...                 if "a" <= ch <= "z":
    ...                     out[i, ord(ch) - 97] += 1
    ...         return out
    >>> v = Bag().encode_text(["abc", "cab"])
    >>> v.shape, float(round(v[0] @ v[1], 4))
    ((2, 26), 1.0)
"""

from __future__ import annotations

import os
from abc import ABC
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

#: What :meth:`DualEncoder.encode_images` accepts: paths or PIL images.
ImageInput: TypeAlias = "str | os.PathLike[str] | Image.Image"


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalization to ``float32`` (zero rows stay zero).

    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32, copy=False)


class DualEncoder(ABC):  # noqa: B024 - every hook is optional (text-only / image-only backends)
    """Text and image encoder into one normalized embedding space.

    Subclasses set :attr:`encoder_id` and :attr:`dim` and implement ``_encode_texts`` and/or
    ``_encode_image_batch`` (preprocessed tensors) with :meth:`preprocess` (one PIL image -> model input).
    The public methods batch, normalize and return ``float32`` numpy arrays.

    Attributes:
        encoder_id: Stable id of model and weights (``"openclip:ViT-B-32:openai"``, ``"offline:conse-v1"``).
        dim: Embedding size.
        modalities: ``("text", "image")`` or ``("text",)`` for text-only encoders.
    """

    encoder_id: str = ""
    dim: int = 0
    modalities: tuple[str, ...] = ("text", "image")
    #: Texts per forward pass in :meth:`encode_text`.
    text_batch_size: int = 64

    # ---- public API -------------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str] | str) -> np.ndarray:
        """Embed texts: ``(len(texts), dim)`` float32, rows L2-normalized."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        parts = [
            self._encode_texts(texts[i : i + self.text_batch_size]) for i in range(0, len(texts), self.text_batch_size)
        ]
        return l2_normalize(np.concatenate(parts))

    def encode_images(self, images: Sequence[ImageInput], batch_size: int = 32) -> np.ndarray:
        """Embed images (paths or PIL images): ``(len(images), dim)`` float32, rows L2-normalized.

        Raises:
            mmdial_retrieval.images.ImageLoadError: An image cannot be decoded (names the file).
        """
        from mmdial_retrieval.images import load_rgb

        self._require("image")
        images = list(images)
        if not images:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        for i in range(0, len(images), batch_size):
            batch = [self.preprocess(load_rgb(im)) for im in images[i : i + batch_size]]
            parts.append(self.encode_preprocessed(self.collate(batch)))
        return np.concatenate(parts)

    def encode_preprocessed(self, batch: Any) -> np.ndarray:
        """Embed a collated batch of :meth:`preprocess` outputs (the hot path of embedding pipelines)."""
        self._require("image")
        return l2_normalize(self._encode_image_batch(batch))

    @property
    def image_cache_id(self) -> str:
        """Id under which embedding caches store this encoder's image vectors (default :attr:`encoder_id`).

        An encoder that is a cheap function of another one's image vectors (the offline encoder with a
        projection) names the base encoder here, caches :meth:`encode_preprocessed_for_cache` output and
        derives its own vectors with :meth:`from_cached`, so both share one cache.
        """
        return self.encoder_id

    def encode_preprocessed_for_cache(self, batch: Any) -> np.ndarray:
        """What the cache stores for a batch under :attr:`image_cache_id` (default :meth:`encode_preprocessed`)."""
        return self.encode_preprocessed(batch)

    def from_cached(self, vectors: np.ndarray) -> np.ndarray:
        """This encoder's image vectors from cached ones: ``from_cached(encode_preprocessed_for_cache(b))`` equals
        ``encode_preprocessed(b)`` (default: unchanged)."""
        return np.asarray(vectors, dtype=np.float32)

    def preprocess(self, image: Image.Image) -> Any:
        """Turn one RGB PIL image into the model input (picklable, so it can run in DataLoader workers)."""
        raise NotImplementedError(f"{self.encoder_id} does not encode images")

    def image_transform(self) -> Any:
        """A picklable callable doing :meth:`preprocess` (sent to DataLoader worker processes)."""
        return self.preprocess

    def collate(self, items: list[Any]) -> Any:
        """Stack :meth:`preprocess` outputs into a batch (torch tensors are stacked)."""
        import torch

        return torch.stack(items)

    def info(self) -> dict[str, Any]:
        """A JSON-able description for provenance records."""
        return {"encoder_id": self.encoder_id, "dim": self.dim, "modalities": list(self.modalities)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.encoder_id!r}, dim={self.dim})"

    # ---- backend hooks ------------------------------------------------------------------------------------
    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError(f"{self.encoder_id} does not encode texts")

    def _encode_image_batch(self, batch: Any) -> np.ndarray:
        raise NotImplementedError(f"{self.encoder_id} does not encode images")

    def _require(self, modality: str) -> None:
        if modality not in self.modalities:
            raise TypeError(f"encoder {self.encoder_id!r} is text-only; it cannot encode {modality}s")
