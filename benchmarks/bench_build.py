"""Benchmark: converting >= 100,000 dialogues to the unified Parquet format, with flat memory.

Input: the PhotoChat sample (``$MMDIAL_SAMPLES/photochat``, or the demo file when absent) replicated with new
``dialogue_id`` values into JSON-list files of 10,000 dialogues (the release layout). Each way runs in
its own process (peak RSS = that process's ``ru_maxrss``), on the same files:

- ``mmdial``: ``build_dataset`` (``photochat`` reader, validation, filters, Parquet shards, card with two plots,
  input and output hashes). Each file (~20 MB, under ``MMDIAL_TYPED_JSON_MB``) holds exactly the release's four
  fields, so ``pyarrow.json`` decodes it whole into Arrow columns on a thread, one file ahead of the build (a
  file it refuses would go to msgspec's typed records, then to the generic path); the PhotoChat reader's
  columnar path turns each batch of 2,048 items into one unified Arrow table (the builder validates, filters
  and counts it vectorized; the same bytes as the one-by-one path), and Parquet row groups are encoded on a
  background thread.
  On machines with 4+ CPUs, files of a source over ``MMDIAL_READ_AHEAD_MB`` (64 MB; the 100k input, not the 10k
  one) are read in a child process while the builder validates and writes (:mod:`mmdial_data.read_ahead`);
- ``mmdial-ahead``: the same with read-ahead forced on (``read_ahead=True``, whatever the CPU count and size);
- ``mmdial-here``: the same, read in the build's own process (``read_ahead=False``);
- ``mmdial-ijson``: the generic JSON path instead of the Arrow/typed ones (``MMDIAL_TYPED_JSON_MB=0``,
  ``MMDIAL_WHOLE_FILE_JSON_MB=0``: every file parsed incrementally by ijson into dicts);
- ``naive``: ``json.load`` of every file, one Python dict per turn, ``pandas.DataFrame(...).to_parquet``;
- ``datasets``: ``datasets.load_dataset("json", data_files=...)`` (Arrow conversion into a fresh cache).

Besides wall seconds, each row has the child's CPU seconds (user + sys, all threads and its own child
processes; the machine may be shared), the peak RSS of the read-ahead child (from ``os.wait4``) beside the
builder's (the two add up), and, for
mmdial, the seconds spent on the card's two plots (SVG written directly: a small fixed cost per build) and the
rate without them. CPU seconds include the child's interpreter start-up and imports.

Run: ``python benchmarks/bench_build.py`` (``--sizes 10000 100000``). Prints a table and writes
``reports/bench_build.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from jsonline import add_json_flag, emit

ROOT = Path(__file__).resolve().parents[1]


def make_input(n: int, out: Path, per_file: int = 10_000) -> list[Path]:
    samples = Path(os.environ.get("MMDIAL_SAMPLES", ROOT.parent / "shared" / "datasets" / "samples"))
    src = samples / "photochat" / "test" / "test_00.json"
    if not src.exists():
        src = ROOT / "datasets" / "demo" / "photochat" / "train" / "train_00.json"
    base = json.loads(src.read_text())
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for f in range((n + per_file - 1) // per_file):
        items = []
        for i in range(f * per_file, min(n, (f + 1) * per_file)):
            item = dict(base[i % len(base)])
            item["dialogue_id"] = i
            items.append(item)
        path = out / "train" / f"train_{f:03d}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(items, indent=2, sort_keys=True))
        files.append(path)
    return files


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
method, inp, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
files = sorted((inp / "train").glob("*.json"))
t = time.perf_counter()
plot_s = 0.0
child_rss = [0.0]
if method.startswith("mmdial"):
    import os
    if method == "mmdial-ijson":
        os.environ["MMDIAL_WHOLE_FILE_JSON_MB"] = "0"
        os.environ["MMDIAL_TYPED_JSON_MB"] = "0"
    read_ahead = {"mmdial-here": False, "mmdial-ahead": True}.get(method)
    import subprocess
    import mmdial_data.read_ahead as ra

    class MeasuredPopen(subprocess.Popen):  # the read-ahead child's own peak RSS (os.wait4's rusage)
        def _try_wait(self, wait_flags):
            pid, status, usage = os.wait4(self.pid, wait_flags)
            if pid:
                child_rss.append(usage.ru_maxrss / 1024)
            return pid, status

    ra.subprocess = type("Subprocess", (), {"Popen": MeasuredPopen, "PIPE": subprocess.PIPE})
    from mmdial_data import build_dataset
    import mmdial_data.card as card
    def timed(fn):
        def wrapper(*a, **k):
            global plot_s
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                plot_s += time.perf_counter() - t0
        return wrapper
    card.write_turn_length_plot = timed(card.write_turn_length_plot)
    card.write_dialogue_length_plot = timed(card.write_dialogue_length_plot)
    recipe = out / "recipe.yaml"
    out.mkdir(parents=True, exist_ok=True)
    src = f"sources:\n  - reader: photochat\n    paths: [{inp / 'train'}]\n"
    recipe.write_text("name: bench\nshard_size: 10000\n" + src)
    n = build_dataset(recipe, out / "build", progress=False, read_ahead=read_ahead).dialogues
elif method == "naive":
    import pandas as pd
    rows = []
    n = 0
    for f in files:
        for d in json.load(open(f)):
            n += 1
            for i, turn in enumerate(d["dialogue"]):
                rows.append({"dialogue_id": f"photochat/train/{f.stem}/{d['dialogue_id']}", "turn_index": i,
                             "speaker": str(turn["user_id"]), "text": turn["message"],
                             "share_photo": turn["share_photo"], "photo_url": d["photo_url"],
                             "photo_description": d["photo_description"]})
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(out / "naive.parquet")
elif method == "datasets":
    import datasets
    datasets.disable_progress_bars()
    ds = datasets.load_dataset("json", data_files=[str(f) for f in files], cache_dir=str(out / "cache"), split="train")
    n = len(ds)
dt = time.perf_counter() - t
ru, rc = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"method": method, "dialogues": n, "seconds": dt,
                  "cpu_seconds": ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime, "plot_seconds": plot_s,
                  "peak_rss_mb": ru.ru_maxrss / 1024, "child_peak_rss_mb": max(child_rss)}))
"""


def run(method: str, inp: Path, work: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, method, str(inp), str(work / method)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    methods = ["mmdial", "mmdial-here", "mmdial-ahead", "mmdial-ijson", "naive", "datasets"]
    parser.add_argument("--methods", nargs="+", default=methods)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "bench_build.json")
    add_json_flag(parser)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="mmdial-bench-") as tmp:
        for n in args.sizes:
            inp = Path(tmp) / f"in{n}"
            make_input(n, inp)
            for method in args.methods:
                r = run(method, inp, Path(tmp) / f"out{n}")
                r["rate"] = r["dialogues"] / r["seconds"]
                r["rate_without_plots"] = r["dialogues"] / (r["seconds"] - r["plot_seconds"])
                results.append({"size": n, **r})
                print(
                    f"{n:>7} {method:<12} {r['dialogues']:>7} dlg {r['seconds']:7.2f} s "
                    f"{r['rate']:9.0f} dlg/s ({r['rate_without_plots']:6.0f} w/o plots)  "
                    f"cpu {r['cpu_seconds']:6.2f} s  plots {r['plot_seconds']:5.2f} s  "
                    f"peak RSS {r['peak_rss_mb']:5.0f} MB (+ child {r['child_peak_rss_mb']:4.0f} MB)",
                    flush=True,
                )
    for n in args.sizes:
        by = {r["method"]: r for r in results if r["size"] == n}
        for ours in ("mmdial", "mmdial-here", "mmdial-ahead", "mmdial-ijson"):
            for ref in ("naive", "datasets"):
                if ours in by and ref in by:
                    a, b = by[ours], by[ref]
                    print(
                        f"{n}: {ours}/{ref} throughput {a['rate'] / b['rate']:.2f}x (wall), "
                        f"{b['cpu_seconds'] / a['cpu_seconds']:.2f}x (cpu), "
                        f"RSS {a['peak_rss_mb']:.0f} (+ child {a['child_peak_rss_mb']:.0f}) "
                        f"vs {b['peak_rss_mb']:.0f} MB"
                    )
    ratios = {
        f"{n}:{ours}/{ref}": by[ours]["rate"] / by[ref]["rate"]
        for n in args.sizes
        if (by := {r["method"]: r for r in results if r["size"] == n})
        for ours in ("mmdial", "mmdial-here", "mmdial-ahead", "mmdial-ijson")
        for ref in ("naive", "datasets")
        if ours in by and ref in by
    }
    record = emit("build", {"results": results, "throughput_ratios": ratios}, enabled=args.json)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
