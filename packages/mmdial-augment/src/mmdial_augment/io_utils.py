"""Atomic file writes (temp file + rename), so an interrupted run never leaves a half-written output.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(d / "a.json", "{}")
    >>> (d / "a.json").read_text()
    '{}'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write(path: str | os.PathLike[str], write: Callable[[str], Any]) -> None:
    """Call ``write(tmp_path)`` then rename the temp file onto ``path`` (:func:`mmdial_data.outputs.atomic_path`)."""
    from mmdial_data.outputs import atomic_path

    with atomic_path(path) as tmp:
        write(str(tmp))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_save_npy(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Save a ``.npy`` array atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array)

    atomic_write(path, write)
