"""Chunked, resumable storage of per-utterance rows: one Parquet file per chunk of dialogues, written
atomically, plus a manifest that ties the folder to one config fingerprint.

A restart skips every chunk whose file exists and redoes only the rest; a config change is an error
instead of a silent mix of two runs.

Example:
    >>> import tempfile
    >>> store = ChunkStore(tempfile.mkdtemp(), fingerprint="abc")
    >>> store.open(n_chunks=2)
    >>> store.done(0)
    False
    >>> store.write(0, {"x": [1, 2]})
    >>> store.done(0), store.read_all()["x"]
    (True, [1, 2])
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mmdial_augment.io_utils import atomic_write, atomic_write_text


class ResumeMismatchError(ValueError):
    """The output folder holds chunks of a run with another configuration."""


class ChunkStore:
    """Chunk files ``chunks/chunk-00000.parquet`` under ``root`` with ``manifest.json``."""

    def __init__(self, root: str | os.PathLike[str], fingerprint: str) -> None:
        self.root = Path(root)
        self.fingerprint = fingerprint
        self.dir = self.root / "chunks"

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def open(self, n_chunks: int, *, overwrite: bool = False) -> None:
        """Create or check the manifest (ResumeMismatchError when it belongs to another config)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.manifest_path.is_file() and not overwrite:
            old = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if old.get("fingerprint") != self.fingerprint or old.get("n_chunks") != n_chunks:
                raise ResumeMismatchError(
                    f"{self.root}: holds a run with another config (fingerprint {old.get('fingerprint')}, "
                    f"{old.get('n_chunks')} chunks; now {self.fingerprint}, {n_chunks}); use a new output_dir "
                    "or overwrite"
                )
        elif overwrite:
            for f in self.dir.glob("chunk-*.parquet"):
                f.unlink()
        atomic_write_text(self.manifest_path, json.dumps({"fingerprint": self.fingerprint, "n_chunks": n_chunks}))

    def path(self, k: int) -> Path:
        return self.dir / f"chunk-{k:05d}.parquet"

    def done(self, k: int) -> bool:
        """Whether chunk ``k`` is finished."""
        return self.path(k).is_file()

    def write(self, k: int, columns: dict[str, list[Any]]) -> None:
        """Write chunk ``k`` atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(columns) if columns else pa.table({})
        atomic_write(self.path(k), lambda tmp: pq.write_table(table, tmp))

    def read_all(self) -> dict[str, list[Any]]:
        """Concatenate every finished chunk, in chunk order."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = [pq.read_table(p) for p in sorted(self.dir.glob("chunk-*.parquet"))]
        tables = [t for t in tables if t.num_columns]
        if not tables:
            return {}
        return pa.concat_tables(tables, promote_options="default").to_pydict()
