"""The ``mmdial`` command line.

Sub-commands of mmdial-data: ``sources``, ``convert``, ``stats``, ``show``, ``build``, ``export hf``,
``export instructions`` and ``export convlab3|dialogstudio|convokit``. Other packages add
theirs through the ``mmdial.cli`` entry-point group: each entry point names a function
``register(subparsers)`` that adds one sub-command parser and sets ``handler=<func(args) -> int>`` on it
(``parser.set_defaults(handler=...)``). So a package's commands exist exactly when it is installed.

One error contract for every sub-command (those of other packages too, which run through :func:`main`): a user
error (bad usage, a missing, unreadable or malformed file, input the reader does not recognize, a missing optional
extra, an output that cannot be written, an existing output without ``--overwrite``, a command that would write no
dialogue without ``--allow-empty``) prints exactly one line on stderr,
``mmdial: error: <file>[:<record>]: <what is wrong>; <what to do>``, and exits with status 2. An unexpected
exception (a bug) prints one line too and exits with 1. ``--debug`` (before the sub-command) shows the traceback
instead. Output written to a closed pipe (``mmdial show ... | head -1``) ends the command quietly with status 141
(128 + SIGPIPE, what a shell reports for ``yes | head -1``). Outputs are atomic: after a failure no partial
output remains and an existing output is untouched.

Example:
    >>> main(["sources"])  # doctest: +ELLIPSIS
    abcd...MIT...ABCD...
    dailydialog...CC BY-NC-SA 4.0...DailyDialog...
    0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

from mmdial_data.cli_errors import INTERNAL_ERROR_STATUS as INTERNAL_ERROR_STATUS
from mmdial_data.cli_errors import USER_ERROR_STATUS as USER_ERROR_STATUS
from mmdial_data.cli_errors import UsageError as UsageError
from mmdial_data.cli_errors import error_line as error_line
from mmdial_data.cli_errors import shown_path as shown_path

#: Exit status of a command whose output went to a closed pipe (128 + SIGPIPE, as the shell reports it).
BROKEN_PIPE_STATUS = 141
#: What ``mmdial sources`` shows for a reader whose module states no licence (``ReaderInfo.license`` is None).
UNSTATED_LICENSE = "(licence not given by the reader)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def split_name(value: str) -> str:
    """An argparse ``type`` for split options: the canonical name of ``value`` (:mod:`mmdial_data.splits`).

    >>> split_name("dev")
    'validation'
    """
    from mmdial_data.splits import canonical_split

    try:
        return canonical_split(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The full parser, including sub-commands of installed mmdial packages."""
    from mmdial_data.recipe import SPLIT_NAMES

    parser = _Parser(prog="mmdial", description="Multimodal dialogue datasets, augmentation, fusion and metrics.")
    parser.add_argument("--debug", action="store_true", help="on an error, show the traceback instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("sources", help="list the registered dataset readers (name, licence, description)")
    p.add_argument(
        "--json", action="store_true", help="print a JSON list of {name, description, license, citation} instead"
    )
    p.set_defaults(handler=_cmd_sources)

    p = sub.add_parser("convert", help="convert source files to the unified schema (.parquet or .jsonl)")
    p.add_argument("source", help="reader name (see `mmdial sources`)")
    p.add_argument("paths", nargs="+", type=Path, help="source files or folders")
    p.add_argument("--out", required=True, type=Path, help="output .parquet or .jsonl")
    p.add_argument(
        "--split",
        default=None,
        type=split_name,
        metavar="SPLIT",
        help=f"override the split inferred from file names ({', '.join(SPLIT_NAMES)}; aliases such as dev, val, "
        "valid are taken as their canonical name)",
    )
    p.add_argument("--on-error", choices=["raise", "skip"], default="raise")
    _add_output_flags(p, "file")
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
    p.add_argument("--out", required=True, type=Path, help="output folder (new or empty, or --overwrite)")
    p.add_argument("--on-error", choices=["raise", "skip"], default=None, help="override the recipe's on_error")
    _add_output_flags(p, "build")
    add_engine_arguments(p, "where sources are read and validated")
    p.add_argument(
        "--read-ahead",
        choices=["auto", "on", "off"],
        default="auto",
        help="read each source in a child process while this one validates and writes (local engine; auto: "
        "with 4+ CPUs and MMDIAL_READ_AHEAD_MB of input)",
    )
    p.set_defaults(handler=_cmd_build)

    p = sub.add_parser(
        "export",
        help="export a unified dataset: hf (datasets.DatasetDict), instructions (JSONL), or a dialogue toolkit's "
        "format (convlab3, dialogstudio, convokit)",
    )
    export = p.add_subparsers(dest="export_format", metavar="FORMAT", parser_class=_Parser)
    e = export.add_parser("hf", help="save a datasets.DatasetDict (images as datasets.Image when resolvable)")
    e.add_argument("out", type=Path, help="output folder (save_to_disk)")
    e.add_argument("--data", required=True, type=Path, help="build folder, Parquet shard folder, or unified file")
    e.add_argument("--image-root", type=Path, default=None, help="folder the image URIs are relative to")
    _add_output_flags(e, None)
    e.set_defaults(handler=_cmd_export_hf)
    e = export.add_parser("instructions", help="instruction records (task/instruction/input/output) per split")
    e.add_argument("out", type=Path, help="output folder: <split>.jsonl and manifest.json")
    e.add_argument("--data", required=True, type=Path, help="build folder, Parquet shard folder, or unified file")
    e.add_argument("--tasks", nargs="+", default=None, help="tasks to export (default: all the data supports)")
    e.add_argument("--seed", type=int, default=0, help="seed of the template choice")
    _add_output_flags(e, None)
    e.set_defaults(handler=_cmd_export_instructions)
    for name, what in _DIALOGUE_FORMATS.items():
        e = export.add_parser(name, help=what)
        e.add_argument("data", type=Path, metavar="DATASET", help="build folder, Parquet shard folder, or unified file")
        e.add_argument("--out", required=True, type=Path, help="output folder (new or empty, or --overwrite)")
        if name != "convokit":
            e.add_argument("--dataset", default=None, help="dataset name for every dialogue (default: its source)")
        _add_output_flags(e, None)
        e.set_defaults(handler=_cmd_export_dialogues)
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


def _add_output_flags(p: argparse.ArgumentParser, empty: str | None) -> None:
    """``--overwrite`` (replace an existing output) and, for commands that write dialogues, ``--allow-empty``."""
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    if empty is not None:
        p.add_argument("--allow-empty", action="store_true", help=f"write the {empty} even when it holds no dialogue")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mmdial``; returns the exit status: 0 ok, 2 bad usage or bad input (one line on stderr), 1 an
    unexpected error (a bug; one line, or the traceback with ``--debug``), 141 output to a closed pipe."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in (argv[: argv.index("--")] if "--" in argv else argv)  # known before parsing succeeds
    args: argparse.Namespace | None = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return USER_ERROR_STATUS
        status: int = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the contract, not at interpreter exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except KeyboardInterrupt:
        if debug:
            raise
        print("mmdial: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        line, status = error_line(exc, args)
        print(line, file=sys.stderr)
        return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush of it cannot fail again (the reader is gone)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests): nothing to flush
        pass


def _cmd_sources(args: argparse.Namespace) -> int:
    from mmdial_data.readers import list_readers

    readers = list_readers()
    if getattr(args, "json", False):
        rows = [
            {"name": r.name, "description": r.description, "license": r.license, "citation": r.citation}
            for r in readers
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    licenses = [r.license or UNSTATED_LICENSE for r in readers]
    width = max(len(r.name) for r in readers)
    lwidth = max(len(lic) for lic in licenses)
    for r, lic in zip(readers, licenses, strict=True):
        print(f"{r.name:<{width}}  {lic:<{lwidth}}  {r.description}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from mmdial_data.errors import ErrorPolicy
    from mmdial_data.io import _format_of, write_dialogues
    from mmdial_data.outputs import EmptyOutputError, check_output, staged
    from mmdial_data.readers import read_source
    from mmdial_data.schema import Dialogue
    from mmdial_data.validate import EMPTY_TURNS, validated

    check_output(args.out, kind="file", overwrite=args.overwrite)
    _format_of(args.out)  # an unknown suffix is an error before anything is read
    policy = ErrorPolicy(args.on_error)
    empty_turns = 0

    def counted(dialogues: Iterator[Dialogue]) -> Iterator[Dialogue]:
        nonlocal empty_turns
        for d in dialogues:
            empty_turns += len(d.meta.get(EMPTY_TURNS) or ())
            yield d

    with staged(args.out, kind="file", overwrite=args.overwrite) as tmp:
        n = write_dialogues(
            validated(
                counted(read_source(args.source, args.paths, split=args.split, on_error=policy)),
                path=str(args.paths[0]),
                policy=policy,
            ),
            tmp,
        )
        if n == 0 and not args.allow_empty:
            skipped = f" ({len(policy.skipped)} records skipped)" if policy.skipped else ""
            raise EmptyOutputError(
                f"no dialogues read by reader {args.source!r}{skipped}; check the paths and the reader, "
                "or pass --allow-empty to write an empty file",
                path=args.paths[0],
            )
    print(f"wrote {n} dialogues to {args.out}")
    if empty_turns:
        print(f"dropped {empty_turns} empty turns (no text, no image; kept in meta.empty_turns)", file=sys.stderr)
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
    from mmdial_data.outputs import check_output

    read_ahead = {"auto": None, "on": True, "off": False}[args.read_ahead]
    options = engine_kwargs(args)
    check_output(args.out, kind="dir", overwrite=args.overwrite)
    result = build_dataset(
        args.recipe,
        args.out,
        on_error=args.on_error,
        read_ahead=read_ahead,
        allow_empty=args.allow_empty,
        progress=sys.stderr.isatty(),  # a bar only on a terminal: logs and pipes get the result lines only
        **options,
    )
    print(f"built {result.dialogues} dialogues in {len(result.shards)} shards -> {args.out}")
    if result.skipped:
        print(f"skipped {len(result.skipped)} records (listed in {args.out / 'card.md'})")
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    raise UsageError(f"{parser.prog}: choose a format: hf, instructions, {', '.join(_DIALOGUE_FORMATS)}")


#: ``mmdial export`` formats of dialogue toolkits, each written by ``mmdial_data.exports.<name>.export_<name>``.
_DIALOGUE_FORMATS = {
    "convlab3": "ConvLab-3 unified datasets: <dataset>/data.zip + dummy_data.json, checked by ConvLab-3's rules",
    "dialogstudio": "DialogStudio converted format: <DATASET>/converted_examples.json",
    "convokit": "a ConvoKit corpus folder (utterances.jsonl, conversations/speakers/corpus/index.json)",
}


def _check_data(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")


def _cmd_export_hf(args: argparse.Namespace) -> int:
    from mmdial_data.exports.hf import export_hf
    from mmdial_data.outputs import staged

    _check_data(args.data)
    with staged(args.out, kind="dir", overwrite=args.overwrite) as tmp:
        counts = export_hf(args.data, tmp, image_root=args.image_root)
    print(f"saved DatasetDict {counts} -> {args.out}")
    return 0


def _cmd_export_instructions(args: argparse.Namespace) -> int:
    from mmdial_data.exports.instructions import export_instructions
    from mmdial_data.outputs import staged

    _check_data(args.data)
    with staged(args.out, kind="dir", overwrite=args.overwrite) as tmp:
        counts = export_instructions(args.data, tmp, tasks=args.tasks, seed=args.seed)
    for split, per_task in counts.items():
        print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in per_task.items()))
    print(f"wrote {sum(sum(c.values()) for c in counts.values())} instruction records -> {args.out}")
    return 0


def _cmd_export_dialogues(args: argparse.Namespace) -> int:
    import importlib

    name = args.export_format
    export = getattr(importlib.import_module(f"mmdial_data.exports.{name}"), f"export_{name}")
    options = {"dataset": args.dataset} if name != "convokit" else {}
    _check_data(args.data)
    counts = export(args.data, args.out, overwrite=args.overwrite, **options)
    print(f"wrote {name} {counts} -> {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
