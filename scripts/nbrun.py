"""Execute the jupytext notebooks in notebooks/ with parameters and export each as HTML.

Used by `nox -s notebooks`, the demo pipeline and the notebook tests. A notebook's `parameters` cell
(tagged `parameters`, papermill's convention) is followed by an injected cell with the overrides.

    python scripts/nbrun.py [--out reports] [--param key=value ...] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def notebook_paths() -> list[Path]:
    """The pipeline notebooks, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def execute_notebook(
    path: Path, out_dir: Path, parameters: dict[str, Any] | None = None, timeout: int = 1800
) -> dict[str, Any]:
    """Run one notebook (cwd = notebooks/), write ``<out_dir>/<name>.html`` and return its recorded values.

    The notebook gets ``out_dir=<out_dir>/<name>`` unless overridden, and must write ``values.json`` there.
    """
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    name = path.stem
    params = {"out_dir": str((out_dir / name).resolve()), **(parameters or {})}
    nb = jupytext.read(path)
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise ValueError(f"{path}: no cell tagged 'parameters'")
    source = "# Injected parameters\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    started = time.perf_counter()
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        (out_dir / f"{name}.html").write_text(html, encoding="utf-8")
    values_file = Path(params["out_dir"]) / "values.json"
    values: dict[str, Any] = json.loads(values_file.read_text()) if values_file.exists() else {}
    values["_seconds"] = round(time.perf_counter() - started, 2)
    return values


def _parse_param(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--param", action="append", default=[], help="key=value (Python literal), all notebooks")
    args = parser.parse_args(argv)
    params = dict(_parse_param(p) for p in args.param)
    for path in args.notebooks or notebook_paths():
        values = execute_notebook(path, args.out, params)
        print(f"{path.name}: {json.dumps(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
