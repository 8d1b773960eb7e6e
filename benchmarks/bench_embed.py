"""Image embedding throughput on CPU: full pipeline vs pure forward, same run, same images.

One command:  python benchmarks/bench_embed.py
Options:      --n 256 --batch-size 32 --workers 1 --encoders offline openclip:mmdial-tiny

Images: the Tux Paint stamps when ``tuxpaint-stamps-default`` is installed, else scikit-image's photos
(repeated). For each encoder:
- pure forward: the images decoded and preprocessed beforehand, timed over ``encode_preprocessed`` only;
- pipeline: ``mmdial_retrieval.embed.embed_paths`` = decode + preprocess in DataLoader worker processes +
  forward, from file paths.
Goal: pipeline >= 90% of pure-forward images/s.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


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
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--encoders", nargs="+", default=["offline", "openclip:mmdial-tiny"])
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import torch

    from mmdial_retrieval import get_encoder
    from mmdial_retrieval.embed import embed_paths
    from mmdial_retrieval.images import load_rgb

    paths, source = image_paths(args.n)
    print(f"# bench_embed: {args.n} images from {source}, batch {args.batch_size}, workers {args.workers}, "
          f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}")
    results = []
    for name in args.encoders:
        enc = get_encoder(name)
        embed_paths(paths[: args.batch_size], enc, batch_size=args.batch_size, num_workers=0)  # warm-up
        pre = [enc.preprocess(load_rgb(p)) for p in paths]
        batches = [torch.stack(pre[i:i + args.batch_size]) for i in range(0, len(pre), args.batch_size)]
        t = time.perf_counter()
        forward = np.concatenate([enc.encode_preprocessed(b) for b in batches])
        pure_s = time.perf_counter() - t
        t = time.perf_counter()
        piped, failures = embed_paths(paths, enc, batch_size=args.batch_size, num_workers=args.workers)
        pipe_s = time.perf_counter() - t
        assert not failures and np.allclose(piped, forward, atol=1e-4), "pipeline and pure forward disagree"
        row = {"encoder": enc.encoder_id, "pure_forward_img_s": args.n / pure_s, "pipeline_img_s": args.n / pipe_s,
               "ratio": pure_s / pipe_s}
        results.append(row)
        print(f"{enc.encoder_id:40s} pure forward {row['pure_forward_img_s']:8.1f} img/s   "
              f"pipeline {row['pipeline_img_s']:8.1f} img/s   pipeline/forward {row['ratio']:.2f} "
              f"{'(goal >= 0.90 met)' if row['ratio'] >= 0.9 else '(goal >= 0.90 NOT met)'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "source": source, "workers": args.workers,
                                               "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
