"""Pool embedding and text-to-pool scoring on an execution engine (``local``/``ray``, :mod:`mmdial_data.engines`).

Workers are classes, so each engine worker (a Ray actor) builds its encoder once. Outputs are the engines' Parquet
shards (``OUT/part-NNNNN.parquet``): ``image_id, vector, error`` for embeddings; ``item_id, top_ids, top_scores,
image_score`` for scores. Runs resume: finished shards are not recomputed. With ``engine="ray"`` install the extra:
``pip install "mmdial-retrieval[ray]"``.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> src = pathlib.Path(tempfile.mkdtemp())
    >>> for i, color in enumerate(["red", "blue"]):
    ...     Image.new("RGB", (40, 30), color).save(src / f"{i}.png")
    >>> items = [(f"img{i}", str(src / f"{i}.png")) for i in range(2)]
    >>> out = embed_images(items, "openclip:mmdial-tiny", out_dir=tempfile.mkdtemp(), progress=False)  # doctest: +SKIP
    >>> out.ids, out.vectors.shape  # doctest: +SKIP
    (['img0', 'img1'], (2, 32))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval.embed_result import EmbedResult
from mmdial_retrieval.encoder import DualEncoder
from mmdial_retrieval.topk import top_k_stable

if TYPE_CHECKING:
    from mmdial_data.engines import Engine, RunResult
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.pool import ImagePool


class ShippedEncoder:
    """A built encoder sent to engine workers (pickled once per worker); its ``repr`` is its encoder id, so the
    shard digests of a run (and so resumption) do not depend on where the object sits in memory."""

    def __init__(self, encoder: DualEncoder):
        self.encoder = encoder

    def __repr__(self) -> str:
        return f"ShippedEncoder({self.encoder.encoder_id!r})"


def _encoder(encoder: str | DualEncoder | ShippedEncoder) -> DualEncoder:
    if isinstance(encoder, ShippedEncoder):
        return encoder.encoder
    if isinstance(encoder, DualEncoder):
        return encoder
    from mmdial_retrieval.registry import get_encoder

    return get_encoder(encoder)


def _shipped(encoder: str | DualEncoder) -> str | ShippedEncoder:
    return encoder if isinstance(encoder, str) else ShippedEncoder(encoder)


class ImageEmbedWorker:
    """Engine worker: ``(image_id, path)`` batches -> ``image_id, vector, error`` (zero vector when unreadable).

    With ``for_cache`` the vectors are what an embedding cache stores under :attr:`DualEncoder.image_cache_id`
    (:meth:`DualEncoder.encode_preprocessed_for_cache`, e.g. unprojected ConSE vectors), as ``embed_pool`` does.
    """

    job_version = "embed-v1"

    def __init__(self, encoder: str | DualEncoder | ShippedEncoder, for_cache: bool = False):
        self.encoder = _encoder(encoder)
        self.for_cache = for_cache

    def __call__(self, batch: list[tuple[str, str]]) -> dict[str, Any]:
        from mmdial_retrieval.images import ImageLoadError, load_rgb

        transform = self.encoder.image_transform()
        tensors, ok, errors = [], [], []
        for i, (_, path) in enumerate(batch):
            try:
                tensors.append(transform(load_rgb(path)))
                ok.append(i)
                errors.append(None)
            except ImageLoadError as exc:
                errors.append(exc.message)
        good = None
        if tensors:
            collated = self.encoder.collate(tensors)
            if self.for_cache:
                good = self.encoder.encode_preprocessed_for_cache(collated)
            else:
                good = self.encoder.encode_preprocessed(collated)
        vectors = np.zeros((len(batch), self.encoder.dim if good is None else good.shape[1]), np.float32)
        if good is not None:
            vectors[ok] = good
        import pyarrow as pa

        return {
            "image_id": [image_id for image_id, _ in batch],
            "vector": vectors,
            "error": pa.array(errors, pa.string()),
        }


@dataclass
class EmbeddedImages:
    """Vectors of the readable images (input order) and the unreadable ones with their errors."""

    ids: list[str]
    vectors: np.ndarray
    failed: list[tuple[str, str]] = field(default_factory=list)
    run: RunResult | None = None


def load_embeddings(out_dir: str | os.PathLike[str]) -> EmbeddedImages:
    """Read the shards of an :func:`embed_images` run."""
    from mmdial_data.engines import read_shards

    table = read_shards(out_dir)
    ids = table.column("image_id").to_pylist()
    errors = table.column("error").to_pylist()
    flat = table.column("vector").combine_chunks()
    dim = flat.type.list_size
    vectors = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), np.float32).reshape(len(ids), dim)
    keep = [i for i, e in enumerate(errors) if e is None]
    return EmbeddedImages(
        [ids[i] for i in keep], vectors[keep], [(ids[i], errors[i]) for i, e in enumerate(errors) if e is not None]
    )


def embed_images(
    items: Sequence[tuple[str, str]],
    encoder: str | DualEncoder,
    *,
    out_dir: str | os.PathLike[str],
    engine: str | Engine | None = None,
    batch_size: int = 32,
    shard_size: int = 1024,
    engine_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    for_cache: bool = False,
) -> EmbeddedImages:
    """Embed ``(image_id, path)`` items on ``engine`` into shards under ``out_dir``; returns the vectors.

    Args:
        items: Image ids and files, in a stable order.
        encoder: An encoder name (``"offline"``, ``"openclip:ViT-B-32:openai"``; each worker builds it once) or an
            encoder instance (pickled once to each worker).
        out_dir: Shard folder (resumable).
        engine: ``"local"``, ``"ray"`` or an engine instance.
        batch_size: Images per forward pass (the same on every engine, so vectors are identical).
        shard_size: Images per shard.
        engine_options: Options of a named engine (``{"workers": 8}``).
        progress: Progress bars.
        for_cache: Store what an embedding cache keeps under the encoder's ``image_cache_id`` (see
            :class:`ImageEmbedWorker`) instead of the encoder's own vectors.
    """
    from mmdial_data.engines import run_batches

    enc_key = encoder if isinstance(encoder, str) else encoder.encoder_id
    worker_kwargs: dict[str, Any] = {"encoder": _shipped(encoder)}
    if for_cache:
        worker_kwargs["for_cache"] = True
    run = run_batches(
        [(str(i), str(p)) for i, p in items],
        ImageEmbedWorker,
        worker_kwargs=worker_kwargs,
        out_dir=out_dir,
        engine=engine,
        batch_size=batch_size,
        shard_size=shard_size,
        engine_options=engine_options,
        job_version=f"embed-v1:{enc_key}",
        progress=progress,
    )
    result = load_embeddings(out_dir)
    result.run = run
    return result


def embed_pool_on_engine(
    pool: ImagePool,
    encoder: str | DualEncoder,
    cache: EmbeddingCache,
    *,
    out_dir: str | os.PathLike[str],
    engine: str | Engine | None = None,
    batch_size: int = 32,
    shard_size: int = 1024,
    engine_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    keep_shards: bool = True,
) -> EmbedResult:
    """:func:`mmdial_retrieval.embed.embed_pool` on an engine: embeds what ``cache`` lacks, stores it there.

    Same result as ``embed_pool`` (ids in pool order, failed images reported, vectors cached under the encoder's
    ``image_cache_id``), so ``embed_pool(..., engine=...)`` delegates here. The engine's shards in ``out_dir``
    let an interrupted run resume; once their vectors are in the cache they are removed unless ``keep_shards``.
    """
    from mmdial_retrieval.pool import PoolProblem

    enc = _encoder(encoder)
    cache_id = enc.image_cache_id
    all_ids = pool.ids()
    todo = cache.missing(cache_id, all_ids)
    from_cache = len(all_ids) - len(todo)
    done_now = 0
    failed: list[PoolProblem] = []
    failed_ids: set[str] = set()
    if todo:
        paths = pool.paths(todo)
        got = embed_images(
            list(zip(todo, map(str, paths), strict=True)),
            encoder,
            out_dir=out_dir,
            engine=engine,
            batch_size=batch_size,
            shard_size=shard_size,
            engine_options=engine_options,
            progress=progress,
            for_cache=True,
        )
        for start in range(0, len(got.ids), shard_size):
            done_now += cache.write_shard(
                cache_id, got.ids[start : start + shard_size], got.vectors[start : start + shard_size]
            )
        by_id = dict(zip(todo, paths, strict=True))
        failed = [PoolProblem(str(by_id[i]), "unreadable", message) for i, message in got.failed]
        failed_ids = {i for i, _ in got.failed}
        if not keep_shards:
            import shutil

            shutil.rmtree(out_dir, ignore_errors=True)
    return EmbedResult.read_cached(
        enc, cache, all_ids, embedded_now=done_now, from_cache=from_cache, failed=failed, failed_ids=failed_ids
    )


class TextScoreWorker:
    """Engine worker: ``(item_id, text)`` batches -> top-``k`` pool images by cosine similarity (exact search).

    The pool vectors are read once per worker from an :func:`embed_images` shard folder. ``image_score`` is the
    best similarity: IMAD's stage-1 ``image_score`` feature.
    """

    job_version = "score-v1"

    def __init__(self, encoder: str | DualEncoder | ShippedEncoder, pool_dir: str, k: int = 5):
        self.encoder = _encoder(encoder)
        pool = load_embeddings(pool_dir)
        self.ids = np.asarray(pool.ids, dtype=object)
        self.vectors = pool.vectors
        self.k = min(k, len(pool.ids))

    def __call__(self, batch: list[tuple[str, str]]) -> dict[str, Any]:
        text = self.encoder.encode_text([t for _, t in batch])
        scores = text @ self.vectors.T
        top = top_k_stable(scores, self.k)
        top_scores = np.take_along_axis(scores, top, axis=1).astype(np.float64)
        return {
            "item_id": [i for i, _ in batch],
            "top_ids": [self.ids[row].tolist() for row in top],
            "top_scores": top_scores.tolist(),
            "image_score": top_scores[:, 0],
        }


def score_texts(
    items: Sequence[tuple[str, str]],
    encoder: str | DualEncoder,
    pool_dir: str | os.PathLike[str],
    *,
    out_dir: str | os.PathLike[str],
    k: int = 5,
    engine: str | Engine | None = None,
    batch_size: int = 256,
    shard_size: int = 4096,
    engine_options: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> RunResult:
    """Score ``(item_id, text)`` items against an embedded pool on ``engine``; shards under ``out_dir``."""
    from mmdial_data.engines import run_batches

    enc_key = encoder if isinstance(encoder, str) else encoder.encoder_id
    return run_batches(
        [(str(i), str(t)) for i, t in items],
        TextScoreWorker,
        worker_kwargs={"encoder": _shipped(encoder), "pool_dir": str(Path(pool_dir).resolve()), "k": k},
        out_dir=out_dir,
        engine=engine,
        batch_size=batch_size,
        shard_size=shard_size,
        engine_options=engine_options,
        job_version=f"score-v1:{enc_key}",
        progress=progress,
    )


__all__ = [
    "EmbeddedImages",
    "ImageEmbedWorker",
    "ShippedEncoder",
    "TextScoreWorker",
    "embed_images",
    "embed_pool_on_engine",
    "load_embeddings",
    "score_texts",
]
