"""The demo pipeline, the README's main command (`nox -s demo`).

Offline, on the data the project ships or installs, it executes the pipeline notebooks in order
(unify -> image pool and retrieval -> IMAD augmentation -> ReSee fusion -> evaluation) with their default
parameters, then writes ``reports/index.html`` linking each executed notebook as HTML, the figures, the
held-out loss per system with bootstrap intervals and the paired differences outside noise (notebook 04), the
metrics table with intervals (notebook 05), and ``reports/provenance.json`` (versions, seeds, git hash,
timings per stage, and every notebook's recorded values, its settings included).
Caches live in ``datasets/cache``, so a second run reuses embeddings, indexes and checkpoints.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nbrun import execute_notebook, notebook_paths  # noqa: E402


def write_index(out: Path, results: dict[str, dict[str, Any]], record: dict[str, Any]) -> Path:
    """Write reports/index.html: notebooks, figures, the metrics table and provenance."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>mmdial demo report</title>"
        "<link rel='icon' href='data:,'>",
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:440px;margin:6px;border:1px solid #ddd}"
        "</style></head><body>",
        "<h1>mmdial demo report</h1>",
        f"<p>git {html.escape(str(record['git'].get('commit')))} · total "
        f"{record['timings_s'].get('total', 0):.1f} s · <a href='provenance.json'>provenance.json</a></p>",
        "<h2>Notebooks</h2><ol>",
    ]
    for name, values in results.items():
        seconds = values.get("_seconds", 0)
        parts.append(f"<li><a href='{html.escape(name)}.html'>{html.escape(name)}</a> ({seconds:.1f} s)</li>")
    parts.append("</ol>")
    fusion = next((v for v in results.values() if v.get("held_out_loss")), {})
    if fusion:
        parts += _held_out_loss_section(fusion)
    source: dict[str, Any] = next((v for v in reversed(list(results.values())) if v.get("metrics_table")), {})
    metrics = source.get("metrics_table")
    if metrics:
        parts.append("<h2>Metrics</h2>")
        n = source.get("targets") or (source.get("samples") or {}).get("test")
        if n is not None:  # the reader must see how many responses each number rests on
            parts.append(
                f"<p>Scores over n = {int(n)} held-out responses (each system scores the same ones), with "
                f"bootstrap 95% intervals [low, high] ({html.escape(str(source.get('n_bootstrap', '')))} resamples)."
                "</p>"
            )
        parts.append(_table(metrics))
        signatures = source.get("signatures") or {}
        if signatures:  # what each number is (smoothing included), so it can be reproduced
            parts.append("<details><summary>Metric variants (mmdial-metrics signatures)</summary><ul>")
            parts += [f"<li>{html.escape(k)}: <code>{html.escape(str(v))}</code></li>" for k, v in signatures.items()]
            parts.append("</ul></details>")
    parts.append("<h2>Figures</h2>")
    for name in results:
        figures = sorted((out / name).glob("*.png"))
        if figures:
            parts.append(f"<h3>{html.escape(name)}</h3>")
            parts += [
                f"<a href='{name}/{f.name}'><img src='{name}/{f.name}' alt='{html.escape(f.stem)}'></a>"
                for f in figures
            ]
    parts.append("</body></html>")
    index = out / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _table(rows: list[dict[str, Any]]) -> str:
    """An HTML table of flat rows; a column ``x`` with ``x_low``/``x_high`` beside it shows ``x [low, high]``."""
    keys = list(rows[0])
    cols = [k for k in keys if not (k.endswith(("_low", "_high")) and k.rsplit("_", 1)[0] in keys)]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols) + "</tr>"]
    for row in rows:
        cells = []
        for c in cols:
            low, high = row.get(f"{c}_low"), row.get(f"{c}_high")
            text = _cell(row[c])
            if isinstance(low, float) and isinstance(high, float):
                text += f" [{low:.4f}, {high:.4f}]"
            cells.append(f"<td>{text}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _held_out_loss_section(fusion: dict[str, Any]) -> list[str]:
    """Notebook 04's held-out loss per system with its interval, and the paired differences outside noise."""
    losses: dict[str, dict[str, Any]] = fusion["held_out_loss"]
    first = next(iter(losses.values()))
    parts = [
        "<h2>Held-out loss</h2>",
        f"<p>Token-weighted response cross-entropy (nats per token) of n = {int(first['n'])} held-out responses "
        f"({int(first['tokens'])} tokens), one per held-out dialogue; {html.escape(str(first['method']))}, "
        f"{int(first['n_bootstrap'])} resamples, 95% intervals.</p>",
        _table(
            [
                {"system": k, "n": v["n"], "loss": v["loss"], "loss_low": v["low"], "loss_high": v["high"]}
                for k, v in losses.items()
            ]
        ),
    ]
    differences = fusion.get("differences") or []
    if differences:
        parts.append(
            "<h3>Paired differences</h3><p>Loss of a minus loss of b on the same resampled responses (negative: a "
            "is better). Outside noise: the 95% interval excludes 0.</p>"
        )
        rows = [
            {
                "a": d["a"],
                "b": d["b"],
                "difference": d["difference"],
                "difference_low": d["low"],
                "difference_high": d["high"],
                "outside noise": "yes" if d["outside_noise"] else "no",
            }
            for d in differences
        ]
        parts.append(_table(rows))
    return parts


def pipeline_parameters(out: Path, cache_dir: Path) -> dict[str, Any]:
    """The parameters that chain the notebooks: each reads what the previous ones wrote under ``out``."""
    return {
        "cache_dir": str(cache_dir.resolve()),
        "dataset": str((out / "01_unify_datasets" / "dataset" / "data").resolve()),
        "experiment_dataset": str((out / "01_unify_datasets" / "experiment" / "data").resolve()),
        "fusion_dir": str((out / "04_resee_fusion").resolve()),
    }


def run(
    out: Path,
    parameters: dict[str, Any] | None = None,
    notebooks: list[Path] | None = None,
    cache_dir: Path = ROOT / "datasets" / "cache" / "demo",
) -> Path:
    """Run the pipeline notebooks into ``out`` and write the index; returns the index path."""
    from mmdial_data.provenance import provenance

    out.mkdir(parents=True, exist_ok=True)
    parameters = {**pipeline_parameters(out, cache_dir), **(parameters or {})}
    results: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    start = time.perf_counter()
    paths = notebooks or notebook_paths()
    for i, path in enumerate(paths, start=1):
        print(f"[{i}/{len(paths)}] {path.stem} ...", flush=True)
        t0 = time.perf_counter()
        results[path.stem] = execute_notebook(path, out, parameters)
        timings[path.stem] = round(time.perf_counter() - t0, 2)
        print(f"[{i}/{len(paths)}] {path.stem} done in {timings[path.stem]:.1f} s", flush=True)
    timings["total"] = round(time.perf_counter() - start, 2)
    record = provenance(
        config={"notebooks": [p.name for p in paths], "parameters": parameters or {}},
        seed=0,
        extra={"timings_s": timings, "values": results},
    )
    (out / "provenance.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    index = write_index(out, results, record)
    print(f"report: {index} (total {timings['total']:.1f} s)")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="report folder (default reports/)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "datasets" / "cache" / "demo",
        help="cache folder for pools, embeddings, indexes and checkpoints",
    )
    args = parser.parse_args(argv)
    run(args.out, cache_dir=args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
