"""The mmdial CLI: commands, output, and exit status 2 with one line on bad usage or input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmdial_data.cli import main
from mmdial_data.testing import demo_dir, repo_root


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_sources_lists_readers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sources"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"sgd", "dailydialog", "personachat"} <= set(names)
    assert all(len(line.split(None, 1)) == 2 for line in out.splitlines())


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_convert_stats_show(tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str) -> None:
    out_file = tmp_path / f"dd{suffix}"
    code, out, _ = run(["convert", "dailydialog", str(demo_dir() / "dailydialog"), "--out", str(out_file)], capsys)
    assert code == 0 and "wrote 3 dialogues" in out
    code, out, _ = run(["stats", str(out_file), "--json"], capsys)
    stats = json.loads(out)
    assert stats["total"] == {"dialogues": 3, "turns": 12, "images": 0, "words": 118}
    assert stats["per_source"]["dailydialog"]["turns"] == 12
    code, out, _ = run(["stats", str(out_file)], capsys)
    assert code == 0 and out.splitlines()[-1].split()[:3] == ["total", "3", "12"]
    code, out, _ = run(["show", str(out_file), "--id", "dailydialog/train/2"], capsys)
    assert code == 0
    assert "[0] A (speaker_a): Excuse me , is this the way to the train station ?" in out


def test_build_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = Path(repo_root() or ".") / "datasets" / "recipes" / "demo.yaml"
    code, out, _ = run(["build", str(recipe), "--out", str(tmp_path)], capsys)
    assert code == 0 and "built 8 dialogues in 2 shards" in out


def test_build_read_ahead_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmdial_data.read_ahead as read_ahead

    children: list[Any] = []
    popen = read_ahead.subprocess.Popen
    monkeypatch.setattr(read_ahead.subprocess, "Popen", lambda *a, **k: children.append(popen(*a, **k)) or children[-1])
    recipe = Path(repo_root() or ".") / "datasets" / "recipes" / "demo.yaml"
    shards = {}
    for setting in ("on", "off"):
        code, out, _ = run(["build", str(recipe), "--out", str(tmp_path / setting), "--read-ahead", setting], capsys)
        assert code == 0 and "built 8 dialogues in 2 shards" in out
        shards[setting] = [p.read_bytes() for p in sorted((tmp_path / setting / "data").rglob("*.parquet"))]
        readers = [c for c in children if "mmdial_data.read_ahead" in c.args]
        assert len(readers) == 3  # "on": one child per source (three sources); "off": none more
    assert shards["on"] == shards["off"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["convert", "dailydialg", "x", "--out", "y.parquet"],
            "unknown reader 'dailydialg'; did you mean 'dailydialog'?",
        ),
        (["convert", "sgd", "/nonexistent/path", "--out", "y.parquet"], "/nonexistent/path: no such file"),
        (["convert", "sgd"], "the following arguments are required"),
        (["stats", "/nonexistent.parquet"], "/nonexistent.parquet: no such file"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["show", "__DEMO__", "--id", "nope"], "no dialogue with id 'nope'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    if "__DEMO__" in args:
        demo = tmp_path / "d.jsonl"
        main(["convert", "dailydialog", str(demo_dir() / "dailydialog"), "--out", str(demo)])
        capsys.readouterr()
        args = [str(demo) if a == "__DEMO__" else a for a in args]
    code, _, err = run(args, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("mmdial") and message in err


def test_bad_input_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "train"
    broken.mkdir()
    (broken / "dialogues_001.json").write_text('[{"dialogue_id": "1", "turns": [')
    code, _, err = run(["convert", "sgd", str(broken), "--out", str(tmp_path / "o.parquet")], capsys)
    assert code == 2 and "dialogues_001.json:line 1 column" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.parquet").exists()  # atomic: nothing half-written


def test_console_script_runs() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "mmdial_data.cli", "sources"], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0 and "personachat" in proc.stdout
