"""The ``mmdial`` command line.

Sub-commands of mmdial-data: ``sources``, ``convert``, ``stats``, ``show``, ``build``, ``export hf`` and
``export instructions``. Other packages add
theirs through the ``mmdial.cli`` entry-point group: each entry point names a function
``register(subparsers)`` that adds one sub-command parser and sets ``handler=<func(args) -> int>`` on it
(``parser.set_defaults(handler=...)``). So a package's commands exist exactly when it is installed.

Bad usage or bad input exits with status 2 and a one-line message on stderr.

Example:
    >>> main(["sources"])  # doctest: +ELLIPSIS
    babi_dialog ...
    dailydialog ...
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn


class UsageError(Exception):
    """Bad usage: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, including sub-commands of installed mmdial packages."""
    parser = _Parser(prog="mmdial", description="Multimodal dialogue datasets, augmentation, fusion and metrics.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("sources", help="list the registered dataset readers")
    p.set_defaults(handler=_cmd_sources)

    p = sub.add_parser("convert", help="convert source files to the unified schema (.parquet or .jsonl)")
    p.add_argument("source", help="reader name (see `mmdial sources`)")
    p.add_argument("paths", nargs="+", type=Path, help="source files or folders")
    p.add_argument("--out", required=True, type=Path, help="output .parquet or .jsonl")
    p.add_argument("--split", default=None, help="override the split inferred from file names")
    p.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    p.set_defaults(handler=_cmd_convert)

    p = sub.add_parser("stats", help="dialogues, turns and images per source of a unified file")
    p.add_argument("file", type=Path)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_cmd_stats)

    p = sub.add_parser("show", help="pretty-print one dialogue")
    p.add_argument("file", type=Path)
    p.add_argument("--id", required=True, dest="dialogue_id")
    p.set_defaults(handler=_cmd_show)

    p = sub.add_parser("build", help="build a dataset from a recipe: Parquet shards, card.md, provenance.json")
    p.add_argument("recipe", type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--on-error", choices=["raise", "skip"], default=None, help="override the recipe's on_error")
    add_engine_arguments(p, "where sources are read and validated")
    p.add_argument(
        "--read-ahead",
        choices=["auto", "on", "off"],
        default="auto",
        help="read each source in a child process while this one validates and writes (local engine; auto: "
        "with 4+ CPUs and MMDIAL_READ_AHEAD_MB of input)",
    )
    p.set_defaults(handler=_cmd_build)

    p = sub.add_parser("export", help="export a unified dataset: hf (datasets.DatasetDict) or instructions (JSONL)")
    export = p.add_subparsers(dest="export_format", metavar="FORMAT", parser_class=_Parser)
    e = export.add_parser("hf", help="save a datasets.DatasetDict (images as datasets.Image when resolvable)")
    e.add_argument("out", type=Path, help="output folder (save_to_disk)")
    e.add_argument("--data", required=True, type=Path, help="build folder, Parquet shard folder, or unified file")
    e.add_argument("--image-root", type=Path, default=None, help="folder the image URIs are relative to")
    e.set_defaults(handler=_cmd_export_hf)
    e = export.add_parser("instructions", help="instruction records (task/instruction/input/output) per split")
    e.add_argument("out", type=Path, help="output folder: <split>.jsonl and manifest.json")
    e.add_argument("--data", required=True, type=Path, help="build folder, Parquet shard folder, or unified file")
    e.add_argument("--tasks", nargs="+", default=None, help="tasks to export (default: all the data supports)")
    e.add_argument("--seed", type=int, default=0, help="seed of the template choice")
    e.set_defaults(handler=_cmd_export_instructions)
    p.set_defaults(handler=lambda args: _usage(p))

    for ep in sorted(entry_points(group="mmdial.cli"), key=lambda e: e.name):
        try:
            register = ep.load()
        except Exception as exc:  # a broken plugin must not take the other commands down
            _add_broken_command(sub, ep.name, ep.value, exc)
            continue
        register(sub)
    return parser


def _add_broken_command(sub: argparse._SubParsersAction[_Parser], name: str, target: str, exc: Exception) -> None:
    """Keep a sub-command whose package failed to import visible; using it reports why."""
    reason = f"sub-command {name!r} ({target}) could not be loaded: {type(exc).__name__}: {exc}"

    def handler(args: argparse.Namespace) -> int:
        raise UsageError(reason)

    p = sub.add_parser(name, help=f"(unavailable: {type(exc).__name__})", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mmdial``; returns the exit status (0 ok, 2 bad usage or bad input)."""
    from mmdial_data.errors import MMDialDataError

    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return 2
        status: int = args.handler(args)
        return status
    except (UsageError, MMDialDataError, FileNotFoundError, KeyError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"mmdial: error: {message}".replace("\n", " "), file=sys.stderr)
        return 2


def _cmd_sources(args: argparse.Namespace) -> int:
    from mmdial_data.readers import list_readers

    readers = list_readers()
    width = max(len(r.name) for r in readers)
    for r in readers:
        print(f"{r.name:<{width}}  {r.description}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from mmdial_data.errors import ErrorPolicy
    from mmdial_data.io import write_dialogues
    from mmdial_data.readers import read_source
    from mmdial_data.validate import validated

    policy = ErrorPolicy(args.on_error)
    n = write_dialogues(
        validated(
            read_source(args.source, args.paths, split=args.split, on_error=policy),
            path=str(args.paths[0]),
            policy=policy,
        ),
        args.out,
    )
    print(f"wrote {n} dialogues to {args.out}")
    for s in policy.skipped:
        print(f"skipped: {s.path}, {s.record}: {s.reason}", file=sys.stderr)
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from mmdial_data.stats import dataset_stats, format_stats

    stats = dataset_stats(args.file)
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from mmdial_data.io import read_dialogues
    from mmdial_data.viewer import render_dialogue_text

    for d in read_dialogues(args.file):
        if d.dialogue_id == args.dialogue_id:
            print(render_dialogue_text(d))
            return 0
    raise KeyError(f"{args.file}: no dialogue with id {args.dialogue_id!r}")


def add_engine_arguments(p: argparse.ArgumentParser, what: str, default: str | None = "local") -> None:
    """``--engine {local,ray}`` and ``--engine-workers N`` for a command (``what`` runs on the engine).

    ``ray`` runs on ``$RAY_ADDRESS`` or a local cluster and needs the ``ray`` extra (``mmdial-data[ray]``).
    """
    where = "this process (local) or a Ray cluster" + ("" if default else "; default: the config's engine")
    p.add_argument("--engine", choices=["local", "ray"], default=default, help=f"{what}: {where}")
    p.add_argument("--engine-workers", type=int, default=None, help="ray actors (default: one per CPU)")


def engine_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``engine`` and ``engine_options`` from the options of :func:`add_engine_arguments`.

    >>> engine_kwargs(argparse.Namespace(engine="ray", engine_workers=2))
    {'engine': 'ray', 'engine_options': {'workers': 2}}
    """
    if args.engine_workers is not None and args.engine in (None, "local"):
        raise UsageError("--engine-workers needs --engine ray")
    options = None if args.engine_workers is None else {"workers": args.engine_workers}
    return {"engine": args.engine, "engine_options": options}


def _cmd_build(args: argparse.Namespace) -> int:
    from mmdial_data.build import build_dataset

    read_ahead = {"auto": None, "on": True, "off": False}[args.read_ahead]
    result = build_dataset(args.recipe, args.out, on_error=args.on_error, read_ahead=read_ahead, **engine_kwargs(args))
    print(f"built {result.dialogues} dialogues in {len(result.shards)} shards -> {args.out}")
    if result.skipped:
        print(f"skipped {len(result.skipped)} records (listed in {args.out / 'card.md'})")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    raise UsageError(f"{parser.prog}: choose a format: hf or instructions")


def _check_data(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")


def _cmd_export_hf(args: argparse.Namespace) -> int:
    from mmdial_data.exports.hf import export_hf

    _check_data(args.data)
    counts = export_hf(args.data, args.out, image_root=args.image_root)
    print(f"saved DatasetDict {counts} -> {args.out}")
    return 0


def _cmd_export_instructions(args: argparse.Namespace) -> int:
    from mmdial_data.exports.instructions import export_instructions

    _check_data(args.data)
    counts = export_instructions(args.data, args.out, tasks=args.tasks, seed=args.seed)
    for split, per_task in counts.items():
        print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in per_task.items()))
    print(f"wrote {sum(sum(c.values()) for c in counts.values())} instruction records -> {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
