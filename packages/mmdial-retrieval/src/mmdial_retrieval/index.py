"""faiss inner-product indexes over normalized embeddings, with ids and captions attached.

:func:`choose_index_params` picks the index from the pool size: exact (``IndexFlatIP``) below
``exact_threshold`` vectors, HNSW (``IndexHNSWFlat``) above, IVF-PQ (``IndexIVFPQ``) above
``ivfpq_threshold`` where HNSW's full-precision vectors no longer fit comfortably (the rule and its reasons:
:mod:`mmdial_retrieval.index_params`). IVF-PQ keeps ~40 bytes per vector in RAM and re-ranks a shortlist
exactly from a memory-mapped vectors file (:mod:`mmdial_retrieval.compressed`). The chosen parameters are
recorded in :class:`IndexParams` and saved with the index (``index.faiss`` + ``index.json``: ids, captions,
parameters, encoder id, provenance; plus ``vectors.npy`` for a re-ranking IVF-PQ), so an index built on one
machine loads on another.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> vecs = rng.normal(size=(100, 8)).astype("float32")
    >>> vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    >>> index = VectorIndex.build(vecs, ids=[f"img{i}" for i in range(100)])
    >>> index.params.kind, len(index)
    ('flat', 100)
    >>> index.search(vecs[:2], k=1).ids
    [['img0'], ['img1']]
    >>> choose_index_params(1_000_000, 512).kind
    'hnsw'
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval import compressed
from mmdial_retrieval._extras import require
from mmdial_retrieval.index_params import (
    EXACT_THRESHOLD,
    IVFPQ_THRESHOLD,
    IndexParams,
    choose_index_params,
    ivfpq_bytes_per_vector,
)

if TYPE_CHECKING:
    from mmdial_retrieval.embed import EmbedResult

__all__ = [
    "EXACT_THRESHOLD",
    "INDEX_FILE",
    "IVFPQ_THRESHOLD",
    "META_FILE",
    "IndexParams",
    "SearchResults",
    "VectorIndex",
    "choose_index_params",
    "ivfpq_bytes_per_vector",
]

INDEX_FILE = "index.faiss"
META_FILE = "index.json"
#: ``index.json`` format: 2 added the IVF-PQ fields (``pq_nbits``, ``opq``, ``rerank``, ``vectors_dtype``) and
#: ``vectors_file``; version-1 files load unchanged.
META_VERSION = 2


@dataclass
class SearchResults:
    """Top-k hits per query: ``ids[q][r]``, ``scores[q, r]`` (inner products), ``captions[q][r]``, ``rows[q, r]``."""

    ids: list[list[str]]
    scores: np.ndarray
    captions: list[list[str | None]]
    rows: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)


class VectorIndex:
    """A faiss inner-product index whose rows carry string ids (and optional captions).

    Build with :meth:`build`, query with :meth:`search`, persist with :meth:`save` / :meth:`load`,
    combine shards with :meth:`merge`.
    """

    def __init__(
        self,
        faiss_index: Any,
        ids: Sequence[str],
        params: IndexParams,
        *,
        captions: Sequence[str | None] | None = None,
        encoder_id: str | None = None,
        provenance: dict[str, Any] | None = None,
        stored_vectors: np.ndarray | None = None,
    ):
        if faiss_index.ntotal != len(ids):
            raise ValueError(f"index has {faiss_index.ntotal} vectors but {len(ids)} ids")
        if captions is not None and len(captions) != len(ids):
            raise ValueError(f"{len(captions)} captions for {len(ids)} ids")
        self.faiss_index = faiss_index
        self.ids = list(ids)
        self.captions: list[str | None] = list(captions) if captions is not None else [None] * len(self.ids)
        self.params = params
        self.encoder_id = encoder_id
        self.provenance = provenance or {}
        #: Full-precision vectors an IVF-PQ re-ranks from: the build's array until saved, then a memory map.
        self.stored_vectors = stored_vectors
        if params.kind == "ivfpq" and params.rerank and stored_vectors is None:
            raise ValueError("a re-ranking IVF-PQ index needs its full-precision vectors; pass stored_vectors")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (
            f"VectorIndex(kind={self.params.kind!r}, n={len(self)}, dim={self.params.dim}, "
            f"encoder_id={self.encoder_id!r})"
        )

    # ---- building ---------------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: Sequence[str],
        *,
        captions: Sequence[str | None] | None = None,
        params: IndexParams | str = "auto",
        encoder_id: str | None = None,
        provenance: dict[str, Any] | None = None,
        progress: bool = False,
        timings: dict[str, float] | None = None,
    ) -> VectorIndex:
        """Build an index of ``vectors`` (rows, float32, normalized for cosine) with one id per row.

        Args:
            vectors: ``(n, dim)`` array.
            ids: Row ids (unique).
            captions: Optional caption per row, returned with hits.
            params: :class:`IndexParams`, or a kind (``"auto"``, ``"flat"``, ``"hnsw"``, ``"ivfpq"``).
            encoder_id: The encoder that made the vectors (recorded; checked by :meth:`merge`).
            provenance: Extra record saved with the index.
            progress: Show a progress bar while adding.
            timings: Optional dict that receives ``train_seconds`` and ``add_seconds`` (IVF-PQ).

        A re-ranking IVF-PQ (``params.rerank``) keeps a reference to ``vectors`` (as float32, or a float16 copy)
        until :meth:`save`, which writes them to ``vectors.npy`` and maps that file instead.
        """
        faiss = require("faiss", "faiss")
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"vectors must be 2-d, got shape {x.shape}")
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be unique")
        if isinstance(params, str):
            params = choose_index_params(len(x), x.shape[1], kind=params)
        if params.dim != x.shape[1]:
            raise ValueError(f"params are for dim {params.dim}, vectors have dim {x.shape[1]}")
        stored = None
        if params.kind == "ivfpq":
            index = compressed.build_ivfpq(
                faiss, x, params, add=lambda ix, v: _add_in_chunks(ix, v, progress), timings=timings
            )
            if params.rerank:
                stored = x if params.vectors_dtype == "float32" else x.astype(params.vectors_dtype)
        else:
            index = _new_faiss_index(faiss, params)
            _add_in_chunks(index, x, progress)
        return cls(
            index, ids, params, captions=captions, encoder_id=encoder_id, provenance=provenance, stored_vectors=stored
        )

    @classmethod
    def from_embeddings(
        cls,
        embeddings: EmbedResult,
        *,
        captions: Sequence[str | None] | None = None,
        params: IndexParams | str = "auto",
        provenance: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> VectorIndex:
        """:meth:`build` from an :func:`~mmdial_retrieval.embed.embed_pool` result, recording its encoder id.

        Example:
            >>> import numpy as np
            >>> from mmdial_retrieval.embed import EmbedResult
            >>> result = EmbedResult(["a", "b"], np.eye(2, 3, dtype=np.float32), "test:enc")
            >>> VectorIndex.from_embeddings(result)
            VectorIndex(kind='flat', n=2, dim=3, encoder_id='test:enc')
        """
        return cls.build(
            embeddings.vectors,
            embeddings.ids,
            captions=captions,
            params=params,
            encoder_id=embeddings.encoder_id,
            provenance=provenance,
            progress=progress,
        )

    # ---- searching --------------------------------------------------------------------------------------------
    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        *,
        batch_size: int = 4096,
        ef_search: int | None = None,
        nprobe: int | None = None,
        rerank: int | None = None,
    ) -> SearchResults:
        """Top-``k`` rows by inner product for each query row (``k`` is capped at the index size).

        ``ef_search`` (HNSW), ``nprobe`` and ``rerank`` (IVF-PQ; ``0`` turns re-ranking off; other kinds ignore
        them) override the index's defaults for this call. Re-ranked IVF-PQ scores are exact inner products
        with the stored vectors; without re-ranking they are PQ approximations.
        """
        x = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if x.shape[1] != self.params.dim:
            raise ValueError(f"queries have dim {x.shape[1]}, index has dim {self.params.dim}")
        k = min(k, len(self))
        self._set_search_params(ef_search, nprobe)
        factor = (self.params.rerank if rerank is None else rerank) if self.params.kind == "ivfpq" else 0
        stored = self.stored_vectors
        if factor and stored is None:
            raise ValueError("this index has no stored vectors to re-rank from; search with rerank=0")
        shortlist = min(len(self), k * factor) if factor else k
        scores = np.zeros((len(x), k), np.float32)
        rows = np.zeros((len(x), k), np.int64)
        for i in range(0, len(x), batch_size):
            if k:
                s, r = self.faiss_index.search(x[i : i + batch_size], shortlist)
                if factor and stored is not None:
                    r, s = compressed.rerank_shortlist(x[i : i + batch_size], r, stored, k)
                scores[i : i + batch_size], rows[i : i + batch_size] = s, r
        ids = [[self.ids[j] for j in row if j >= 0] for row in rows]
        captions = [[self.captions[j] for j in row if j >= 0] for row in rows]
        return SearchResults(ids, scores, captions, rows)

    def _set_search_params(self, ef_search: int | None, nprobe: int | None) -> None:
        if self.params.kind == "hnsw":
            self.faiss_index.hnsw.efSearch = ef_search or self.params.ef_search or 128
        elif self.params.kind == "ivfpq":
            faiss = require("faiss", "faiss")
            compressed.ivf_part(faiss, self.faiss_index).nprobe = nprobe or self.params.nprobe or 32

    def vectors(self) -> np.ndarray:
        """The stored vectors ``(n, dim)``: flat and HNSW hold them; a re-ranking IVF-PQ maps them from disk."""
        if self.params.kind == "ivfpq":
            if self.stored_vectors is None:
                raise TypeError("this IVF-PQ keeps compressed codes only; rebuild from the embedding cache instead")
            return self.stored_vectors
        out: np.ndarray = self.faiss_index.reconstruct_n(0, len(self))
        return out

    # ---- merging ----------------------------------------------------------------------------------------------
    @classmethod
    def merge(cls, shards: Sequence[VectorIndex], *, params: IndexParams | str = "auto") -> VectorIndex:
        """One index holding the rows of all ``shards`` (same dim and encoder); repeated ids are kept once.

        Raises:
            ValueError: Shards of different dims or encoders.
        """
        if not shards:
            raise ValueError("nothing to merge")
        dims = {s.params.dim for s in shards}
        encoders = {s.encoder_id for s in shards}
        if len(dims) > 1 or len(encoders) > 1:
            raise ValueError(
                f"cannot merge indexes of different dims {sorted(dims)} or encoders {sorted(map(str, encoders))}"
            )
        seen: set[str] = set()
        vecs, ids, caps = [], [], []
        for shard in shards:
            keep = [i for i, id_ in enumerate(shard.ids) if not (id_ in seen or seen.add(id_))]
            vecs.append(shard.vectors()[keep])
            ids.extend(shard.ids[i] for i in keep)
            caps.extend(shard.captions[i] for i in keep)
        merged = np.concatenate(vecs) if vecs else np.zeros((0, dims.pop()), np.float32)
        return cls.build(
            merged,
            ids,
            captions=caps,
            params=params,
            encoder_id=shards[0].encoder_id,
            provenance={"merged_from": [len(s) for s in shards]},
        )

    # ---- persistence ------------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``index.faiss``, ``index.json`` (and ``vectors.npy`` to re-rank from) into ``folder``, each atomically.

        A re-ranking IVF-PQ then reads its vectors from the saved file (memory-mapped). Returns the folder.
        """
        faiss = require("faiss", "faiss")
        from mmdial_retrieval.atomic import atomic_path, write_text_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / INDEX_FILE) as tmp:
            faiss.write_index(self.faiss_index, str(tmp))
        vectors_file = None
        if self.params.kind == "ivfpq" and self.stored_vectors is not None:
            vectors_file = compressed.VECTORS_FILE
            with atomic_path(folder / vectors_file) as tmp:
                compressed.write_vectors(tmp, self.stored_vectors, self.params.vectors_dtype)
            self.stored_vectors = compressed.open_vectors(folder / vectors_file, len(self), self.params.dim)
        meta = {
            "kind": "mmdial-retrieval/index",
            "version": META_VERSION,
            "params": asdict(self.params),
            "vectors_file": vectors_file,
            "encoder_id": self.encoder_id,
            "count": len(self),
            "ids": self.ids,
            "captions": self.captions,
            "provenance": self.provenance,
        }
        write_text_atomic(folder / META_FILE, json.dumps(meta, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], *, mmap: bool = False) -> VectorIndex:
        """Load an index written by :meth:`save` (``mmap=True`` maps the faiss file instead of reading it).

        A re-ranking IVF-PQ's ``vectors.npy`` is always memory-mapped, never read whole.
        """
        faiss = require("faiss", "faiss")
        folder = Path(folder)
        for name in (INDEX_FILE, META_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name}: not found (is {folder} an index folder?)")
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if meta.get("version", 1) > META_VERSION:
            raise ValueError(
                f"{folder / META_FILE}: index format {meta['version']} is newer than this mmdial-retrieval "
                f"reads ({META_VERSION}); upgrade mmdial-retrieval"
            )
        known = {f.name for f in fields(IndexParams)}
        unknown = sorted(set(meta["params"]) - known)
        if unknown:
            raise ValueError(f"{folder / META_FILE}: unknown index parameters {unknown}; upgrade mmdial-retrieval")
        params = IndexParams(**meta["params"])
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(folder / INDEX_FILE), flags)
        stored = None
        if meta.get("vectors_file"):
            stored = compressed.open_vectors(folder / meta["vectors_file"], index.ntotal, params.dim)
        return cls(
            index,
            meta["ids"],
            params,
            captions=meta["captions"],
            encoder_id=meta.get("encoder_id"),
            provenance=meta.get("provenance"),
            stored_vectors=stored,
        )


def _new_faiss_index(faiss: Any, params: IndexParams) -> Any:
    if params.kind == "flat":
        return faiss.IndexFlatIP(params.dim)
    if params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(params.dim, params.hnsw_m or 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction or 64
        index.hnsw.efSearch = params.ef_search or 128
        return index
    raise ValueError(f"no plain faiss index for kind {params.kind!r}")  # ivfpq is built by compressed.build_ivfpq


def _add_in_chunks(index: Any, x: np.ndarray, progress: bool, chunk: int = 100_000) -> None:
    steps = range(0, len(x), chunk)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="indexing", unit="chunk")
    for i in steps:
        index.add(x[i : i + chunk])
