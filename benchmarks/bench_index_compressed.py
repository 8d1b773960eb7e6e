"""Compressed IVF-PQ (+ exact re-ranking) vs exact search at 1M x 512, in one run (mmdial-retrieval's VectorIndex).

One command:  nice -n 5 python benchmarks/bench_index_compressed.py --json     (1,000,000 x 512: 16 min, peak RSS
              4.5 GiB, on 2 cores at load ~15)
Dry run:      python benchmarks/bench_index_compressed.py --n 50000 --queries 200 --json

What it does, all on the same seeded data:
1. exact top-k of every held-out query with faiss ``IndexFlatIP`` (the reference), timed;
2. ``VectorIndex.build(params=choose_index_params(n, dim, kind="ivfpq"))`` (train on the rule's seeded
   sample + add), timed; saved to a temporary folder (on-disk sizes per file), reloaded as a user would
   (``vectors.npy`` memory-mapped). RAM per vector is ``ivfpq_bytes_per_vector`` (codes + ids + tables), checked
   against the size of ``index.faiss``, which serialises exactly those arrays (the RSS delta of reading it is
   printed too, but the allocator reuses pages freed earlier in the run, so it can come out lower);
3. a sweep of ``nprobe`` x re-ranking factor (0 = PQ scores only): Recall@k against the exact top-k (mean of
   |top-k ∩ exact top-k| / k over the queries, with a bootstrap 95% interval over queries), queries/s and
   the speedup over exact; the rule's default row once more after evicting ``vectors.npy`` from the page cache
   (``posix_fadvise DONTNEED``: re-ranking then reads its rows from disk);
4. optionally (``--opq``) the same index behind an OPQ rotation, and (``--hnsw``) HNSW as in
   benchmarks/bench_index.py (its build alone took 23 min at 1M on 2 busy cores, so it is off by default).

Data (``make_vectors``): a seeded three-level mixture shaped like image embeddings, normalised to the sphere.
256 "topic" means are drawn with a power-law spectrum (standard deviation of coordinate i in a random basis
~ i**-0.5, so a few directions carry most of the spread, as in CLIP-like embeddings); ``n // 50`` centres scatter
around the topics (Zipf-sized clusters, exponent 0.5); each point = its cluster centre + a 48-dimensional
anisotropic offset (singular values decaying as j**-0.7, in one of 256 random local subspaces) + an isotropic
floor. Nearest neighbours thus sit across neighbouring clusters of the same topic, with a flat score tail (at
1M: mean top-1 score 0.83, median gap between the 10th and 11th exact score 0.004), unlike uniform points on
the sphere (no structure: every method fails, and no real embedding looks like that) or tight separated
clusters (any IVF is exact).
32-byte PQ codes alone reach Recall@10 0.70 here (at 1M), so ranking by codes is far from exact. The data is
easier than real embeddings in one respect: recall is flat from nprobe 8 (IVF lists follow its clusters),
so the benchmark says nothing about how much nprobe real neighbourhoods need.

``--json`` prints one JSON object as the last line (figures, ratios, os.cpu_count(), git commit);
``--out FILE`` also writes it to a file.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads stall on a shared, busy machine
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from jsonline import add_json_flag, commit, emit, rss_mib

GEN = {"topics": 256, "points_per_cluster": 50, "rank": 48, "spread": 0.8, "floor": 0.3, "alpha": 0.7,
       "beta": 0.5, "topic_spread": 0.7, "zipf": 0.5, "local_bases": 256}  # fmt: skip


def make_vectors(n: int, dim: int, seed: int, clusters: int, model_seed: int = 0, chunk: int = 65_536) -> np.ndarray:
    """``n`` unit vectors from the seeded mixture described in the module docstring (``model_seed`` fixes it)."""
    g = GEN
    mrng = np.random.default_rng(model_seed)
    spectrum = (np.arange(1, dim + 1) ** -g["beta"]).astype(np.float32)
    spectrum *= np.sqrt(dim / (spectrum**2).sum())
    basis = np.linalg.qr(mrng.standard_normal((dim, dim)))[0].astype(np.float32)
    topic = (mrng.standard_normal((g["topics"], dim), dtype=np.float32) * spectrum) @ basis.T / np.sqrt(dim)
    offsets = (mrng.standard_normal((clusters, dim), dtype=np.float32) * spectrum) @ basis.T / np.sqrt(dim)
    centres = topic[mrng.integers(0, g["topics"], clusters)] + g["topic_spread"] * offsets
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    local = mrng.standard_normal((g["local_bases"], g["rank"], dim), dtype=np.float32) / np.sqrt(dim)
    scales = (np.arange(1, g["rank"] + 1) ** -g["alpha"]).astype(np.float32)
    scales /= np.sqrt((scales**2).sum())
    weights = 1.0 / np.arange(1, clusters + 1) ** g["zipf"]
    weights /= weights.sum()
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        c = np.sort(rng.choice(clusters, size=m, p=weights))
        z = rng.standard_normal((m, g["rank"]), dtype=np.float32) * scales
        x = centres[c] + g["floor"] * rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        bounds = np.searchsorted(c, np.arange(clusters + 1))
        for k in np.flatnonzero(np.diff(bounds)):
            a, b = bounds[k], bounds[k + 1]
            x[a:b] += g["spread"] * (z[a:b] @ local[k % g["local_bases"]])
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[i : i + m] = x[rng.permutation(m)]
    return out


def recall_rows(got: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-query |top-k ∩ exact top-k| / k."""
    k = truth.shape[1]
    return np.array([len(set(a[a >= 0].tolist()) & set(b.tolist())) / k for a, b in zip(got, truth, strict=True)])


def bootstrap_ci(values: np.ndarray, seed: int, reps: int = 2000) -> tuple[float, float]:
    """95% percentile interval of the mean over queries (resampled with replacement)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(reps, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def evict(path: Path) -> None:
    """Drop ``path``'s pages from the page cache (so the next reads go to disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def sweep(index, queries, truth, k, exact_s, nprobes, reranks, seed, label):  # type: ignore[no-untyped-def]
    rows = []
    for nprobe in nprobes:
        for rr in reranks:
            index.search(queries[:10], k, nprobe=nprobe, rerank=rr)  # warm-up
            t = time.perf_counter()
            got = index.search(queries, k, nprobe=nprobe, rerank=rr).rows
            s = time.perf_counter() - t
            rec = recall_rows(got, truth)
            lo, hi = bootstrap_ci(rec, seed)
            row = {"nprobe": nprobe, "rerank": rr, "shortlist": rr * k if rr else k, "seconds": s,
                   "qps": len(queries) / s, "recall_at_k": float(rec.mean()), "recall_ci95": [lo, hi],
                   "speedup": exact_s / s}  # fmt: skip
            rows.append(row)
            print(
                f"{label} nprobe={nprobe:3d} rerank={rr:2d}: {s:6.2f}s = {row['qps']:7.1f} q/s  "
                f"R@{k} {row['recall_at_k']:.4f} [{lo:.4f}, {hi:.4f}]  speedup {row['speedup']:6.1f}x",
                flush=True,
            )
    return rows


def bench_ivfpq(base, ids, queries, truth, args, exact_s, params, label):  # type: ignore[no-untyped-def]
    import faiss

    from mmdial_retrieval.compressed import file_bytes
    from mmdial_retrieval.index import VectorIndex
    from mmdial_retrieval.index_params import ivfpq_bytes_per_vector

    timings: dict[str, float] = {}
    t = time.perf_counter()
    built = VectorIndex.build(base, ids, params=params, timings=timings)
    build_s = time.perf_counter() - t
    print(f"{label} build: train {timings['train_seconds']:.1f}s + add {timings['add_seconds']:.1f}s", flush=True)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = built.save(Path(tmp) / "idx")
        del built
        disk = file_bytes(folder)
        rss0 = rss_mib()
        raw = faiss.read_index(str(folder / "index.faiss"))
        faiss_mib = rss_mib() - rss0
        ivf = faiss.extract_index_ivf(raw)
        sizes = np.array([ivf.invlists.list_size(i) for i in range(ivf.nlist)])
        del raw, ivf
        index = VectorIndex.load(folder)
        analytic = ivfpq_bytes_per_vector(params, len(ids))
        print(
            f"{label} RAM: {analytic:.1f} B/vector (codes + ids + tables), faiss index read: +{faiss_mib:.0f} MiB RSS "
            f"= {faiss_mib * 2**20 / len(ids):.1f} B/vector; disk {disk}",
            flush=True,
        )
        rows = sweep(index, queries, truth, args.k, exact_s, args.nprobe, args.rerank, args.seed, label)
        evict(folder / "vectors.npy")
        cold = sweep(
            index, queries, truth, args.k, exact_s, [params.nprobe], [params.rerank], args.seed, label + " cold"
        )
        del index
    default = next(r for r in rows if r["nprobe"] == params.nprobe and r["rerank"] == params.rerank)
    from dataclasses import asdict

    return {
        "params": asdict(params),
        "train_seconds": timings["train_seconds"],
        "add_seconds": timings["add_seconds"],
        "build_seconds": build_s,
        "bytes_per_vector_ram": analytic,
        "faiss_read_rss_mib": faiss_mib,
        "faiss_read_rss_bytes_per_vector": faiss_mib * 2**20 / len(ids),
        "index_faiss_bytes_per_vector": disk["index.faiss"] / len(ids),
        "disk_bytes": disk,
        "disk_bytes_per_vector": sum(disk.values()) / len(ids),
        "list_size_min_max": [int(sizes.min()), int(sizes.max())],
        "rows": rows,
        "default": default,
        "default_cold_cache": cold[0],
        "meets_goal": default["recall_at_k"] >= 0.90 and analytic <= 64,
    }


def bench_hnsw(base, ids, queries, truth, args, exact_s):  # type: ignore[no-untyped-def]
    from mmdial_retrieval.index import VectorIndex, choose_index_params

    rss0 = rss_mib()
    t = time.perf_counter()
    hnsw = VectorIndex.build(base, ids, params=choose_index_params(len(ids), base.shape[1], kind="hnsw"))
    build_s = time.perf_counter() - t
    mib = rss_mib() - rss0
    print(f"HNSW build {build_s:.1f}s, +{mib:.0f} MiB RSS = {mib * 2**20 / len(ids):.0f} B/vector", flush=True)
    rows = []
    for ef in (64, 128, 256, 512):
        hnsw.search(queries[:10], args.k, ef_search=ef)
        t = time.perf_counter()
        got = hnsw.search(queries, args.k, ef_search=ef).rows
        s = time.perf_counter() - t
        rec = recall_rows(got, truth)
        lo, hi = bootstrap_ci(rec, args.seed)
        rows.append({"ef_search": ef, "seconds": s, "qps": len(queries) / s, "recall_at_k": float(rec.mean()),
                     "recall_ci95": [lo, hi], "speedup": exact_s / s})  # fmt: skip
        print(f"HNSW efSearch={ef}: {len(queries) / s:.1f} q/s R@{args.k} {rec.mean():.4f} [{lo:.4f}, {hi:.4f}]")
    return {"build_seconds": build_s, "rss_mib": mib, "bytes_per_vector_ram": mib * 2**20 / len(ids), "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--rerank", type=int, nargs="+", default=[0, 2, 5, 10, 20], help="shortlist factors (0: none)")
    ap.add_argument("--threads", type=int, default=2, help="faiss OpenMP threads")
    ap.add_argument("--opq", action="store_true", help="also measure the same index behind an OPQ rotation")
    ap.add_argument("--hnsw", action="store_true", help="also build and measure HNSW (slow: ~23 min at 1M)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tmp", default=None, help="folder for the saved index (default: the system temp folder)")
    add_json_flag(ap)
    ap.add_argument("--out", default=None, help="also write the JSON object to this file")
    args = ap.parse_args()

    import dataclasses

    import faiss

    from mmdial_retrieval.index import choose_index_params

    t_start = time.perf_counter()
    faiss.omp_set_num_threads(args.threads)
    print(
        f"# bench_index_compressed: n={args.n:,} dim={args.dim} queries={args.queries} k={args.k} "
        f"faiss {faiss.__version__} threads={faiss.omp_get_max_threads()} cpus={os.cpu_count()} ({platform.machine()})",
        flush=True,
    )
    clusters = max(1, args.n // GEN["points_per_cluster"])
    t = time.perf_counter()
    base = make_vectors(args.n, args.dim, args.seed + 1, clusters)
    queries = make_vectors(args.queries, args.dim, args.seed + 2, clusters)
    data_s = time.perf_counter() - t
    print(f"data: {data_s:.1f}s, {base.nbytes / 2**20:.0f} MiB", flush=True)
    ids = [str(i) for i in range(args.n)]

    flat = faiss.IndexFlatIP(args.dim)
    flat.add(base)
    t = time.perf_counter()
    scores, truth = flat.search(queries, args.k + 1)
    exact_s = time.perf_counter() - t
    del flat
    gap = float(np.median(scores[:, args.k - 1] - scores[:, args.k]))
    truth = truth[:, : args.k]
    print(f"exact (IndexFlatIP): {exact_s:.1f}s = {args.queries / exact_s:.1f} q/s; median score gap "
          f"k-th/(k+1)-th {gap:.4f}, mean top-1 {scores[:, 0].mean():.3f}", flush=True)  # fmt: skip

    params = choose_index_params(args.n, args.dim, kind="ivfpq")
    print(f"rule: {params}", flush=True)
    result = {
        "n": args.n, "dim": args.dim, "queries": args.queries, "k": args.k, "threads": faiss.omp_get_max_threads(),
        "cpu_count": os.cpu_count(), "git_commit": commit(), "faiss": faiss.__version__,
        "data": {"generator": "make_vectors", "clusters": clusters, **GEN, "seconds": data_s,
                 "median_gap_k_k1": gap, "mean_top1": float(scores[:, 0].mean())},
        "exact_seconds": exact_s, "exact_qps": args.queries / exact_s,
    }  # fmt: skip
    result["ivfpq"] = bench_ivfpq(base, ids, queries, truth, args, exact_s, params, "IVF-PQ")
    if args.opq:
        opq = dataclasses.replace(params, opq=True)
        result["ivfpq_opq"] = bench_ivfpq(base, ids, queries, truth, args, exact_s, opq, "OPQ+IVF-PQ")
    if args.hnsw:
        result["hnsw"] = bench_hnsw(base, ids, queries, truth, args, exact_s)
    d = result["ivfpq"]["default"]
    result["ratios"] = {
        "default_speedup_vs_exact": d["speedup"],
        "ram_bytes_per_vector_vs_float32": result["ivfpq"]["bytes_per_vector_ram"] / (4 * args.dim),
    }
    result["peak_rss_mib"] = rss_mib(peak=True)
    result["total_seconds"] = time.perf_counter() - t_start
    print(
        f"goal R@10 >= 0.90 at <= 64 B/vector: {'MET' if result['ivfpq']['meets_goal'] else 'NOT met'} "
        f"(R@{args.k} {d['recall_at_k']:.4f} at {result['ivfpq']['bytes_per_vector_ram']:.1f} B/vector); "
        f"peak RSS {result['peak_rss_mib']:.0f} MiB, total {result['total_seconds']:.0f}s",
        flush=True,
    )
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    emit("index-compressed", result, enabled=args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
