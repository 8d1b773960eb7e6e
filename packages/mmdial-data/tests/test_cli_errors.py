"""The CLI's error contract: every user error is one stderr line ``mmdial: error: <file>[:<record>]: ...; ...`` with
exit status 2, no traceback unless ``--debug``; a closed pipe ends quietly (141); outputs are atomic (after a
failure nothing is left behind and an existing output is untouched)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mmdial_data import cli
from mmdial_data.cli import BROKEN_PIPE_STATUS, main
from mmdial_data.io import read_dialogues
from mmdial_data.testing import broken_dailydialog, demo_dir, repo_root

DEMO_RECIPE = repo_root() / "datasets" / "recipes" / "demo.yaml"


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (folders as None, files with their bytes): what must not change."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def user_error(args: list[str], capsys: pytest.CaptureFixture[str], *, contains: str = "") -> str:
    """Run ``mmdial args``; assert exit 2 and exactly one stderr line ``mmdial: error: ...; ...``; return it."""
    code = main(args)
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    [line] = lines
    assert line.startswith("mmdial: error: ") and "; " in line, line
    assert "Traceback" not in err and contains in line, line
    return line


def _recipe(tmp_path: Path, body: str, name: str = "recipe.yaml") -> Path:
    folder = tmp_path / "recipes"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def _photochat_recipe(tmp_path: Path, extra: str = "") -> Path:
    return _recipe(
        tmp_path, f"name: pc\nsources:\n  - reader: photochat\n    paths: [{demo_dir() / 'photochat'}]\n{extra}"
    )


# --- input errors ------------------------------------------------------------------------------------------------


def test_missing_input_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = user_error(["convert", "sgd", str(tmp_path / "nope"), "--out", str(tmp_path / "o.parquet")], capsys)
    assert f"{tmp_path / 'nope'}: no such file" in line
    assert _tree(tmp_path) == {}


def test_missing_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = user_error(["build", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "b")], capsys)
    assert line == f"mmdial: error: {tmp_path / 'r.yaml'}: no such file or directory; check the path"
    assert _tree(tmp_path) == {}


def test_malformed_file_names_file_and_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "in" / "train"
    broken.mkdir(parents=True)
    (broken / "dialogues_001.json").write_text('[{"dialogue_id": "1", "turns": [')
    before = _tree(tmp_path)
    line = user_error(["convert", "sgd", str(broken), "--out", str(tmp_path / "out" / "o.parquet")], capsys)
    assert f"{broken / 'dialogues_001.json'}:line 1 column" in line and "--on-error skip" in line
    assert _tree(tmp_path) == before  # no output file, no "out" folder


def test_malformed_record_in_build_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first source writes shards (split folders) before the second fails: nothing of it may stay."""
    dd = broken_dailydialog(tmp_path)
    body = (
        f"name: x\nsources:\n  - reader: photochat\n    paths: [{demo_dir() / 'photochat'}]\n"
        f"  - reader: dailydialog\n    paths: [{dd}]\n"
    )
    recipe = _recipe(tmp_path, body)
    before = _tree(tmp_path)
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "builds" / "b")], capsys)
    assert f"{dd / 'dialogues_train.txt'}:line 2: 3 utterances but 2 act and 3 emotion labels; fix the record" in line
    assert _tree(tmp_path) == before  # no "builds", no empty data/<split> folders, no temporary folder


def test_wrong_dataset_for_the_reader(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = user_error(["convert", "sgd", str(demo_dir() / "dailydialog"), "--out", str(tmp_path / "o.parquet")], capsys)
    assert "no dialogues_*.json files in this folder" in line and "mmdial sources" in line
    assert _tree(tmp_path) == {}


def test_not_a_unified_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    line = user_error(["stats", str(bad)], capsys)
    assert line.startswith(f"mmdial: error: {bad}: not a readable Parquet file")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text("{}\n")
    f.chmod(0)
    try:
        line = user_error(["stats", str(f)], capsys)
    finally:
        f.chmod(0o644)
    assert f"{f}: permission denied; check its permissions" in line


# --- missing extras ----------------------------------------------------------------------------------------------


def test_missing_langdetect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "langdetect", None)  # import langdetect -> ImportError
    recipe = _photochat_recipe(tmp_path, "filters:\n  languages: [en]\n")
    before = _tree(tmp_path)
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert line == (
        'mmdial: error: the recipe filter "languages" needs langdetect, which is not installed; '
        'pip install "mmdial-data[lang]"'
    )
    assert _tree(tmp_path) == before


def test_missing_datasets(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "d.jsonl"
    assert main(["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(data)]) == 0
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, "datasets", None)
    before = _tree(tmp_path)
    line = user_error(["export", "hf", str(tmp_path / "hf"), "--data", str(data)], capsys)
    assert 'needs datasets, which is not installed; pip install "mmdial-data[hf]"' in line
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (  # what mmdial_retrieval's MissingExtraError says when torch is missing
            ImportError('torch is needed here: pip install "mmdial-retrieval[offline]"'),
            'mmdial: error: torch is needed here; pip install "mmdial-retrieval[offline]"',
        ),
        (
            ModuleNotFoundError("No module named 'torch'", name="torch"),
            "mmdial: error: torch is not installed (No module named 'torch'); pip install torch (or the package "
            "extra that provides it)",
        ),
    ],
)
def test_missing_module_in_a_sub_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, exc: ImportError, expected: str
) -> None:
    """Sub-commands of other packages run through the same main: a missing optional module is one line too."""

    def handler(args: object) -> int:
        raise exc

    monkeypatch.setattr(cli, "_cmd_sources", handler)
    assert user_error(["sources"], capsys) == expected


# --- outputs -----------------------------------------------------------------------------------------------------


def _out_under_a_file(tmp_path: Path, name: str) -> Path:
    (tmp_path / "file").write_text("a regular file")
    return tmp_path / "file" / name  # cannot be created, whoever runs the test (root included)


@pytest.mark.parametrize(
    "command",
    [
        lambda out, data: ["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(out)],
        lambda out, data: ["build", str(DEMO_RECIPE), "--out", str(out)],
        lambda out, data: ["export", "instructions", str(out), "--data", str(data)],
        lambda out, data: ["export", "hf", str(out), "--data", str(data)],
    ],
    ids=["convert", "build", "export-instructions", "export-hf"],
)
def test_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Callable[[Path, Path], list[str]]
) -> None:
    data = tmp_path / "d.jsonl"
    assert main(["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(data)]) == 0
    capsys.readouterr()
    out = _out_under_a_file(tmp_path, "out.parquet")
    before = _tree(tmp_path)
    line = user_error(command(out, data), capsys)
    assert line == (
        f"mmdial: error: {out}: cannot create it: {tmp_path / 'file'} is a file, not a folder; choose another path"
    )
    assert _tree(tmp_path) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        line = user_error(
            ["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(ro / "o.parquet")], capsys
        )
        assert f"{ro / 'o.parquet'}: permission denied; check its permissions" in line  # not the temporary name
        line = user_error(["build", str(DEMO_RECIPE), "--out", str(ro / "b")], capsys)
        assert f"{ro / 'b'}: permission denied" in line
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_permission_denied_names_the_output_not_its_temporary_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only folder does for any user (root included, simulated): the temporary name stays hidden."""
    import mmdial_data.outputs as outputs

    def denied(*, prefix: str, suffix: str, dir: Path) -> str:
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}abc123{suffix}"))

    monkeypatch.setattr(
        outputs.tempfile, "mkstemp", lambda prefix, suffix, dir: denied(prefix=prefix, suffix=suffix, dir=dir)
    )
    monkeypatch.setattr(
        outputs.tempfile, "mkdtemp", lambda prefix, suffix, dir: denied(prefix=prefix, suffix=suffix, dir=dir)
    )
    out = tmp_path / "new" / "o.parquet"
    line = user_error(["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(out)], capsys)
    assert line == f"mmdial: error: {out}: permission denied; check its permissions, or choose another location"
    line = user_error(["export", "instructions", str(tmp_path / "i"), "--data", str(DEMO_RECIPE)], capsys)
    assert line.startswith(f"mmdial: error: {tmp_path / 'i'}: permission denied; ")
    assert _tree(tmp_path) == {}  # not even the "new" folder


def test_convert_out_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.parquet").mkdir()
    line = user_error(
        ["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(tmp_path / "x.parquet")], capsys
    )
    assert line == f"mmdial: error: {tmp_path / 'x.parquet'}: is a folder; name the output file (.parquet or .jsonl)"
    assert _tree(tmp_path) == {"x.parquet": None}


def test_build_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "b").write_text("keep me")
    line = user_error(["build", str(DEMO_RECIPE), "--out", str(tmp_path / "b")], capsys)
    assert "is a file, not a folder" in line
    assert (tmp_path / "b").read_text() == "keep me"


def test_existing_outputs_need_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pc = str(demo_dir() / "photochat")
    convert = ["convert", "dailydialog", str(demo_dir() / "dailydialog"), "--out", str(tmp_path / "c.parquet")]
    build = ["build", str(DEMO_RECIPE), "--out", str(tmp_path / "b")]
    export = ["export", "instructions", str(tmp_path / "i"), "--data", str(tmp_path / "c.parquet")]
    for args in (convert, build, export):
        assert main(args) == 0
    capsys.readouterr()
    before = _tree(tmp_path)
    user_error(["convert", "photochat", pc, "--out", str(tmp_path / "c.parquet")], capsys, contains="--overwrite")
    user_error(build, capsys, contains=f"{tmp_path / 'b'}: already exists; pass --overwrite")
    user_error(export, capsys, contains=f"{tmp_path / 'i'}: already exists; pass --overwrite")
    assert _tree(tmp_path) == before
    assert main(["convert", "photochat", pc, "--out", str(tmp_path / "c.parquet"), "--overwrite"]) == 0
    assert main([*build, "--overwrite"]) == 0 and main([*export, "--overwrite"]) == 0
    assert "wrote 2 dialogues" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c.parquet", "i"]  # no temporary or old copies


def test_failed_build_over_an_existing_one_leaves_it_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", str(DEMO_RECIPE), "--out", str(tmp_path / "b")]) == 0
    before = _tree(tmp_path)
    recipe = _recipe(
        tmp_path, f"name: bad\nsources:\n  - reader: dailydialog\n    paths: [{broken_dailydialog(tmp_path)}]\n"
    )
    capsys.readouterr()
    user_error(["build", str(recipe), "--out", str(tmp_path / "b"), "--overwrite"], capsys, contains=":line 2: ")
    after = _tree(tmp_path)
    assert {k: v for k, v in after.items() if k.startswith("b")} == before


# --- splits and empty outputs ------------------------------------------------------------------------------------


def test_unknown_split_in_a_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = _photochat_recipe(tmp_path, "splits: {train: 0.9, bogus: 0.1}\n")
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert "unknown split 'bogus'; use one of train, validation, test, full, validation_freq" in line
    assert "(aliases: dev, val, valid, validate, ...)" in line
    assert not (tmp_path / "b").exists()
    recipe = _recipe(
        tmp_path, "name: x\nsources:\n  - reader: photochat\n    paths: [x]\n    split: nosuch\n", "r2.yaml"
    )
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert "recipe.sources[0].split: unknown split 'nosuch'; use one of train, validation, test," in line


def test_split_fractions_must_sum_to_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = _photochat_recipe(tmp_path, "splits: {train: 0.8, valid: 0.3, test: 0.3}\n")
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert "recipe.splits: fractions must sum to 1, got 1.4 (train: 0.8, validation: 0.3, test: 0.3)" in line
    assert not (tmp_path / "b").exists()
    recipe = _photochat_recipe(tmp_path, "splits: {train: 0.8, valid: 0.1, dev: 0.1}\n")  # two names of one split
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert "recipe.splits: 'dev' names the split 'validation' twice; give it one fraction" in line


def test_unknown_split_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(tmp_path / "o.parquet")]
    line = user_error([*args, "--split", "nosuchsplit"], capsys)
    assert "argument --split: unknown split 'nosuchsplit'; use one of train, validation, test, full," in line
    assert main([*args, "--split", "dev"]) == 0
    assert {d.split for d in read_dialogues(tmp_path / "o.parquet")} == {"validation"}  # the alias, canonical


def test_empty_convert_needs_allow_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "in"
    broken.mkdir()
    (broken / "train_00.json").write_text(json.dumps([{"dialogue": []}]))  # one bad item, skipped
    args = ["convert", "photochat", str(broken), "--out", str(tmp_path / "o.jsonl"), "--on-error", "skip"]
    line = user_error(args, capsys)
    assert f"{broken}: no dialogues read by reader 'photochat' (1 records skipped)" in line
    assert "--allow-empty" in line and not (tmp_path / "o.jsonl").exists()
    assert main([*args, "--allow-empty"]) == 0
    assert (tmp_path / "o.jsonl").read_text() == ""


def test_empty_build_needs_allow_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = _photochat_recipe(tmp_path, "filters:\n  min_turns: 1000\n")
    line = user_error(["build", str(recipe), "--out", str(tmp_path / "b")], capsys)
    assert f"{recipe}: the recipe yields no dialogues" in line and "--allow-empty" in line
    assert not (tmp_path / "b").exists()
    assert main(["build", str(recipe), "--out", str(tmp_path / "b"), "--allow-empty"]) == 0
    assert "built 0 dialogues" in capsys.readouterr().out and (tmp_path / "b" / "card.md").exists()


# --- debug, bugs, pipes ------------------------------------------------------------------------------------------


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        main(["--debug", "build", str(tmp_path / "r.yaml"), "--out", str(tmp_path / "b")])


def test_unexpected_error_is_one_line_with_status_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def handler(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_cmd_sources", handler)
    assert main(["sources"]) == 1
    err = capsys.readouterr().err
    assert (
        err == "mmdial: error: internal error: RuntimeError: boom; this is a bug: rerun with --debug for the "
        "traceback and report it\n"
    )


@pytest.mark.parametrize("command", [["sources"], ["show", "__FILE__", "--id", "photochat/train/train_00/0"]])
def test_closed_pipe_exits_quietly(tmp_path: Path, command: list[str]) -> None:
    """``mmdial ... | head -1``: the reader is gone before the command writes; no traceback, status 141."""
    data = tmp_path / "d.jsonl"
    assert main(["convert", "photochat", str(demo_dir() / "photochat"), "--out", str(data)]) == 0
    args = [str(data) if a == "__FILE__" else a for a in command]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmdial_data.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `head` exits (or `true` never reads)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == BROKEN_PIPE_STATUS and err == ""
