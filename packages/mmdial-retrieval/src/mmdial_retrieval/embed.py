"""Embedding an image pool: a DataLoader decodes and preprocesses in worker processes, the encoder runs on
whole batches, finished chunks go to the :class:`~mmdial_retrieval.cache.EmbeddingCache` as shards.

A run interrupted at any point loses at most the chunk in flight; the next run embeds only what the cache
lacks. Images that fail to decode are reported in :attr:`EmbedResult.failed`, never stop the run.

``embed_pool(..., engine="ray")`` embeds on an execution engine instead (:mod:`mmdial_data.engines`; Ray Data actor
pools, one encoder per actor; ``pip install "mmdial-retrieval[ray]"``) and gives the same result: see
:func:`mmdial_retrieval.engines.embed_pool_on_engine`.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from mmdial_retrieval import ImagePool, EmbeddingCache, get_encoder
    >>> src = pathlib.Path(tempfile.mkdtemp())
    >>> for i, color in enumerate(["red", "blue"]):
    ...     Image.new("RGB", (40, 30), color).save(src / f"{i}.png")
    >>> pool = ImagePool.create(pathlib.Path(tempfile.mkdtemp()) / "pool"); _ = pool.add_folder(src)
    >>> enc = get_encoder("openclip:mmdial-tiny")  # doctest: +SKIP
    >>> result = embed_pool(pool, enc, EmbeddingCache(tempfile.mkdtemp()))  # doctest: +SKIP
    >>> result.vectors.shape, result.embedded_now  # doctest: +SKIP
    ((2, 32), 2)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval.embed_result import EmbedResult
from mmdial_retrieval.encoder import DualEncoder

if TYPE_CHECKING:
    from mmdial_data.engines import Engine
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.pool import ImagePool, PoolProblem


class _ImageFiles:
    """torch Dataset: (position, preprocessed tensor or None, error message)."""

    def __init__(self, paths: Sequence[Path], transform: Callable[[Any], Any]):
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[int, Any, str | None]:
        return (i, *_load_one(self.paths[i], self.transform))


def _collate(items: list[tuple[int, Any, str | None]]) -> tuple[list[int], Any, list[tuple[int, str]]]:
    import torch

    ok = [(i, x) for i, x, _ in items if x is not None]
    failed = [(i, err or "unreadable") for i, x, err in items if x is None]
    batch = torch.stack([x for _, x in ok]) if ok else None
    return [i for i, _ in ok], batch, failed


def _load_one(path: Path, transform: Callable[[Any], Any]) -> tuple[Any, str | None]:
    from mmdial_retrieval.images import ImageLoadError, load_rgb

    try:
        return transform(load_rgb(path)), None
    except ImageLoadError as exc:
        return None, exc.message


def _threaded_batches(
    paths: Sequence[Path], transform: Callable[[Any], Any], batch_size: int, threads: int, prefetch: int
) -> Any:
    """Decode and preprocess in a thread pool, ``prefetch`` batches ahead of the consumer (PIL's decoders and
    resampling release the GIL, so this overlaps with the forward pass without worker processes)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, len(paths), batch_size)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mmdial-decode") as pool:
        pending: deque[tuple[int, list[Any]]] = deque()
        it = iter(starts)

        def submit() -> None:
            start = next(it, None)
            if start is not None:
                stop = min(start + batch_size, len(paths))
                pending.append((start, [pool.submit(_load_one, paths[i], transform) for i in range(start, stop)]))

        for _ in range(prefetch + 1):
            submit()
        while pending:
            start, futures = pending.popleft()
            submit()
            yield _collate([(start + j, *f.result()) for j, f in enumerate(futures)])


def iter_image_batches(
    paths: Sequence[Path],
    encoder: DualEncoder,
    *,
    batch_size: int = 32,
    num_workers: int | None = None,
    threads: int = 0,
    prefetch: int = 2,
) -> Any:
    """Yield ``(positions, batch, failures)`` for ``paths``, decoding and preprocessing off the main thread.

    With ``threads > 0`` a pool of that many threads decodes ``prefetch`` batches ahead (no extra processes;
    best when CPUs are few). Otherwise DataLoader worker processes do it: ``num_workers=None`` uses one
    worker per CPU beyond the first (0 on a single CPU: decoding in the main thread).
    """
    if threads > 0:
        yield from _threaded_batches(paths, encoder.image_transform(), batch_size, threads, prefetch)
        return
    from torch.utils.data import DataLoader

    if num_workers is None:
        num_workers = max(0, (os.cpu_count() or 1) - 1)
    loader = DataLoader(
        _ImageFiles(paths, encoder.image_transform()),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=_collate,
        prefetch_factor=prefetch * 2 if num_workers else None,
        persistent_workers=False,
    )
    yield from loader


def embed_paths(
    paths: Sequence[Path],
    encoder: DualEncoder,
    *,
    batch_size: int = 32,
    num_workers: int | None = None,
    threads: int = 0,
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Embed image files without a cache: ``(vectors of the readable ones in order, [(position, error)])``.

    ``num_workers`` and ``threads`` choose the decoding workers as in :func:`iter_image_batches`.
    """
    parts, failures = [], []
    for _, batch, failed in iter_image_batches(
        paths, encoder, batch_size=batch_size, num_workers=num_workers, threads=threads
    ):
        failures.extend(failed)
        if batch is not None:
            parts.append(encoder.encode_preprocessed(batch))
    vectors = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
    return vectors, failures


def embed_pool(
    pool: ImagePool,
    encoder: DualEncoder,
    cache: EmbeddingCache | None = None,
    *,
    batch_size: int = 32,
    shard_size: int = 1024,
    num_workers: int | None = None,
    threads: int = 0,
    progress: bool = True,
    engine: str | Engine | None = None,
    engine_options: Mapping[str, Any] | None = None,
    engine_dir: str | os.PathLike[str] | None = None,
) -> EmbedResult:
    """Embed every image of ``pool`` with ``encoder``, reusing and filling ``cache``.

    Args:
        pool: The images.
        encoder: Any image-capable :class:`~mmdial_retrieval.encoder.DualEncoder`.
        cache: Where finished chunks are stored (None: embed everything in memory).
        batch_size: Images per forward pass.
        shard_size: Images per cache shard (the most a crash can lose).
        num_workers: DataLoader worker processes (None: CPUs - 1).
        threads: Decode in this many threads instead of worker processes (0: use processes).
        progress: Show a tqdm progress bar.
        engine: ``"local"`` (default: this process, as above), ``"ray"`` or an engine instance
            (``RayEngine(address="auto", workers=8)``): embed on that engine with the same batches, same result.
            ``num_workers`` and ``threads`` apply to the local path only.
        engine_options: Options of a named engine (``{"workers": 8}``).
        engine_dir: Where the engine writes its shards (every engine worker must reach it); default
            ``<cache>/engine-runs/<encoder>``, removed once the vectors are in the cache.
    """
    from tqdm.auto import tqdm

    from mmdial_data.engines import resolve_engine
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.pool import PoolProblem

    eng = resolve_engine(engine, engine_options)
    if eng is not None and cache is not None:
        from mmdial_retrieval.cache import encoder_slug
        from mmdial_retrieval.engines import embed_pool_on_engine

        runs = cache.folder / "engine-runs"
        result = embed_pool_on_engine(
            pool,
            encoder,
            cache,
            out_dir=engine_dir or runs / encoder_slug(encoder.image_cache_id),
            engine=eng,
            batch_size=batch_size,
            shard_size=shard_size,
            progress=progress,
            keep_shards=engine_dir is not None,
        )
        if engine_dir is None and runs.is_dir() and not any(runs.iterdir()):
            runs.rmdir()
        return result
    if cache is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mmdial-embed-") as tmp:
            return embed_pool(
                pool,
                encoder,
                EmbeddingCache(tmp),
                batch_size=batch_size,
                shard_size=shard_size,
                num_workers=num_workers,
                threads=threads,
                progress=progress,
                engine=eng,
                engine_dir=engine_dir,
            )
    all_ids = pool.ids()
    cache_id = encoder.image_cache_id
    todo = cache.missing(cache_id, all_ids)
    from_cache = len(all_ids) - len(todo)
    failed: list[PoolProblem] = []
    failed_ids: set[str] = set()
    done_now = 0
    bar = tqdm(total=len(todo), desc=f"embedding ({cache_id})", unit="img", disable=not progress or not todo)
    buf_ids: list[str] = []
    buf_vecs: list[np.ndarray] = []

    def flush() -> None:
        nonlocal done_now
        if buf_ids:
            done_now += cache.write_shard(cache_id, buf_ids, np.concatenate(buf_vecs))
            buf_ids.clear()
            buf_vecs.clear()

    paths = pool.paths(todo)
    for positions, batch, failures in iter_image_batches(
        paths, encoder, batch_size=batch_size, num_workers=num_workers, threads=threads
    ):
        for pos, message in failures:
            failed.append(PoolProblem(str(paths[pos]), "unreadable", message))
            failed_ids.add(todo[pos])
        if batch is not None:
            buf_vecs.append(encoder.encode_preprocessed_for_cache(batch))
            buf_ids.extend(todo[p] for p in positions)
        bar.update(len(positions) + len(failures))
        if len(buf_ids) >= shard_size:
            flush()
    flush()
    bar.close()
    return EmbedResult.read_cached(
        encoder, cache, all_ids, embedded_now=done_now, from_cache=from_cache, failed=failed, failed_ids=failed_ids
    )
