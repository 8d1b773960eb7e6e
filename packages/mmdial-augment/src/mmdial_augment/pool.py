"""The image pool as the pipeline sees it: rows of ids, files and captions, their embeddings under one encoder,
and a faiss index for search, all built with :mod:`mmdial_retrieval` (``ImagePool``, ``embed_pool`` with its
``EmbeddingCache``, ``VectorIndex``).

The config names either an existing retrieval pool folder (``kind: pool``, made with
``mmdial retrieval pool add``) or a source folder (``kind: tuxpaint | folder | captions | coco``) that is
indexed into ``<output_dir>/pool`` once. Images that vanished since indexing (or no longer decode) are
reported skips, or an error with ``on_missing: raise``.

Example:
    >>> pool = ImagePool(["a", "b"], ["x/a.png", "x/b.png"], ["/p/x/a.png", "/p/x/b.png"], ["a cat", None], "demo")
    >>> len(pool), pool.caption(1)
    (2, '')
    >>> pool.subset([1]).image_ids
    ['b']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_data.errors import MMDialDataError

if TYPE_CHECKING:
    from mmdial_augment.config import PoolSpec
    from mmdial_data.engines import Engine
    from mmdial_retrieval import DualEncoder, SearchResults, VectorIndex


class PoolError(MMDialDataError):
    """The image pool is missing, empty, or none of its files can be read."""


@dataclass
class SkippedImage:
    """An image left out of the pool (vanished or unreadable), with the reason."""

    image_id: str
    path: str
    reason: str


@dataclass
class ImagePool:
    """Images addressable by row: ``image_ids[i]``, ``uris[i]`` (relative to the image root), ``paths[i]``
    (absolute files), ``captions[i]`` (None when unknown); ``embeddings`` rows follow the same order."""

    image_ids: list[str]
    uris: list[str]
    paths: list[str]
    captions: list[str | None]
    source: str
    root: str = ""
    skipped: list[SkippedImage] = field(default_factory=list)
    embeddings: np.ndarray | None = None
    encoder_id: str | None = None
    _index: Any = field(default=None, repr=False)
    #: How the embeddings were obtained: ``{"embedded_now": n, "from_cache": m, "cache": folder}``.
    embedding_stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.image_ids)

    def caption(self, i: int) -> str:
        """Caption of row ``i`` ('' when unknown)."""
        return self.captions[i] or ""

    def subset(self, rows: Sequence[int]) -> ImagePool:
        """A pool with the given rows (embeddings kept in step, skips carried over)."""
        rows = list(rows)
        emb = None if self.embeddings is None else self.embeddings[rows]
        return ImagePool(
            [self.image_ids[i] for i in rows],
            [self.uris[i] for i in rows],
            [self.paths[i] for i in rows],
            [self.captions[i] for i in rows],
            self.source,
            self.root,
            self.skipped,
            emb,
            self.encoder_id,
            embedding_stats=dict(self.embedding_stats),
        )

    def check_files(self, on_missing: str = "skip") -> ImagePool:
        """Drop rows whose file no longer exists (recorded in :attr:`skipped`), or raise with ``"raise"``."""
        keep = []
        for i, p in enumerate(self.paths):
            if os.path.isfile(p):
                keep.append(i)
                continue
            if on_missing == "raise":
                raise PoolError("image vanished since the pool was indexed", path=p, record=self.image_ids[i])
            self.skipped.append(SkippedImage(self.image_ids[i], p, "file vanished since indexing"))
        if not keep:
            raise PoolError("no image of the pool exists on disk", path=self.root)
        return self if len(keep) == len(self) else self.subset(keep)

    def index(self) -> VectorIndex:
        """The faiss index of :attr:`embeddings` (``mmdial_retrieval.VectorIndex``, exact for small pools)."""
        if self.embeddings is None:
            raise ValueError("the pool has no embeddings yet")
        if self._index is None:
            from mmdial_retrieval import VectorIndex

            self._index = VectorIndex.build(
                self.embeddings, ids=self.image_ids, captions=self.captions, encoder_id=self.encoder_id
            )
        return self._index

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        """Top-``k`` pool rows per query by inner product (batched faiss search)."""
        return self.index().search(queries, k=k)

    def info(self) -> dict[str, Any]:
        """JSON-able summary for provenance."""
        return {
            "source": self.source,
            "root": self.root,
            "images": len(self),
            "encoder": self.encoder_id,
            "embeddings": self.embedding_stats,
            "skipped": [s.__dict__ for s in self.skipped],
        }


def with_embeddings(
    pool: ImagePool,
    encoder: DualEncoder,
    *,
    batch_size: int = 32,
    num_workers: int | None = 0,
    on_missing: str = "skip",
) -> ImagePool:
    """Embed a pool's images directly with ``encoder.encode_images`` (small pools, tests)."""
    pool = pool.check_files(on_missing)
    pool.embeddings = encoder.encode_images(pool.paths, batch_size=batch_size)
    pool.encoder_id = encoder.encoder_id
    pool._index = None
    return pool


def open_retrieval_pool(spec: PoolSpec, workdir: str | os.PathLike[str]) -> Any:
    """The ``mmdial_retrieval.ImagePool`` of ``spec``: opened (``kind: pool``) or indexed once into ``workdir``."""
    from mmdial_retrieval import ImagePool as RetrievalPool

    path = Path(spec.path)
    if spec.kind == "pool":
        if not (path / "pool.json").is_file():
            raise PoolError(
                "image pool not found (no pool.json; create it with `mmdial retrieval pool add`)", path=path
            )
        return RetrievalPool.open(path)
    if not path.exists():
        raise PoolError(f"image source for a {spec.kind!r} pool not found", path=path)
    folder = Path(workdir)
    rpool = RetrievalPool.create(folder, exist_ok=True)
    if not any(a.get("path") == str(path.resolve()) or a.get("path") == str(path) for a in rpool.additions):
        rpool.add(spec.kind, path, source=spec.source)
        rpool.save()
    return rpool


def load_pool(
    spec: PoolSpec,
    encoder: DualEncoder,
    *,
    workdir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    batch_size: int = 32,
    progress: bool = False,
    engine: str | Engine | None = None,
) -> ImagePool:
    """Read (or index) the pool of ``spec`` and embed it with ``encoder`` through the retrieval cache
    ``mmdial_retrieval.EmbeddingCache(cache_dir)``: only images missing from the cache are embedded, so a cache
    shared with ``mmdial retrieval embed`` or notebook 02 is reused. ``engine`` (``"local"``, ``"ray"``, an
    engine instance) is where the missing images are embedded (``mmdial_retrieval.embed_pool``'s ``engine``).

    Raises:
        PoolError: Missing pool/source folder, or no usable image.
    """
    from mmdial_retrieval import EmbeddingCache, embed_pool

    rpool = open_retrieval_pool(spec, workdir)
    if not len(rpool):
        raise PoolError("the image pool holds no image", path=spec.path)
    result = embed_pool(
        rpool,
        encoder,
        EmbeddingCache(cache_dir),
        batch_size=batch_size,
        num_workers=0,
        progress=progress,
        engine=engine,
    )
    skipped = [SkippedImage("", prob.path, f"{prob.kind}: {prob.reason}") for prob in result.failed]
    items = [rpool.get(i) for i in result.ids]
    sources = {it.source for it in items}
    pool = ImagePool(
        [it.image_id for it in items],
        [it.uri for it in items],
        [str(rpool.path_of(it)) for it in items],
        [it.caption for it in items],
        ",".join(sorted(sources)),
        rpool.roots.get(next(iter(sources)), "") if len(sources) == 1 else "",
        skipped,
        result.vectors,
        encoder.encoder_id,
        embedding_stats={
            "embedded_now": int(result.embedded_now),
            "from_cache": int(result.from_cache),
            "cache": str(cache_dir),
        },
    )
    if not len(pool):
        raise PoolError("no image of the pool could be embedded", path=spec.path)
    return pool.check_files(spec.on_missing)  # cached vectors of files that vanished since indexing
