"""Scale-out benchmark: the same jobs on the ``local`` engine and on ``ray`` (2 workers), plus a larger-than-memory
corpus filtered, deduplicated and re-split by polars streaming under a 4 GiB address-space limit.

Parts (one command each, one run):

- ``engines``: embed a pool of ``--images`` generated PNGs with the offline encoder (EfficientNet-Lite0 ConSE,
  no downloads), then score ``--utterances`` utterances against it (text embedding + exact top-5), on ``local``
  and on a local Ray cluster with 2 actors; checks both give the same ids and scores (1e-6) and reports
  throughput, per-item cost and Ray's overhead (cluster start, actor start-up, scheduling).
- ``corpus``: generate a ``--gb`` GB Parquet corpus (``bench_scale_corpus.py``) and run
  ``mmdial_data.scale.scale_build`` on it in a child process limited by ``RLIMIT_AS`` (``bench_scale_limited.py``),
  reporting time and peak RSS.

Run: ``python benchmarks/bench_scale.py engines --images 20000 --utterances 50000`` and
``python benchmarks/bench_scale.py corpus --gb 5.2``. Results go to ``reports/bench_scale_<part>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from jsonline import add_json_flag, emit

ROOT = Path(__file__).resolve().parents[1]
RAY_FILTER_NOTE = "Ray cluster start is measured separately from the job"


def log_phase(name: str, seconds: float, items: int | None = None) -> None:
    """One line per finished phase on stderr, so a run stopped early still reports what it measured."""
    rate = f", {seconds / items:.5f} s/item, {items / seconds:.1f} items/s" if items else ""
    print(f"[bench_scale] {name}: {seconds:.1f} s{rate}", file=sys.stderr, flush=True)


def make_images(folder: Path, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` small random-texture PNGs (64x48): decoding cost is realistic, content irrelevant to throughput."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    items = []
    for i in range(n):
        path = folder / f"{i:06d}.png"
        if not path.exists():
            arr = np.roll(base, i % 64, axis=1) ^ np.uint8(i % 251)
            Image.fromarray(arr).save(path)
        items.append((f"img{i:06d}", str(path)))
    return items


def make_utterances(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` short utterances from a small vocabulary of everyday words."""
    rng = np.random.default_rng(seed)
    vocab = [
        "i",
        "saw",
        "a",
        "dog",
        "cat",
        "car",
        "tree",
        "ball",
        "apple",
        "sky",
        "park",
        "at",
        "the",
        "in",
        "on",
        "my",
        "with",
        "red",
        "blue",
        "green",
        "small",
        "big",
        "yesterday",
        "we",
        "ate",
        "pizza",
        "played",
        "football",
        "beach",
        "sunset",
        "mountain",
        "coffee",
        "book",
    ]
    return [(f"u{i:06d}", " ".join(rng.choice(vocab, size=int(rng.integers(4, 14))))) for i in range(n)]


def run_engines(args: argparse.Namespace) -> dict[str, object]:
    from mmdial_retrieval.engines import embed_images, score_texts

    work = Path(args.work)
    images = make_images(work / "images", args.images)
    utterances = make_utterances(args.utterances)
    out: dict[str, object] = {
        "images": len(images),
        "utterances": len(utterances),
        "encoder": "offline",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    # local: one process, torch intra-op threads = all cores
    t = time.perf_counter()
    local_emb = embed_images(images, "offline", out_dir=work / "local" / "emb", batch_size=64, shard_size=1024)
    t_embed_local = time.perf_counter() - t
    log_phase(f"local embed {len(images)} images", t_embed_local, len(images))
    t = time.perf_counter()
    local_scores = score_texts(
        utterances,
        "offline",
        work / "local" / "emb",
        out_dir=work / "local" / "scores",
        k=5,
        batch_size=256,
        shard_size=4096,
    ).table()
    t_score_local = time.perf_counter() - t
    log_phase(f"local score {len(utterances)} utterances", t_score_local, len(utterances))
    # ray: a local cluster (measured), 2 actors with 1 CPU each
    import ray

    from mmdial_data.engines.ray_engine import RayEngine

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    t_ray_init = time.perf_counter() - t
    log_phase("ray cluster start", t_ray_init)
    engine = RayEngine(workers=2)
    t = time.perf_counter()
    ray_emb = embed_images(
        images, "offline", out_dir=work / "ray" / "emb", engine=engine, batch_size=64, shard_size=1024
    )
    t_embed_ray = time.perf_counter() - t
    log_phase(f"ray (2 actors) embed {len(images)} images", t_embed_ray, len(images))
    t = time.perf_counter()
    ray_scores = score_texts(
        utterances,
        "offline",
        work / "ray" / "emb",
        out_dir=work / "ray" / "scores",
        k=5,
        batch_size=256,
        shard_size=4096,
        engine=engine,
    ).table()
    t_score_ray = time.perf_counter() - t
    log_phase(f"ray (2 actors) score {len(utterances)} utterances", t_score_ray, len(utterances))
    # a tiny job: what Ray costs per run beyond the work (actor start-up with model load, scheduling)
    t = time.perf_counter()
    embed_images(images[:64], "offline", out_dir=work / "ray" / "tiny", engine=engine, batch_size=64, shard_size=64)
    t_ray_tiny = time.perf_counter() - t
    t = time.perf_counter()
    embed_images(images[:64], "offline", out_dir=work / "local" / "tiny", batch_size=64, shard_size=64)
    t_local_tiny = time.perf_counter() - t
    ray.shutdown()
    # top-k ids may swap only between near-ties: local runs torch with 2 intra-op threads, each actor with 1,
    # so float sums differ in the last bits (~1e-7); a swap with a score gap above 1e-6 is a real difference
    la, lb = local_scores.column("top_ids").to_pylist(), ray_scores.column("top_ids").to_pylist()
    sa, sb = local_scores.column("top_scores").to_pylist(), ray_scores.column("top_scores").to_pylist()
    swaps = [i for i in range(len(la)) if la[i] != lb[i]]
    real = [i for i in swaps if not np.allclose(sa[i], sb[i], rtol=0, atol=1e-6)]
    same_ids = local_emb.ids == ray_emb.ids and not real
    max_vec = float(np.abs(local_emb.vectors - ray_emb.vectors).max())
    max_score = float(
        np.abs(np.asarray(local_scores.column("image_score")) - np.asarray(ray_scores.column("image_score"))).max()
    )
    n_img, n_utt = len(images), len(utterances)
    out.update(
        {
            "local": {
                "embed_s": t_embed_local,
                "embed_per_s": n_img / t_embed_local,
                "score_s": t_score_local,
                "score_per_s": n_utt / t_score_local,
                "tiny_job_s": t_local_tiny,
            },
            "ray_2_workers": {
                "cluster_start_s": t_ray_init,
                "embed_s": t_embed_ray,
                "embed_per_s": n_img / t_embed_ray,
                "score_s": t_score_ray,
                "score_per_s": n_utt / t_score_ray,
                "tiny_job_s": t_ray_tiny,
            },
            "ray_fixed_overhead_s": t_ray_tiny - t_local_tiny,
            "speedup_embed": t_embed_local / t_embed_ray,
            "speedup_score": t_score_local / t_score_ray,
            "per_item_cost_s": {
                "embed_local_1proc": t_embed_local / n_img,
                "score_local_1proc": t_score_local / n_utt,
                "embed_ray_worker": 2 * t_embed_ray / n_img,
                "score_ray_worker": 2 * t_score_ray / n_utt,
            },
            "identical": {
                "ids": same_ids,
                "near_tie_swaps": len(swaps),
                "max_abs_vector_diff": max_vec,
                "max_abs_score_diff": max_score,
            },
        }
    )
    return out


def run_corpus(args: argparse.Namespace) -> dict[str, object]:
    work = Path(args.work)
    corpus = work / "corpus.parquet"
    gen: dict[str, object] = {"reused": True, "bytes": corpus.stat().st_size if corpus.exists() else 0}
    if not corpus.exists() or corpus.stat().st_size < args.gb * 1e9:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "bench_scale_corpus.py"), str(corpus), "--gb", str(args.gb)],
            check=True,
            capture_output=True,
            text=True,
        )
        gen = {"reused": False, "log": proc.stdout.strip()}
    env = {**os.environ, "POLARS_MAX_THREADS": "2"}
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_scale_limited.py"),
            str(corpus),
            str(work / "out"),
            "--limit-gib",
            str(args.limit_gib),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update({"generate": gen, "corpus_bytes": corpus.stat().st_size, "wall_s": time.perf_counter() - t})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["engines", "corpus"])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--utterances", type=int, default=50_000)
    ap.add_argument("--gb", type=float, default=5.2)
    ap.add_argument("--limit-gib", type=float, default=4.0)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "mmdial-bench-scale"))
    add_json_flag(ap)
    args = ap.parse_args()
    result = run_engines(args) if args.part == "engines" else run_corpus(args)
    record = emit(f"scale-{args.part}", result, enabled=False)
    text = json.dumps(record, indent=2)
    print(text)
    if args.json:
        emit(f"scale-{args.part}", result)
    report = ROOT / "reports" / f"bench_scale_{args.part}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
