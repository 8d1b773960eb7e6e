"""HNSW vs exact inner-product search at scale (mmdial-retrieval's VectorIndex).

One command:  OMP_NUM_THREADS=2 python benchmarks/bench_index.py   (1,000,000 x 512; ~25 min on 2 busy cores)
Quick check:  python benchmarks/bench_index.py --n 100000

Data: seeded clustered unit vectors (a Gaussian mixture, like real embeddings; ``--data uniform`` for
structureless random vectors, the hardest case). Queries come from the same distribution but are not in the
index. Reported side by side, same run: exact (IndexFlatIP) query time, HNSW build time and memory, and for
each efSearch the HNSW Recall@10 against the exact top 10 and the query speedup. Goal: Recall@10 >= 0.95 at
>= 20x speedup. Results go to stdout; ``--json`` prints one JSON object as the last line, ``--out FILE`` writes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from jsonline import add_json_flag, emit, rss_mib


def make_data(
    n: int, dim: int, seed: int, kind: str, centers: np.ndarray | None = None, chunk: int = 100_000
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), np.float32)
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        x = rng.standard_normal((m, dim), dtype=np.float32)
        if kind == "clustered" and centers is not None:
            # noise of norm ~0.6 around centers of norm ~1
            x = centers[rng.integers(0, len(centers), m)] + 0.6 * x / np.sqrt(dim)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[i : i + m] = x
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=32, help="HNSW M (default: what VectorIndex 'auto' uses)")
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--ef-search", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    ap.add_argument("--threads", type=int, default=2, help="faiss OpenMP threads (exact and HNSW alike)")
    ap.add_argument("--data", choices=["clustered", "uniform"], default="clustered")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="also write the results here (JSON)")
    add_json_flag(ap)
    ap.add_argument("--progress", action="store_true", help="progress bar while building HNSW")
    args = ap.parse_args()

    import faiss

    from mmdial_retrieval.index import IndexParams, VectorIndex

    faiss.omp_set_num_threads(args.threads)
    threads = faiss.omp_get_max_threads()
    print(
        f"# bench_index: n={args.n:,} dim={args.dim} queries={args.queries} k={args.k} data={args.data} "
        f"faiss {faiss.__version__} threads={threads} cpus={os.cpu_count()} ({platform.machine()})"
    )
    rng = np.random.default_rng(args.seed)
    centers = rng.standard_normal((1000, args.dim), dtype=np.float32) / np.sqrt(args.dim)  # norm ~1
    t = time.perf_counter()
    base = make_data(args.n, args.dim, args.seed + 1, args.data, centers)
    queries = make_data(args.queries, args.dim, args.seed + 2, args.data, centers)
    print(f"data: {time.perf_counter() - t:.1f}s, {base.nbytes / 2**20:.0f} MiB")
    ids = [str(i) for i in range(args.n)]

    exact = VectorIndex.build(base, ids, params="flat")
    t = time.perf_counter()
    truth = exact.search(queries, args.k).rows
    exact_s = time.perf_counter() - t
    exact_qps = args.queries / exact_s
    print(f"exact (IndexFlatIP): {exact_s:.2f}s for {args.queries} queries = {exact_qps:.1f} q/s")
    del exact

    rss0 = rss_mib()
    params = IndexParams("hnsw", args.dim, hnsw_m=args.m, ef_construction=args.ef_construction, ef_search=128)
    t = time.perf_counter()
    hnsw = VectorIndex.build(base, ids, params=params, progress=args.progress)
    build_s = time.perf_counter() - t
    graph_mib = rss_mib() - rss0
    print(
        f"HNSW build (M={args.m}, efConstruction={args.ef_construction}): {build_s:.1f}s, "
        f"+{graph_mib:.0f} MiB RSS (vectors {base.nbytes / 2**20:.0f} MiB + graph)"
    )
    rows = []
    for ef in args.ef_search:
        hnsw.search(queries[:10], args.k, ef_search=ef)  # warm-up
        t = time.perf_counter()
        got = hnsw.search(queries, args.k, ef_search=ef).rows
        s = time.perf_counter() - t
        recall = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(got, truth, strict=True)]))
        speedup = exact_s / s
        ok = recall >= 0.95 and speedup >= 20
        rows.append(
            {
                "ef_search": ef,
                "seconds": s,
                "qps": args.queries / s,
                "recall_at_10": recall,
                "speedup": speedup,
                "meets_goal": ok,
            }
        )
        print(
            f"HNSW efSearch={ef:4d}: {s:.3f}s = {args.queries / s:8.1f} q/s  Recall@{args.k} {recall:.4f}  "
            f"speedup {speedup:6.1f}x  {'GOAL MET' if ok else ''}"
        )
    result = {
        "n": args.n,
        "dim": args.dim,
        "queries": args.queries,
        "data": args.data,
        "threads": threads,
        "exact_seconds": exact_s,
        "exact_qps": exact_qps,
        "hnsw_m": args.m,
        "ef_construction": args.ef_construction,
        "build_seconds": build_s,
        "hnsw_rss_mib": graph_mib,
        "rows": rows,
    }
    record = emit("index-hnsw", result, enabled=args.json)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(record, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
