"""Validation of IMAD's stage 1 against PhotoChat's human labels (intent, content), reproducible end to end.

Rebuilds the labels, the stage-1 features (offline encoder by default, Tux Paint stamps pool, MiniLM), the nested
cross-validation grouped by dialogue and the dialogue-bootstrap intervals, and prints the table: ROC AUC [95% CI]
per label for the classifier, the image ablation and each baseline. Data: the PhotoChat samples in
``MMDIAL_SAMPLES`` (default ``../shared/datasets/samples``: ``photochat/`` and ``photochat_more/``, 220 dialogues).

    python benchmarks/bench_stage1.py [--json] [--encoder offline] [--seed 0] [--bootstrap 1000]

This is ``mmdial augment validate-stage1`` with the same options; with ``--json`` the last stdout line is one JSON
object with every figure, the CPU count and the git commit. Single-threaded BLAS/torch, so it runs beside other
jobs (a few minutes on 2 cores; the pool embeddings are cached in ``--cache-dir`` after the first run).
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    import torch

    from mmdial_data.cli import main as mmdial_main

    torch.set_num_threads(1)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--no-progress" not in args and not sys.stderr.isatty():
        args.append("--no-progress")
    return mmdial_main(["augment", "validate-stage1", *args])


if __name__ == "__main__":
    raise SystemExit(main())
