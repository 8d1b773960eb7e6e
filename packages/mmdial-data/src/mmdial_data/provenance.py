"""Provenance records attached to every output: config, package versions, git hash, seed, input hashes.

Records are deterministic (no timestamps unless asked), so a rebuild gives byte-identical files.

Example:
    >>> rec = provenance(config={"seed": 0}, seed=0)
    >>> sorted(rec)
    ['config', 'git', 'python', 'seed', 'versions']
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: Distributions whose versions are recorded when installed.
TRACKED_DISTRIBUTIONS = (
    "mmdial-data",
    "mmdial-metrics",
    "mmdial-retrieval",
    "mmdial-augment",
    "mmdial-fusion",
    "pyarrow",
    "polars",
    "numpy",
    "torch",
    "open_clip_torch",
    "transformers",
    "faiss-cpu",
    "spacy",
)


def package_versions(names: Iterable[str] = TRACKED_DISTRIBUTIONS) -> dict[str, str]:
    """Versions of the installed distributions among ``names`` (missing ones are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_info(start: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``{"commit": <hash or None>, "dirty": bool}`` of the git checkout containing ``start`` (cwd by default)."""
    cwd = Path(start or Path.cwd())
    if cwd.is_file():
        cwd = cwd.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def provenance(
    *,
    config: Any = None,
    seed: int | None = None,
    inputs: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A provenance record: config, seed, package versions, Python, git commit, and input file hashes."""
    record: dict[str, Any] = {
        "config": config,
        "seed": seed,
        "versions": package_versions(),
        "python": platform.python_version(),
        "git": git_info(),
    }
    if inputs is not None:
        record["inputs"] = inputs
    if extra:
        record.update(extra)
    return record
