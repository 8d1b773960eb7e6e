"""Image feature store: one embedding per image id, stored once and referenced by id from the samples.

Saved as a ``.npz`` file with two arrays: ``ids`` (unicode) and ``vectors`` (float32, one row per id).

Example:
    >>> import numpy as np
    >>> store = ImageFeatureStore(["cat", "dog"], np.eye(2, 3, dtype=np.float32))
    >>> store.dim, len(store), "cat" in store
    (3, 2, True)
    >>> store.lookup(["dog"]).tolist()
    [[0.0, 1.0, 0.0]]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from mmdial_data.outputs import atomic_path


class ImageFeatureStore:
    """Image id -> embedding (float32 rows of one matrix)."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray):
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"expected {len(ids)} rows of image features, got an array of shape {vectors.shape}")
        self.ids = [str(i) for i in ids]
        self.vectors = vectors
        self._row = {image_id: n for n, image_id in enumerate(self.ids)}
        if len(self._row) != len(self.ids):
            raise ValueError("image ids of a feature store must be unique")

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._row

    def lookup(self, image_ids: Iterable[str], *, where: str | None = None) -> np.ndarray:
        """The rows of ``image_ids`` (shape ``(n, dim)``); a ``KeyError`` names the missing id (and ``where``)."""
        rows = []
        for image_id in image_ids:
            if image_id not in self._row:
                place = f"{where}: " if where else ""
                raise KeyError(f"{place}image {image_id!r} has no features in the feature store")
            rows.append(self._row[image_id])
        return self.vectors[rows] if rows else np.zeros((0, self.dim), dtype=np.float32)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Sequence[float] | np.ndarray]) -> ImageFeatureStore:
        """Build from ``{image_id: vector}`` (ids sorted, so equal mappings give equal stores)."""
        ids = sorted(mapping)
        if not ids:
            raise ValueError("cannot build a feature store from an empty mapping")
        return cls(ids, np.stack([np.asarray(mapping[i], dtype=np.float32) for i in ids]))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``ids`` and ``vectors`` to an ``.npz`` file atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, ids=np.asarray(self.ids, dtype=np.str_), vectors=self.vectors)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ImageFeatureStore:
        """Read a store written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as data:
            if "ids" not in data or "vectors" not in data:
                raise ValueError(f"{path}: not an image feature store (needs arrays 'ids' and 'vectors')")
            return cls([str(i) for i in data["ids"]], data["vectors"])
