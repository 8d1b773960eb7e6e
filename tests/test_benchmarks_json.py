"""Every benchmark takes ``--json`` (a flag: print one JSON object as the last line), the idiom of
``benchmarks/jsonline.py``; running them is a measurement, not a test, so only their command line is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
#: Scripts in benchmarks/ that are not benchmarks a user runs: the scale benchmark's child process, whose one JSON
#: line bench_scale.py merges into its own.
CHILDREN = {"bench_scale_limited.py"}
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py") if p.name not in CHILDREN)


def test_every_benchmark_is_listed() -> None:
    assert len(SCRIPTS) >= 12 and "bench_stage2.py" in SCRIPTS and "bench_index_compressed.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_takes_json_as_a_flag(script: str) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"], capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    usage = " ".join(out.stdout.split())
    assert "[--json]" in usage, f"{script}: --json must be a flag (no value): {usage[:300]}"


def test_jsonline_emits_one_line_with_the_machine(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from jsonline import emit
    finally:
        sys.path.remove(str(BENCHMARKS))
    record = emit("demo", {"ratio": 2.5})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == record
    assert record["benchmark"] == "demo" and record["ratio"] == 2.5
    assert set(record["machine"]) == {"cpus", "processor", "machine", "python", "commit"}
    assert isinstance(record["machine"]["cpus"], int) and record["machine"]["commit"]
