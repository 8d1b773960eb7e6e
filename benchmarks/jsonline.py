"""The line every benchmark ends with under ``--json``: one JSON object holding its figures, ratios and machine.

Each ``benchmarks/bench_*.py`` takes ``--json`` (:func:`add_json_flag`) and, with it, prints
``json.dumps({...figures..., "machine": machine()})`` as its last line (:func:`emit`), so two runs can be put
side by side with ``tail -1``. ``machine()`` records what changes a timing: the CPU count, the processor, the
Python and the git commit (``+dirty`` when the working tree differs from it); :func:`rss_mib` reads the
process's resident memory (now or its peak) for benchmarks that report memory.

    >>> from jsonline import machine
    >>> sorted(machine())
    ['commit', 'cpus', 'machine', 'processor', 'python']
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def commit() -> str:
    """The checkout's commit, ``+dirty`` appended when tracked files differ from it; ``unknown`` outside git."""
    head = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return head + ("+dirty" if dirty else "")


def _processor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """``{"cpus", "processor", "machine", "python", "commit"}`` of the machine and checkout running the benchmark."""
    return {
        "cpus": os.cpu_count(),
        "processor": _processor(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "commit": commit(),
    }


def rss_mib(*, peak: bool = False) -> float:
    """This process's resident set size in MiB (``peak``: its high-water mark); NaN where ``/proc`` is absent."""
    key = "VmHWM:" if peak else "VmRSS:"
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (print one JSON object as the last line) to a benchmark's parser."""
    parser.add_argument("--json", action="store_true", help="print one JSON object (figures, machine) last")


def emit(benchmark: str, figures: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    """Print ``{"benchmark": name, **figures, "machine": machine()}`` on one line when ``enabled``; return it."""
    record = {"benchmark": benchmark, **figures, "machine": machine()}
    if enabled:
        print(json.dumps(record, default=str), flush=True)
    return record
