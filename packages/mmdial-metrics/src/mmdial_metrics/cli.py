"""``mmdial eval``: the sub-command mmdial-metrics adds to the ``mmdial`` CLI (entry-point group ``mmdial.cli``).

    mmdial eval predictions.jsonl --refs build/ --metrics bleu rougeL f1 distinct_2 --out report.json

Prints a table (overall and per source, with bootstrap confidence intervals and the signatures) and
writes the JSON report with ``--out`` (or prints it with ``--json``). Metric options are given as
``--option NAME.KEY=VALUE`` (VALUE parsed as JSON when it parses, else kept as a string).

``mmdial eval`` is a group: ``turns`` (the command above; the default, so ``mmdial eval PRED --refs R`` and
``mmdial eval turns PRED --refs R`` are the same) and one sub-command per benchmark evaluator in
:data:`EVALUATORS`, each taking that benchmark's own prediction format.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def write_report(path: Path, text: str) -> None:
    """Write a JSON report (``--out``) atomically, replacing an older report (:mod:`mmdial_data.outputs`)."""
    from mmdial_data.outputs import write_text_atomic

    write_text_atomic(path, text + "\n")


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


#: Benchmark evaluators of ``mmdial eval``: sub-command name -> module whose ``register(subparsers)`` adds it.
#: The modules keep their heavy imports inside their handlers, so building the parser stays cheap.
EVALUATORS: dict[str, str] = {
    "multiwoz": "mmdial_metrics.multiwoz.cli",
    "sgd": "mmdial_metrics.sgd.cli",
}

#: The sub-command ``mmdial eval`` runs when its first argument names none of the others.
DEFAULT_EVALUATOR = "turns"


class _AnyName(dict):  # type: ignore[type-arg]
    """A view of the sub-parser map whose ``in`` is always true: argparse's choice check lets every first
    value through, and :class:`_DefaultSubcommand` maps a value that names no sub-command to the default."""

    def __init__(self, parsers: dict[str, Any]) -> None:
        super().__init__()
        self.parsers = parsers

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(self.parsers)

    def __len__(self) -> int:
        return len(self.parsers)

    def keys(self) -> Any:
        return self.parsers.keys()

    def __getitem__(self, key: str) -> Any:
        return self.parsers[key]


class _DefaultSubcommand(argparse._SubParsersAction):  # type: ignore[type-arg]
    """A sub-parsers action that runs :data:`DEFAULT_EVALUATOR` when the first value names no sub-command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = _AnyName(self._name_parser_map)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        if values and values[0] not in self._name_parser_map:
            values = [DEFAULT_EVALUATOR, *values]
        super().__call__(parser, namespace, values, option_string)


def register(subparsers: Any) -> None:
    """Add ``eval`` (``turns`` and the benchmark evaluators) to the ``mmdial`` sub-commands."""
    import importlib

    group = subparsers.add_parser(
        "eval",
        help="score predictions: dataset turns (default) or a benchmark's evaluator (" + ", ".join(EVALUATORS) + ")",
        description="Score predictions. `mmdial eval PRED --refs R` is `mmdial eval turns PRED --refs R`.",
    )
    evaluators = group.add_subparsers(dest="evaluator", metavar="EVALUATOR", action=_DefaultSubcommand)
    _register_turns(evaluators)
    for module in EVALUATORS.values():
        importlib.import_module(module).register(evaluators)
    group.set_defaults(handler=lambda args: _choose_evaluator(group.prog))


def _choose_evaluator(prog: str) -> int:
    """``mmdial eval`` without an evaluator or predictions: a usage error (one line, exit 2)."""
    from mmdial_data.cli_errors import UsageError

    raise UsageError(f"{prog}: choose an evaluator ({', '.join([DEFAULT_EVALUATOR, *EVALUATORS])}) or give PREDICTIONS")


def _register_turns(subparsers: Any) -> None:
    from mmdial_metrics.evaluate import DEFAULT_METRICS

    p = subparsers.add_parser(
        "turns", help="score predictions for dataset turns (overall and per source, bootstrap CIs, signatures)"
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
        write_report(args.out, text)
    print(text if args.json else format_report(report))
    return 0
