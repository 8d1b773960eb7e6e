"""``mmdial eval sgd``: the DSTC8 SGD evaluator on a folder of predictions (sub-command of ``mmdial eval``).

    mmdial eval sgd PRED_DIR --gold dstc8/test [--schema dstc8/test/schema.json]
        [--train-schema dstc8/train/schema.json] [--matching fuzzy|exact] [--fuzzy-backend difflib|levenshtein]
        [--json] [--out report.json]

Prints a table (one row per collection: #ALL_SERVICES, #SEEN_SERVICES, #UNSEEN_SERVICES, domains, services;
JGA per frame and across turns) headed by the evaluator and variant, or the JSON report with ``--json``;
``--out`` writes the JSON report atomically. Bad input raises ValueError (``mmdial: error: ...``, exit 2).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mmdial_metrics.cli import write_report


def register(subparsers: Any) -> None:
    """Add ``sgd`` to the ``mmdial eval`` sub-commands."""
    from mmdial_metrics.sgd.matching import DEFAULT_FUZZY_BACKEND, FUZZY_BACKENDS

    p = subparsers.add_parser(
        "sgd",
        help="DSTC8 Schema-Guided DST metrics (official schema_guided_dst/evaluate.py), seen/unseen services",
        description="Score DSTC8 dialogues_*.json predictions as google-research schema_guided_dst/evaluate.py does.",
    )
    p.add_argument("predictions", type=Path, metavar="PRED_DIR", help="folder of predicted DSTC8 dialogue *.json files")
    p.add_argument("--gold", required=True, type=Path, metavar="GOLD_DIR", help="folder of gold dialogues_*.json")
    p.add_argument("--schema", type=Path, default=None, help="evaluation schema.json (default: GOLD_DIR/schema.json)")
    p.add_argument(
        "--train-schema",
        type=Path,
        default=None,
        help="train schema.json, decides seen services (default: GOLD_DIR/../train/schema.json)",
    )
    p.add_argument(
        "--matching",
        choices=("fuzzy", "exact"),
        default="fuzzy",
        help="non-categorical values: fuzzy token-sort ratio (official default) or exact, case-sensitive",
    )
    p.add_argument(
        "--fuzzy-backend",
        choices=FUZZY_BACKENDS,
        default=DEFAULT_FUZZY_BACKEND,
        help=f"fuzzywuzzy's matcher without ({DEFAULT_FUZZY_BACKEND}, official default) or with python-Levenshtein",
    )
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(handler=_cmd_sgd)


def _cmd_sgd(args: argparse.Namespace) -> int:
    from mmdial_metrics.sgd.report import evaluate_sgd_dirs, format_sgd_report

    report = evaluate_sgd_dirs(
        args.predictions,
        args.gold,
        schema=args.schema,
        train_schema=args.train_schema,
        matching=args.matching,
        fuzzy_backend=args.fuzzy_backend,
    )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out is not None:
        if args.out.is_dir():
            raise ValueError(f"{args.out}: is a folder; name the report file, e.g. --out report.json")
        write_report(args.out, text)
    print(text if args.json else format_sgd_report(report))
    return 0
