"""``mmdial eval``: the sub-command mmdial-metrics adds to the ``mmdial`` CLI (entry-point group ``mmdial.cli``).

    mmdial eval predictions.jsonl --refs build/ --metrics bleu rougeL f1 distinct_2 --out report.json

Prints a table (overall and per source, with bootstrap confidence intervals and the signatures) and
writes the JSON report with ``--out`` (or prints it with ``--json``). Metric options are given as
``--option NAME.KEY=VALUE`` (VALUE parsed as JSON when it parses, else kept as a string).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def parse_options(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["bleu.tokenize=intl", "rougeL.use_stemmer=true"]`` -> ``{"bleu": {"tokenize": "intl"}, ...}``.

    >>> parse_options(["bleu.tokenize=intl", "rougeL.use_stemmer=true"])
    {'bleu': {'tokenize': 'intl'}, 'rougeL': {'use_stemmer': True}}
    """
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        name_key, sep, raw = item.partition("=")
        name, dot, key = name_key.partition(".")
        if not sep or not dot or not name or not key:
            raise ValueError(f"--option {item!r}: expected NAME.KEY=VALUE, e.g. bleu.tokenize=intl")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(name, {})[key] = value
    return out


def register(subparsers: Any) -> None:
    """Add ``eval`` to the ``mmdial`` sub-commands."""
    from mmdial_metrics.evaluate import DEFAULT_METRICS

    p = subparsers.add_parser(
        "eval", help="score predictions for dataset turns (overall and per source, bootstrap CIs, signatures)"
    )
    p.add_argument("predictions", type=Path, help="JSONL of {dialogue_id, turn_index, prediction}")
    p.add_argument("--refs", required=True, type=Path, help="unified dataset: .parquet/.jsonl file or shard folder")
    p.add_argument("--metrics", nargs="+", default=list(DEFAULT_METRICS), help="registered metric names")
    p.add_argument("--option", action="append", default=None, metavar="NAME.KEY=VALUE", help="a metric option")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0: no intervals)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(handler=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    from mmdial_metrics.evaluate import evaluate_dialogues, format_report

    if args.bootstrap < 0:
        raise ValueError(f"--bootstrap must be >= 0, got {args.bootstrap}")
    if not 0 < args.confidence < 1:
        raise ValueError(f"--confidence must be in (0, 1), got {args.confidence}")
    report = evaluate_dialogues(
        args.predictions,
        args.refs,
        metrics=args.metrics,
        metric_options=parse_options(args.option),
        n_bootstrap=args.bootstrap,
        confidence=args.confidence,
        seed=args.seed,
    )
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(args.out)
    print(text if args.json else format_report(report))
    return 0
