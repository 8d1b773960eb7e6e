"""Image embedding throughput on CPU: full pipeline vs pure forward, same run, same images.

One command:  python benchmarks/bench_embed.py
Options:      --n 256 --batch-size 32 --workers 1 --decode-threads 1 2 --repeat 3
              --encoders offline openclip:mmdial-tiny

Images: the Tux Paint stamps when ``tuxpaint-stamps-default`` is installed, else scikit-image's photos
(repeated). For each encoder, in one process, measurements interleaved ``--repeat`` times (best of each kept,
because on a shared machine the noise only ever slows a run down):
- pure forward: the images decoded and preprocessed beforehand, timed over ``encode_preprocessed`` only;
- pipeline, processes: ``mmdial_retrieval.embed.embed_paths(num_workers=W)`` = decode + preprocess in
  DataLoader worker processes + forward, from file paths;
- pipeline, threads: ``embed_paths(threads=D)`` = decode + preprocess in D threads, prefetching two batches
  ahead, overlapped with the forward pass in the main thread (PIL releases the GIL while decoding/resizing).
Every pipeline's vectors are checked against the pure forward's. Goal: pipeline >= 90% of pure-forward img/s.
Also timed: decode + preprocess alone on one thread, the ceiling of any pipeline whose model is cheaper than
its input side (the tiny random open_clip config is: its forward is faster than PNG decoding).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from jsonline import add_json_flag, emit


def image_paths(n: int) -> tuple[list[Path], str]:
    stamps = Path("/usr/share/tuxpaint/stamps")
    if stamps.is_dir():
        files = sorted(p for p in stamps.rglob("*.png") if p.with_suffix(".txt").is_file())
        source = "tuxpaint stamps"
    else:
        import skimage.data

        folder = Path(skimage.data.__file__).parent
        files = [folder / f for f in ("chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "horse.png")]
        source = "scikit-image photos"
    return [files[i % len(files)] for i in range(n)], source


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="DataLoader worker processes of the process pipeline",
    )
    ap.add_argument(
        "--decode-threads", type=int, nargs="+", default=[1, 2], help="thread counts tried for the threaded pipeline"
    )
    ap.add_argument("--torch-threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--encoders", nargs="+", default=["offline", "openclip:mmdial-tiny"])
    ap.add_argument("--out", default=None, help="also write the results here (JSON)")
    add_json_flag(ap)
    args = ap.parse_args()

    import torch

    from mmdial_retrieval import get_encoder
    from mmdial_retrieval.embed import embed_paths
    from mmdial_retrieval.images import load_rgb

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    paths, source = image_paths(args.n)
    print(
        f"# bench_embed: {args.n} images from {source}, batch {args.batch_size}, torch threads "
        f"{torch.get_num_threads()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
        f"best of {args.repeat}"
    )
    results = []
    for name in args.encoders:
        enc = get_encoder(name)
        embed_paths(paths[: args.batch_size], enc, batch_size=args.batch_size, num_workers=0)  # warm-up
        pre = [enc.preprocess(load_rgb(p)) for p in paths]
        batches = [torch.stack(pre[i : i + args.batch_size]) for i in range(0, len(pre), args.batch_size)]

        def pure() -> np.ndarray:
            return np.concatenate([enc.encode_preprocessed(b) for b in batches])  # noqa: B023

        modes = {
            "pure forward": pure,
            f"pipeline, {args.workers} worker process(es)": lambda enc=enc: embed_paths(
                paths, enc, batch_size=args.batch_size, num_workers=args.workers
            ),
        }
        for d in args.decode_threads:
            modes[f"pipeline, {d} decode thread(s)"] = lambda d=d, enc=enc: embed_paths(
                paths, enc, batch_size=args.batch_size, threads=d
            )
        best = dict.fromkeys(modes, float("inf"))
        reference = pure()
        for _ in range(args.repeat):
            for label, fn in modes.items():
                t = time.perf_counter()
                out = fn()
                best[label] = min(best[label], time.perf_counter() - t)
                vectors, failures = (out, []) if label == "pure forward" else out
                assert not failures and np.allclose(vectors, reference, atol=1e-4), f"{label} disagrees"
        pure_s = best.pop("pure forward")
        decode_s = float("inf")  # the input side alone: what a pipeline cannot beat when the model is cheaper
        for _ in range(args.repeat):
            t = time.perf_counter()
            for p in paths:
                enc.preprocess(load_rgb(p))
            decode_s = min(decode_s, time.perf_counter() - t)
        print(
            f"{enc.encoder_id}: pure forward {args.n / pure_s:8.1f} img/s; decode + preprocess alone, one thread "
            f"{args.n / decode_s:8.1f} img/s{' (the pipeline is decode-bound)' if decode_s > pure_s else ''}"
        )
        row = {
            "encoder": enc.encoder_id,
            "pure_forward_img_s": args.n / pure_s,
            "decode_one_thread_img_s": args.n / decode_s,
            "pipelines": {},
        }
        for label, s in best.items():
            ratio = pure_s / s
            row["pipelines"][label] = {"img_s": args.n / s, "ratio": ratio}
            print(
                f"  {label:34s} {args.n / s:8.1f} img/s   pipeline/forward {ratio:.2f} "
                f"{'(goal >= 0.90 met)' if ratio >= 0.9 else '(goal >= 0.90 NOT met)'}"
            )
        results.append(row)
    figures = {
        "n": args.n,
        "source": source,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "results": results,
    }
    record = emit("embed", figures, enabled=args.json)
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
