"""Repository rules: notebooks are jupytext .py files importing only public APIs; no .ipynb committed."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_no_ipynb_is_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=False)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout.split() == [], "commit notebooks as jupytext .py percent files only"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_format_and_public_imports(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "format_name: percent" in text and '# %% tags=["parameters"]' in text
    for node in ast.walk(ast.parse(text)):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        for module in modules:
            if module.startswith("mmdial_"):
                assert not any(part.startswith("_") for part in module.split(".")), f"private import {module}"


def test_pipeline_notebooks_are_all_there() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert names[:1] == ["01_unify_datasets"]
