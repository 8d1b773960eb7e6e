"""The compressed (IVF-PQ, optionally OPQ) index: training on a seeded sample, and exact re-ranking.

An IVF-PQ index keeps, per vector, a ``pq_m``-byte product-quantisation code and an 8-byte id in its inverted
lists. Its scores are approximations, so its top-k order is too. With ``IndexParams.rerank = r`` the search
asks IVF-PQ for a shortlist of ``r * k`` candidates and re-scores them by exact inner product against the
full-precision vectors, which live in a file beside the index (``vectors.npy``), memory-mapped: only the
shortlist's rows are read, so RAM holds the codes and the page cache whatever rows queries touch.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(size=(50, 4)).astype("float32")
    >>> q = base[:1] + 0.01
    >>> rows, scores = rerank_shortlist(q, np.array([[3, 0, -1, 7]]), base, k=2)
    >>> rows.tolist(), bool(abs(scores[0, 0] - float(q[0] @ base[0])) < 1e-5)
    ([[0, 7]], True)
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_retrieval.index_params import IndexParams

#: Re-ranking vectors file beside ``index.faiss``.
VECTORS_FILE = "vectors.npy"


def new_ivfpq(faiss: Any, params: IndexParams) -> Any:
    """An untrained faiss IVF-PQ (inner product) for ``params``, behind an OPQ rotation if ``params.opq``."""
    m, nbits = params.pq_m or 8, params.pq_nbits or 8
    spec = f"IVF{params.nlist or 1},PQ{m}x{nbits}"
    if params.opq:
        spec = f"OPQ{m}," + spec
    index = faiss.index_factory(params.dim, spec, faiss.METRIC_INNER_PRODUCT)
    # index_factory turns on polysemous training (a Hamming-ordering of the codes for a search mode not used
    # here); it costs most of the training time and changes no inner-product result.
    faiss.downcast_index(faiss.extract_index_ivf(index)).do_polysemous_training = False
    return index


def ivf_part(faiss: Any, index: Any) -> Any:
    """The ``IndexIVF`` inside ``index`` (itself, or the one behind an OPQ ``IndexPreTransform``)."""
    return faiss.extract_index_ivf(index)


def train_sample(x: np.ndarray, params: IndexParams) -> np.ndarray:
    """The seeded training sample: ``train_size`` distinct rows of ``x`` in row order (all rows if fewer)."""
    take = min(len(x), params.train_size or len(x))
    rows = np.random.default_rng(params.seed).choice(len(x), size=take, replace=False)
    return np.ascontiguousarray(x[np.sort(rows)], dtype=np.float32)


def build_ivfpq(
    faiss: Any, x: np.ndarray, params: IndexParams, *, add: Any, timings: dict[str, float] | None = None
) -> Any:
    """Train an IVF-PQ on the seeded sample of ``x`` and add every row with ``add(index, x)``.

    ``timings`` (optional) receives ``train_seconds`` and ``add_seconds``.
    """
    index = new_ivfpq(faiss, params)
    t0 = time.perf_counter()
    sample = train_sample(x, params)
    if len(sample) < 2 ** (params.pq_nbits or 8):
        raise ValueError(
            f"IVF-PQ with {params.pq_nbits or 8}-bit codes needs at least {2 ** (params.pq_nbits or 8)} training "
            f"vectors, got {len(sample)}; use kind='flat' for so few vectors or lower pq_nbits"
        )
    index.train(sample)
    del sample
    t1 = time.perf_counter()
    add(index, x)
    if timings is not None:
        timings["train_seconds"] = t1 - t0
        timings["add_seconds"] = time.perf_counter() - t1
    return index


def rerank_shortlist(
    queries: np.ndarray, candidates: np.ndarray, vectors: np.ndarray, k: int, *, block: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of each query's ``candidates`` rows (``-1`` = none) by exact inner product with ``vectors``.

    ``vectors`` may be a memory map: only the distinct candidate rows of each block of queries are read
    (in row order). Scores are computed in float32. Ties keep the shortlist's order. Rows missing from a
    short shortlist come back as ``-1`` with score ``-inf``.

    Returns:
        ``(rows, scores)``, both ``(len(queries), k)``.
    """
    q = np.ascontiguousarray(queries, dtype=np.float32)
    out_rows = np.full((len(q), k), -1, np.int64)
    out_scores = np.full((len(q), k), -np.inf, np.float32)
    for i in range(0, len(q), block):
        cand = candidates[i : i + block]
        valid = cand >= 0
        uniq = np.unique(cand[valid])
        if not len(uniq):
            continue
        rows_block = np.asarray(vectors[uniq], dtype=np.float32)
        gathered = rows_block[np.searchsorted(uniq, np.where(valid, cand, uniq[0]))]  # (b, s, dim)
        scores = np.matmul(gathered, q[i : i + block, :, None])[:, :, 0]
        scores[~valid] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        top = np.take_along_axis(scores, order, axis=1)
        out_rows[i : i + block, : order.shape[1]] = np.where(
            np.isfinite(top), np.take_along_axis(cand, order, axis=1), -1
        )
        out_scores[i : i + block, : order.shape[1]] = top
    return out_rows, out_scores


def write_vectors(path: Path, x: np.ndarray, dtype: str, chunk: int = 100_000) -> None:
    """Write ``x`` as a ``.npy`` file of ``dtype`` at ``path``, in chunks (no full-size copy in RAM)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=x.shape)
    for i in range(0, len(x), chunk):
        out[i : i + chunk] = x[i : i + chunk]
    out.flush()
    del out


def open_vectors(path: Path, n: int, dim: int) -> np.ndarray:
    """Memory-map the re-ranking vectors at ``path`` read-only, checking their shape against the index."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (the index re-ranks from it; copy it with the index folder)")
    mm: np.ndarray = np.load(path, mmap_mode="r")
    if mm.shape != (n, dim):
        raise ValueError(f"{path}: shape {mm.shape}, the index needs ({n}, {dim}); the folder is inconsistent")
    return mm


def file_bytes(folder: str | os.PathLike[str]) -> dict[str, int]:
    """Size in bytes of each file of an index folder (what a saved index costs on disk)."""
    return {p.name: p.stat().st_size for p in sorted(Path(folder).iterdir()) if p.is_file()}
