"""Test helpers shared by the mmdial packages: the real dataset samples and the shipped demo inputs.

Example:
    >>> (demo_dir() / "dailydialog").is_dir()
    True
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path | None:
    """The monorepo checkout this package is installed from (editable), or None."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "datasets" / "demo").is_dir() and (parent / "packages").is_dir():
            return parent
    cwd = Path.cwd()
    for parent in [cwd, *cwd.parents]:
        if (parent / "datasets" / "demo").is_dir() and (parent / "packages").is_dir():
            return parent
    return None


def demo_dir() -> Path:
    """``datasets/demo`` of the checkout: small inputs in each source format, written by hand for the project."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError("datasets/demo not found: run from an mmdial checkout")
    return root / "datasets" / "demo"


def samples_dir(dataset: str | None = None) -> Path:
    """The real dataset samples (``MMDIAL_SAMPLES``, default ``../shared/datasets/samples`` of the checkout).

    In a pytest run, a missing folder skips the test, except under ``CI=true`` where it fails.
    """
    env = os.environ.get("MMDIAL_SAMPLES")
    if env:
        base = Path(env)
    else:
        root = repo_root() or Path.cwd()
        base = root.parent / "shared" / "datasets" / "samples"
    path = base / dataset if dataset else base
    if not path.exists():
        import pytest

        message = f"real dataset samples not found at {path} (set MMDIAL_SAMPLES)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
