"""Child process of ``bench_scale.py``: filter/dedup/re-split a Parquet corpus under a memory limit.

The limit is enforced without cgroups by a watchdog thread that reads this process's resident set size from
``/proc/self/statm`` every 50 ms and kills the process (exit 137) the moment it exceeds the limit; the reported
peak is the kernel's own high-water mark (``ru_maxrss``), so a spike between two samples still shows in the peak.
``--rlimit-as`` instead caps the address space (``RLIMIT_AS``): stricter, but it counts address space that
polars' allocator reserves and never touches, and a 5 GB run fails under it with ENOMEM although its resident
memory stays near 0.4 GiB; that is why RSS is the limit enforced by default.

Run: ``python benchmarks/bench_scale_limited.py CORPUS.parquet OUT_DIR --limit-gib 4``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time


def _watchdog(limit: int) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    while True:
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * page
        if rss > limit:
            print(f"memory limit exceeded: RSS {rss / 1024**3:.2f} GiB > {limit / 1024**3:.2f} GiB", file=sys.stderr)
            os._exit(137)
        time.sleep(0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--limit-gib", type=float, default=4.0)
    ap.add_argument("--rlimit-as", action="store_true", help="cap the address space instead of the RSS")
    args = ap.parse_args()
    limit = int(args.limit_gib * 1024**3)
    if args.rlimit_as:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    else:
        threading.Thread(target=_watchdog, args=(limit,), daemon=True).start()
    from mmdial_data.scale import corpus_stats, scale_build

    t0 = time.perf_counter()
    stats = corpus_stats(args.corpus)["total"]
    t1 = time.perf_counter()
    result = scale_build(
        args.corpus,
        args.out,
        dedup="exact",
        splits={"train": 0.8, "validation": 0.1, "test": 0.1},
        seed=0,
        shard_size=100_000,
    )
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "limit_gib": args.limit_gib,
                "limit_kind": "RLIMIT_AS" if args.rlimit_as else "RSS watchdog",
                "stats_seconds": t1 - t0,
                "build_seconds": t2 - t1,
                "stats": stats,
                "read": result.read,
                "filtered": result.filtered,
                "duplicates": result.duplicates,
                "per_split": result.per_split,
                "shards": len(result.shards),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
