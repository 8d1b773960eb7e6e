"""``mmdial augment``: ``run CONFIG.yaml``, ``calibrate CONFIG.yaml``, ``fit-classifier LABELS``, ``report RUN_DIR``.

Registered through the ``mmdial.cli`` entry-point group of mmdial-data.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="mmdial"); sub = parser.add_subparsers()
    >>> register(sub)
    >>> args = parser.parse_args(["augment", "run", "cfg.yaml", "--limit", "5"])
    >>> args.limit, args.handler.__name__
    (5, '_cmd_run')
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``augment`` command with its sub-commands."""
    from mmdial_data.cli import add_engine_arguments

    p = subparsers.add_parser("augment", help="IMAD image augmentation of text dialogues")
    sub = p.add_subparsers(dest="augment_command", metavar="SUBCOMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])

    r = sub.add_parser("run", help="run (or resume) the pipeline from a YAML config")
    r.add_argument("config", type=Path)
    r.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    r.add_argument("--output-dir", default=None, help="override the config's output_dir")
    r.add_argument("--overwrite", action="store_true", help="discard finished chunks of an earlier run")
    add_engine_arguments(r, "where pool embedding and the chunks run", default=None)
    r.add_argument("--no-progress", action="store_true")
    r.set_defaults(handler=_cmd_run)

    f = sub.add_parser("fit-classifier", help="train the stage-1 classifier on labeled utterances (JSON output)")
    f.add_argument("labels", type=Path, help="Parquet/CSV/JSONL with feature columns and 'label'")
    f.add_argument(
        "--features",
        type=Path,
        default=None,
        help="a run's features.parquet, when LABELS has only dialogue_id, turn_index, label",
    )
    f.add_argument("--kind", choices=["random_forest", "logistic_regression"], default="random_forest")
    f.add_argument("--out", type=Path, required=True, help="output .json")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--n-estimators", type=int, default=100, help="random forest trees")
    f.set_defaults(handler=_cmd_fit)

    c = sub.add_parser(
        "calibrate",
        help="calibrate the threshold rule for the config's encoder and pool "
        "(pool captions vs dialogue utterances, F1 on a split)",
    )
    c.add_argument("config", type=Path)
    c.add_argument("--out", type=Path, required=True, help="output .json (thresholds, train/test figures)")
    c.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    c.add_argument("--test-fraction", type=float, default=0.3)
    c.add_argument("--folds", type=int, default=5, help="pool folds: captions are scored without their own image")
    c.add_argument("--grid", type=int, default=40, help="quantile cutoffs per feature")
    c.add_argument("--output-dir", default=None, help="override the config's output_dir (pool cache)")
    c.add_argument(
        "--table",
        type=Path,
        default=None,
        help="also write the labeled feature table (Parquet) for `mmdial augment fit-classifier`",
    )
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(handler=_cmd_calibrate)

    rep = sub.add_parser("report", help="(re)write report.html of a finished run")
    rep.add_argument("run_dir", type=Path)
    rep.set_defaults(handler=_cmd_report)

    from mmdial_augment.stage1_cli import register_stage1

    register_stage1(sub)  # stage1 DATASET --out SCORES.jsonl, validate-stage1


def _cmd_run(args: argparse.Namespace) -> int:
    from mmdial_augment.config import load_config
    from mmdial_augment.pipeline import AugmentPipeline

    cfg = load_config(args.config, limit=args.limit, output_dir=args.output_dir, engine=args.engine)
    if args.engine == "local":
        cfg.engine_options = {}
    if args.engine_workers is not None:
        cfg.engine_options = {**cfg.engine_options, "workers": args.engine_workers}
    cfg.validate()
    result = AugmentPipeline(cfg, progress=not args.no_progress).run(overwrite=args.overwrite)
    print(json.dumps(result.summary(), indent=2, default=str))
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from mmdial_augment.classifier import fit_classifier, read_labels

    X, y = read_labels(args.labels, args.features)
    params = {"n_estimators": args.n_estimators} if args.kind == "random_forest" else {}
    model = fit_classifier(X, y, kind=args.kind, seed=args.seed, **params)
    model.save(args.out)
    print(f"{args.kind} on {len(y)} utterances ({int(y.sum())} positive) -> {args.out}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from mmdial_augment.calibrate import calibrate
    from mmdial_augment.config import load_config

    cfg = load_config(args.config, limit=args.limit, output_dir=args.output_dir)
    result = calibrate(
        cfg,
        test_fraction=args.test_fraction,
        folds=args.folds,
        grid=args.grid,
        table_out=args.table,
        progress=not args.no_progress,
    )
    result.save(args.out)
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.report import write_report

    prov_path = args.run_dir / "provenance.json"
    features = args.run_dir / "features.parquet"
    for p in (prov_path, features):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not a finished augment run (missing {p.name})")
    prov = json.loads(prov_path.read_text(encoding="utf-8"))
    cfg = AugmentConfig.from_dict(prov["config"])
    rows = pq.read_table(features).to_pydict()
    pool = prov.get("pool") or {}
    out = write_report(
        args.run_dir / "report.html", rows, None, cfg, summary=prov.get("counts"), image_root=pool.get("root")
    )
    print(out)
    return 0
