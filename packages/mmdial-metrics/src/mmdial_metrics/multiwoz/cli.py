"""``mmdial eval multiwoz PREDICTIONS.json``: mwzeval-compatible BLEU, Inform/Success, richness and DST.

Flags as mwzeval's ``evaluate.py`` (``--bleu``, ``--success``, ``--richness``; ``--dst`` for its DST mode); with
none given, ``--bleu --success`` are scored. The MultiWOZ files come from ``--data`` (a 2.0/2.1 ``data.json``:
goals, booked domains, references, gold states) and/or ``--mwz22`` (the MultiWOZ_2.2 folder: mwzeval's
canonical references and gold states); ``--db-dir`` replaces the bundled venue databases.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mmdial_metrics.cli import write_report

__all__ = ["format_report", "register"]


def register(subparsers: Any) -> None:
    """Add ``multiwoz`` to the ``mmdial eval`` sub-commands."""
    p = subparsers.add_parser(
        "multiwoz",
        help="MultiWOZ Inform/Success/BLEU/DST as mwzeval (Tomiinek/MultiWOZ_Evaluation) computes them",
        description="Score mwzeval-format predictions {dialogue_id: [{response, state?, active_domains?}, ...]}.",
    )
    p.add_argument("predictions", type=Path, help="mwzeval-format predictions JSON")
    p.add_argument("--data", type=Path, default=None, help="MultiWOZ 2.0/2.1 data.json (goals, booked domains, refs)")
    p.add_argument("--mwz22", type=Path, default=None, help="MultiWOZ_2.2 folder (dialogues_*.json, dialog_acts.json)")
    p.add_argument("--db-dir", type=Path, default=None, help="folder of MultiWOZ *_db.json (default: bundled)")
    p.add_argument("-b", "--bleu", action="store_true", help="score BLEU")
    p.add_argument("-s", "--success", action="store_true", help="score Inform and Success rates")
    p.add_argument("-r", "--richness", action="store_true", help="score lexical richness")
    p.add_argument("-d", "--dst", action="store_true", help="score dialogue state tracking")
    p.add_argument(
        "--fuzzy-backend",
        choices=("levenshtein", "difflib"),
        default="levenshtein",
        help="fuzzywuzzy's matcher: with python-Levenshtein (mwzeval's install, default) or difflib",
    )
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    p.set_defaults(handler=_cmd)


def format_report(report: dict[str, Any]) -> str:
    """The report as mwzeval prints it (one block per metric), headed by the evaluator and variant."""
    lines = [
        f"evaluator: {report['evaluator']}",
        "variant: "
        + ", ".join(f"{k}={v}" for k, v in report["variant"].items() if v is not None and k != "bleu_references"),
        *(f"BLEU {k}: {v}" for k, v in (report["variant"].get("bleu_references") or {}).items()),
        *(f"{k} from: {v}" for k, v in report.get("sources", {}).items()),
        f"dialogues: {report['dialogues']}, turns: {report['turns']}",
        "",
    ]
    for metric in ("bleu", "success", "richness", "dst"):
        values = report.get(metric)
        if values is None:
            continue
        lines.append(f"====== {metric.upper()} ======")
        if metric == "success":
            domains = sorted(set(values["inform"]) | set(values["success"]))
            lines.append(f"{'':15}{'inform':>8}{'success':>9}")
            for d in domains:
                lines.append(f"{d.ljust(15)}{values['inform'].get(d, 0):>8}{values['success'].get(d, 0):>9}")
        else:
            lines.extend(f"{k.ljust(15)}{v}" for k, v in values.items())
        lines.append("")
    return "\n".join(lines).rstrip()


def _cmd(args: argparse.Namespace) -> int:
    from mmdial_metrics.multiwoz.evaluator import MultiWozEvaluator

    if not (args.bleu or args.success or args.richness or args.dst):
        args.bleu = args.success = True
    try:
        predictions = json.loads(args.predictions.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.predictions}: not valid JSON ({exc}); pass mwzeval-format predictions") from exc
    needs_data = args.bleu or args.success or args.dst
    if needs_data and args.data is None and args.mwz22 is None:
        raise ValueError("BLEU, Success and DST need MultiWOZ data; pass --data data.json and/or --mwz22 DIR")
    if needs_data:
        evaluator = MultiWozEvaluator.from_files(
            data=args.data,
            mwz22=args.mwz22,
            db_dir=args.db_dir,
            fuzzy_backend=args.fuzzy_backend,
            dialogue_ids=list(predictions) if isinstance(predictions, dict) else None,
        )
    else:
        evaluator = MultiWozEvaluator(fuzzy_backend=args.fuzzy_backend)
    report = evaluator.evaluate(predictions, bleu=args.bleu, success=args.success, richness=args.richness, dst=args.dst)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.out is not None:
        write_report(args.out, text)
    print(text if args.json else format_report(report))
    return 0
