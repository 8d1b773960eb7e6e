"""faiss inner-product indexes over normalized embeddings, with ids and captions attached.

:func:`choose_index_params` picks the index from the pool size: exact (``IndexFlatIP``) below
``exact_threshold`` vectors, HNSW (``IndexHNSWFlat``) above, IVF-PQ (``IndexIVFPQ``) above
``ivfpq_threshold`` where HNSW's full-precision vectors no longer fit comfortably. The chosen
parameters are recorded in :class:`IndexParams` and saved with the index (``index.faiss`` + ``index.json``:
ids, captions, parameters, encoder id, provenance), so an index built on one machine loads on another.

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval._extras import require

if TYPE_CHECKING:
    from mmdial_retrieval.embed import EmbedResult

#: Below this many vectors the index is exact.
EXACT_THRESHOLD = 100_000
#: From this many vectors on the index is IVF-PQ (compressed); HNSW in between.
IVFPQ_THRESHOLD = 20_000_000
INDEX_FILE = "index.faiss"
META_FILE = "index.json"


@dataclass
class IndexParams:
    """How an index is built and searched (all recorded in ``index.json``).

    Attributes:
        kind: ``"flat"`` (exact), ``"hnsw"`` or ``"ivfpq"``.
        dim: Vector size.
        hnsw_m: HNSW neighbours per node.
        ef_construction: HNSW build beam width.
        ef_search: HNSW search beam width (default; can be overridden per search).
        nlist: IVF lists.
        pq_m: PQ sub-quantizers (``dim`` must be divisible by it).
        nprobe: IVF lists visited per query.
        train_size: Vectors used to train IVF-PQ.
        seed: Seed of training-sample selection.
    """

    kind: str
    dim: int
    hnsw_m: int | None = None
    ef_construction: int | None = None
    ef_search: int | None = None
    nlist: int | None = None
    pq_m: int | None = None
    nprobe: int | None = None
    train_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("flat", "hnsw", "ivfpq"):
            raise ValueError(f"index kind must be 'flat', 'hnsw' or 'ivfpq', got {self.kind!r}")


def choose_index_params(
    n: int,
    dim: int,
    *,
    kind: str = "auto",
    exact_threshold: int = EXACT_THRESHOLD,
    ivfpq_threshold: int = IVFPQ_THRESHOLD,
) -> IndexParams:
    """Parameters for ``n`` vectors of size ``dim``; ``kind`` forces ``flat``/``hnsw``/``ivfpq``.

    >>> choose_index_params(50_000_000, 512).nlist
    28284
    """
    if kind == "auto":
        kind = "flat" if n < exact_threshold else ("hnsw" if n < ivfpq_threshold else "ivfpq")
    if kind == "flat":
        return IndexParams("flat", dim)
    if kind == "hnsw":
        return IndexParams("hnsw", dim, hnsw_m=32, ef_construction=64, ef_search=128)
    nlist = max(1, int(4 * np.sqrt(max(n, 1))))
    pq_m = next(m for m in (64, 32, 16, 8, 4, 2, 1) if dim % m == 0 and m <= dim)
    return IndexParams("ivfpq", dim, nlist=nlist, pq_m=pq_m, nprobe=32, train_size=min(n, max(64 * nlist, 100_000)))


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
        index = _new_faiss_index(faiss, params)
        if params.kind == "ivfpq":
            rng = np.random.default_rng(params.seed)
            take = min(len(x), params.train_size or len(x))
            sample = x[np.sort(rng.choice(len(x), size=take, replace=False))]
            index.train(sample)
        _add_in_chunks(index, x, progress)
        return cls(index, ids, params, captions=captions, encoder_id=encoder_id, provenance=provenance)

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
    ) -> SearchResults:
        """Top-``k`` rows by inner product for each query row (``k`` is capped at the index size)."""
        x = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if x.shape[1] != self.params.dim:
            raise ValueError(f"queries have dim {x.shape[1]}, index has dim {self.params.dim}")
        k = min(k, len(self))
        self._set_search_params(ef_search, nprobe)
        scores = np.zeros((len(x), k), np.float32)
        rows = np.zeros((len(x), k), np.int64)
        for i in range(0, len(x), batch_size):
            if k:
                s, r = self.faiss_index.search(x[i : i + batch_size], k)
                scores[i : i + batch_size], rows[i : i + batch_size] = s, r
        ids = [[self.ids[j] for j in row if j >= 0] for row in rows]
        captions = [[self.captions[j] for j in row if j >= 0] for row in rows]
        return SearchResults(ids, scores, captions, rows)

    def _set_search_params(self, ef_search: int | None, nprobe: int | None) -> None:
        if self.params.kind == "hnsw":
            self.faiss_index.hnsw.efSearch = ef_search or self.params.ef_search or 128
        elif self.params.kind == "ivfpq":
            self.faiss_index.nprobe = nprobe or self.params.nprobe or 32

    def vectors(self) -> np.ndarray:
        """The stored vectors ``(n, dim)`` (exact for flat and HNSW; IVF-PQ stores only codes)."""
        if self.params.kind == "ivfpq":
            raise TypeError("IVF-PQ keeps compressed codes only; rebuild from the embedding cache instead")
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
        """Write ``index.faiss`` and ``index.json`` into ``folder`` (each atomically); returns the folder."""
        faiss = require("faiss", "faiss")
        from mmdial_retrieval.atomic import atomic_path, write_text_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / INDEX_FILE) as tmp:
            faiss.write_index(self.faiss_index, str(tmp))
        meta = {
            "kind": "mmdial-retrieval/index",
            "version": 1,
            "params": asdict(self.params),
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
        """Load an index written by :meth:`save` (``mmap=True`` maps the faiss file instead of reading it)."""
        faiss = require("faiss", "faiss")
        folder = Path(folder)
        for name in (INDEX_FILE, META_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name}: not found (is {folder} an index folder?)")
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(folder / INDEX_FILE), flags)
        return cls(
            index,
            meta["ids"],
            IndexParams(**meta["params"]),
            captions=meta["captions"],
            encoder_id=meta.get("encoder_id"),
            provenance=meta.get("provenance"),
        )


def _new_faiss_index(faiss: Any, params: IndexParams) -> Any:
    if params.kind == "flat":
        return faiss.IndexFlatIP(params.dim)
    if params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(params.dim, params.hnsw_m or 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction or 64
        index.hnsw.efSearch = params.ef_search or 128
        return index
    quantizer = faiss.IndexFlatIP(params.dim)
    return faiss.IndexIVFPQ(quantizer, params.dim, params.nlist or 1, params.pq_m or 8, 8, faiss.METRIC_INNER_PRODUCT)


def _add_in_chunks(index: Any, x: np.ndarray, progress: bool, chunk: int = 100_000) -> None:
    steps = range(0, len(x), chunk)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="indexing", unit="chunk")
    for i in steps:
        index.add(x[i : i + chunk])
