"""Embedding cache: chunked shards keyed by (encoder id, image content hash); resumable and atomic.

Layout: ``<cache>/<encoder slug>/encoder.json`` plus ``shard-000000.npz``, ``shard-000001.npz`` ... each holding
``hashes`` (image ids) and ``vectors`` (float32). A shard is written to a temporary file and renamed, so an
interrupted run leaves only whole shards (and perhaps a temporary, removed on the next open); a re-run
embeds only what no shard holds. A hash present in several shards (two runs racing) is read once.

Example:
    >>> import numpy as np, tempfile
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> cache.write_shard("enc:a", ["h1", "h2"], np.eye(2, dtype="float32"))
    2
    >>> cache.write_shard("enc:a", ["h2", "h3"], np.eye(2, dtype="float32"))  # h2 is already cached
    1
    >>> sorted(cache.hashes("enc:a")), cache.get("enc:a", ["h3", "h1"]).tolist()
    (['h1', 'h2', 'h3'], [[0.0, 1.0], [1.0, 0.0]])
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmdial_data.errors import MMDialDataError
from mmdial_retrieval.atomic import atomic_path, remove_stale_temporaries, write_text_atomic

_SHARD_RE = re.compile(r"^shard-(\d{6,})\.npz$")


def encoder_slug(encoder_id: str) -> str:
    """A folder name for an encoder id: readable part plus a hash of the full id.

    >>> encoder_slug("openclip:ViT-B-32:openai")
    'openclip_ViT-B-32_openai-c8e05155'
    """
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", encoder_id)[:60]
    return f"{readable}-{hashlib.sha256(encoder_id.encode()).hexdigest()[:8]}"


class _EncoderShards:
    """In-memory view of one encoder's shards: hash -> (shard file, row)."""

    def __init__(self, folder: Path, encoder_id: str):
        self.folder = folder
        self.encoder_id = encoder_id
        self.location: dict[str, tuple[Path, int]] = {}
        self.next_shard = 0
        self.dim: int | None = None
        self._arrays: dict[Path, np.ndarray] = {}
        if folder.is_dir():
            remove_stale_temporaries(folder)
            self._check_encoder_file()
            for shard in sorted(p for p in folder.iterdir() if _SHARD_RE.match(p.name)):
                self.next_shard = max(self.next_shard, int(_SHARD_RE.match(shard.name).group(1)) + 1)  # type: ignore[union-attr]
                with np.load(shard, allow_pickle=False) as data:
                    hashes = data["hashes"]
                    if self.dim is None:
                        self.dim = int(data["vectors"].shape[1])
                for row, h in enumerate(hashes.tolist()):
                    self.location.setdefault(h, (shard, row))

    def _check_encoder_file(self) -> None:
        meta_path = self.folder / "encoder.json"
        if meta_path.is_file():
            stored = json.loads(meta_path.read_text(encoding="utf-8")).get("encoder_id")
            if stored != self.encoder_id:
                raise MMDialDataError(
                    f"cache folder belongs to encoder {stored!r}, not {self.encoder_id!r}", path=meta_path
                )

    def vectors_of(self, shard: Path) -> np.ndarray:
        if shard not in self._arrays:
            with np.load(shard, allow_pickle=False) as data:
                self._arrays[shard] = data["vectors"]
        return self._arrays[shard]


class EmbeddingCache:
    """Embeddings on disk, one folder per encoder id, in atomically written shards (see module docs)."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self._encoders: dict[str, _EncoderShards] = {}

    def _shards(self, encoder_id: str) -> _EncoderShards:
        if encoder_id not in self._encoders:
            self._encoders[encoder_id] = _EncoderShards(self.folder / encoder_slug(encoder_id), encoder_id)
        return self._encoders[encoder_id]

    def refresh(self) -> None:
        """Forget what was read; the next call re-scans the shards (after another process wrote some)."""
        self._encoders.clear()

    def hashes(self, encoder_id: str) -> set[str]:
        """Image hashes cached for this encoder."""
        return set(self._shards(encoder_id).location)

    def __contains__(self, key: tuple[str, str]) -> bool:
        encoder_id, image_hash = key
        return image_hash in self._shards(encoder_id).location

    def missing(self, encoder_id: str, hashes: Sequence[str]) -> list[str]:
        """The ``hashes`` not yet cached, in order, each once."""
        have = self._shards(encoder_id).location
        seen: set[str] = set()
        return [h for h in hashes if h not in have and not (h in seen or seen.add(h))]

    def get(self, encoder_id: str, hashes: Sequence[str]) -> np.ndarray:
        """Vectors of ``hashes`` in order: ``(len(hashes), dim)``; KeyError names a missing hash."""
        shards = self._shards(encoder_id)
        if not hashes:
            return np.zeros((0, shards.dim or 0), np.float32)
        rows = []
        for h in hashes:
            try:
                shard, row = shards.location[h]
            except KeyError:
                raise KeyError(f"{shards.folder}: no cached embedding for image {h!r}") from None
            rows.append(shards.vectors_of(shard)[row])
        return np.stack(rows).astype(np.float32, copy=False)

    def write_shard(self, encoder_id: str, hashes: Sequence[str], vectors: np.ndarray) -> int:
        """Store one shard atomically, skipping hashes already cached; returns how many rows were written."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(hashes):
            raise ValueError(f"{len(hashes)} hashes but vectors of shape {vectors.shape}")
        shards = self._shards(encoder_id)
        if shards.dim is not None and vectors.shape[1] != shards.dim:
            raise ValueError(f"cache for {encoder_id!r} holds dim {shards.dim}, got dim {vectors.shape[1]}")
        keep, seen = [], set(shards.location)
        for i, h in enumerate(hashes):
            if h not in seen:
                seen.add(h)
                keep.append(i)
        if not keep:
            return 0
        shards.folder.mkdir(parents=True, exist_ok=True)
        meta = shards.folder / "encoder.json"
        if not meta.exists():
            write_text_atomic(meta, json.dumps({"encoder_id": encoder_id, "dim": int(vectors.shape[1])}))
        path = shards.folder / f"shard-{shards.next_shard:06d}.npz"
        kept_hashes = np.asarray([hashes[i] for i in keep])
        kept = np.ascontiguousarray(vectors[keep])
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, hashes=kept_hashes, vectors=kept)
        shards.next_shard += 1
        shards.dim = int(vectors.shape[1])
        shards._arrays[path] = kept
        for row, h in enumerate(kept_hashes.tolist()):
            shards.location[h] = (path, row)
        return len(keep)

    def shard_files(self, encoder_id: str) -> list[Path]:
        """The shard files of an encoder, in write order."""
        folder = self._shards(encoder_id).folder
        return sorted(p for p in folder.iterdir() if _SHARD_RE.match(p.name)) if folder.is_dir() else []
