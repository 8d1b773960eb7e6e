"""How a :class:`~mmdial_retrieval.index.VectorIndex` is built: :class:`IndexParams` and the size rule.

:func:`choose_index_params` maps a collection size ``n`` and vector size ``dim`` to an index kind and its
parameters; every field ends up in the index's ``index.json``.

Example:
    >>> p = choose_index_params(1_000_000, 512, kind="ivfpq")
    >>> p.nlist, p.pq_m, p.pq_nbits, p.nprobe, p.rerank, p.train_size
    (1024, 32, 8, 32, 10, 65536)
    >>> round(ivfpq_bytes_per_vector(p, 1_000_000), 1)  # 32 code bytes + 8 id bytes + amortised tables
    42.6
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Below this many vectors the index is exact.
EXACT_THRESHOLD = 100_000
#: From this many vectors on the index is IVF-PQ (compressed); HNSW in between.
IVFPQ_THRESHOLD = 20_000_000
#: In-memory budget of one IVF-PQ vector (bytes): PQ code + its int64 id in the inverted list.
IVFPQ_BYTES_BUDGET = 64
#: Bytes of the int64 id faiss keeps beside every code in an inverted list.
IVF_ID_BYTES = 8
#: Bytes kept free in the budget for the amortised coarse quantiser and PQ tables.
IVFPQ_OVERHEAD_ALLOWANCE = 8
#: faiss's k-means warns below this many training points per centroid.
MIN_POINTS_PER_CENTROID = 39
KINDS = ("flat", "hnsw", "ivfpq")
VECTOR_DTYPES = ("float32", "float16")


@dataclass
class IndexParams:
    """How an index is built and searched (all recorded in ``index.json``).

    Attributes:
        kind: ``"flat"`` (exact), ``"hnsw"`` or ``"ivfpq"``.
        dim: Vector size.
        hnsw_m: HNSW neighbours per node.
        ef_construction: HNSW build beam width.
        ef_search: HNSW search beam width (default; can be overridden per search).
        nlist: IVF lists (coarse k-means centroids).
        pq_m: PQ sub-quantizers (``dim`` must be divisible by it); a code is ``pq_m * pq_nbits / 8`` bytes.
        nprobe: IVF lists visited per query (default; can be overridden per search).
        train_size: Vectors (a seeded sample) used to train the coarse quantiser, OPQ and PQ.
        seed: Seed of the training-sample selection.
        pq_nbits: Bits per sub-quantizer code (``None``: 8).
        opq: Learn an OPQ rotation before IVF-PQ (``IndexPreTransform``).
        rerank: Shortlist factor: the IVF-PQ search returns ``rerank * k`` candidates, which are re-scored by
            exact inner product against the full-precision vectors kept on disk (``vectors.npy``, memory-mapped;
            only the shortlist rows are read). ``None`` or ``0``: no re-ranking, no vectors file, scores are the
            PQ approximations.
        vectors_dtype: Storage type of the re-ranking vectors file, ``"float32"`` (scores exact to float32
            rounding) or ``"float16"`` (half the disk; scores within ~1e-3).
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
    pq_nbits: int | None = None
    opq: bool = False
    rerank: int | None = None
    vectors_dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"index kind must be 'flat', 'hnsw' or 'ivfpq', got {self.kind!r}")
        if self.vectors_dtype not in VECTOR_DTYPES:
            raise ValueError(f"vectors_dtype must be 'float32' or 'float16', got {self.vectors_dtype!r}")
        if self.kind == "ivfpq" and self.pq_m and self.dim % self.pq_m:
            raise ValueError(f"pq_m={self.pq_m} does not divide dim={self.dim}; pick a divisor of {self.dim}")


def choose_index_params(
    n: int,
    dim: int,
    *,
    kind: str = "auto",
    exact_threshold: int = EXACT_THRESHOLD,
    ivfpq_threshold: int = IVFPQ_THRESHOLD,
) -> IndexParams:
    """Parameters for ``n`` vectors of size ``dim``; ``kind`` forces ``flat``/``hnsw``/``ivfpq``.

    ``auto``: exact below ``exact_threshold`` (100k), HNSW (M 32, efConstruction 64, efSearch 128) up to
    ``ivfpq_threshold`` (20M), IVF-PQ from there on. The IVF-PQ rule, for at most 64 bytes per vector in RAM:

    - ``nlist`` = the power of two nearest ``sqrt(n)``, at most ``n / 39`` (faiss's minimum of training points
      per centroid) and 65,536. A query costs about ``nlist * dim`` (coarse search) + ``nprobe * n / nlist * M``
      (code scan); with ``nprobe`` 32, ``M`` 32 and ``dim`` 512 that sum is smallest near ``nlist = 1.4 sqrt(n)``,
      and k-means training (cost ~ ``nlist**2``) stays minutes, not hours, on a few cores.
    - ``pq_m`` = the largest divisor of ``dim`` with at most 48 one-byte codes (64 bytes minus the 8-byte id
      minus 8 bytes kept for the amortised tables) and sub-vectors of at least 8 dimensions: 32 for 512-d
      (40 bytes per vector with the id), 48 for 768-d, 8 for 64-d. ``pq_nbits`` 8 (faiss's fast 8-bit tables)
      when the sample has 39 points per centroid, fewer bits for tiny collections.
    - ``nprobe`` 32 (at most ``nlist``) and ``rerank`` 10: a shortlist of ``10 k`` PQ candidates re-scored
      exactly from the memory-mapped full vectors. No code size within the budget ranks well alone (32-byte
      codes put about 0.6 of the true top 10 first on benchmarks/bench_index_compressed.py's data); a
      shortlist of 10 k holds nearly all of them, and re-ranking then puts them first. The benchmark's sweep of
      ``nprobe`` x ``rerank`` at 1M x 512 is the evidence (mmdial-retrieval README).
    - ``opq`` off: measured at 200k x 512 (``bench_index_compressed.py --n 200000 --opq``), an OPQ rotation gave
      re-ranked Recall@10 0.9942 [0.9920, 0.9961] against 0.9949 [0.9923, 0.9970] without, PQ-only 0.652 against
      0.709, for 874 s of training against 44 s and a ``dim x dim`` matrix in RAM; ``IndexParams(..., opq=True)``
      still turns it on.
    - ``train_size`` = ``64 * nlist`` vectors (at least 10,000 for the PQ's 256 centroids), a seeded sample.

    >>> choose_index_params(50_000_000, 512).nlist
    8192
    >>> choose_index_params(20_000, 64, kind="ivfpq").pq_m
    8
    """
    if kind == "auto":
        kind = "flat" if n < exact_threshold else ("hnsw" if n < ivfpq_threshold else "ivfpq")
    if kind == "flat":
        return IndexParams("flat", dim)
    if kind == "hnsw":
        return IndexParams("hnsw", dim, hnsw_m=32, ef_construction=64, ef_search=128)
    if kind != "ivfpq":
        raise ValueError(f"index kind must be 'auto', 'flat', 'hnsw' or 'ivfpq', got {kind!r}")
    n = max(int(n), 1)
    nlist = 2 ** round(math.log2(math.sqrt(n)))
    nlist = max(1, min(nlist, n // MIN_POINTS_PER_CENTROID, 65_536))
    train_size = min(n, max(64 * nlist, 10_000))
    code_budget = IVFPQ_BYTES_BUDGET - IVF_ID_BYTES - IVFPQ_OVERHEAD_ALLOWANCE
    divisors = [m for m in range(1, dim + 1) if dim % m == 0 and m <= code_budget and dim // m >= 8]
    pq_m = max(divisors) if divisors else 1
    nbits = max(1, min(8, int(math.log2(max(train_size // MIN_POINTS_PER_CENTROID, 2)))))
    return IndexParams(
        "ivfpq",
        dim,
        nlist=nlist,
        pq_m=pq_m,
        pq_nbits=nbits,
        nprobe=min(32, nlist),
        train_size=train_size,
        rerank=10,
    )


def ivfpq_bytes_per_vector(params: IndexParams, n: int) -> float:
    """RAM per vector of an IVF-PQ index of ``n`` vectors: code + id + amortised quantiser, PQ and OPQ tables.

    Excludes the string ids and captions a :class:`~mmdial_retrieval.index.VectorIndex` keeps in Python (the
    same for every kind) and the re-ranking vectors, which stay on disk.
    """
    if params.kind != "ivfpq":
        raise ValueError(f"bytes per vector are computed for 'ivfpq' indexes, not {params.kind!r}")
    m, nbits, dim = params.pq_m or 1, params.pq_nbits or 8, params.dim
    code = math.ceil(m * nbits / 8)
    tables = (params.nlist or 1) * dim * 4 + (2**nbits) * dim * 4 + (dim * dim * 4 if params.opq else 0)
    return code + IVF_ID_BYTES + tables / max(n, 1)
