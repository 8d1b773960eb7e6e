"""The shard layout shared by every engine: ``OUT/part-00000.parquet``, one file per shard of items.

Items are cut into consecutive shards of ``shard_size``; shard ``i`` holds items ``[i*shard_size, (i+1)*shard_size)``
and its results go to ``OUT/part-{i:05d}.parquet`` (the naming of :mod:`mmdial_data.build`). Each file is written
atomically (temp file + rename) and carries, in its Parquet metadata, a digest of the job and of the items it was
computed from. A shard counts as done only when its file exists *and* its digest matches, so a re-run redoes
exactly the missing, stale or half-written shards: engines are resumable and idempotent by shard id.

Example:
    >>> import tempfile, pathlib, pyarrow as pa
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> plan = plan_shards(list(range(5)), shard_size=2, job_key="doc")
    >>> [(s.shard_id, s.items) for s in plan]
    [(0, [0, 1]), (1, [2, 3]), (2, [4])]
    >>> write_shard(out, plan[0], pa.table({"x": [0, 1]}))
    PosixPath('...part-00000.parquet')
    >>> [s.shard_id for s in pending_shards(out, plan)]
    [1, 2]
    >>> read_shards(out).column("x").to_pylist()
    [0, 1]
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.outputs import atomic_path

if TYPE_CHECKING:
    import pyarrow as pa

#: Metadata key holding a shard's digest (job key + pickled items).
DIGEST_KEY = b"mmdial.shard_digest"
#: Metadata key holding the shard id.
SHARD_ID_KEY = b"mmdial.shard_id"
#: The name of shard ``i``.
SHARD_PATTERN = "part-{:05d}.parquet"


@dataclass(frozen=True)
class Shard:
    """A unit of work: consecutive items with a stable id and a digest of (job, items)."""

    shard_id: int
    start: int
    items: list[Any]
    digest: str

    @property
    def name(self) -> str:
        """File name of this shard's output (``part-00003.parquet``)."""
        return SHARD_PATTERN.format(self.shard_id)


def shard_digest(job_key: str, items: Sequence[Any]) -> str:
    """SHA-256 (hex, 32 chars) of the job key and the pickled items: what a shard's output depends on.

    >>> shard_digest("a", [1, 2]) == shard_digest("a", [1, 2]) != shard_digest("b", [1, 2])
    True
    """
    h = hashlib.sha256(job_key.encode())
    h.update(pickle.dumps(list(items), protocol=5))
    return h.hexdigest()[:32]


def plan_shards(items: Iterable[Any], *, shard_size: int, job_key: str) -> list[Shard]:
    """Cut ``items`` into consecutive shards of ``shard_size`` (the last may be shorter)."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    items = list(items)
    shards = []
    for shard_id, start in enumerate(range(0, len(items), shard_size)):
        chunk = items[start : start + shard_size]
        shards.append(Shard(shard_id, start, chunk, shard_digest(job_key, chunk)))
    return shards


def shard_path(out_dir: str | os.PathLike[str], shard_id: int) -> Path:
    """``out_dir/part-{shard_id:05d}.parquet``."""
    return Path(out_dir) / SHARD_PATTERN.format(shard_id)


def stored_digest(path: Path) -> str | None:
    """The digest recorded in a shard file, or None when it is missing or unreadable (half-written, corrupt)."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError, Exception):  # pyarrow raises ArrowInvalid (a ValueError) and others
        return None
    value = meta.get(DIGEST_KEY)
    return value.decode() if value is not None else None


def is_done(out_dir: str | os.PathLike[str], shard: Shard) -> bool:
    """Whether ``shard``'s output exists and was computed from the same job and items."""
    path = shard_path(out_dir, shard.shard_id)
    return path.is_file() and stored_digest(path) == shard.digest


def pending_shards(out_dir: str | os.PathLike[str], shards: Iterable[Shard]) -> list[Shard]:
    """The shards whose outputs are missing or stale."""
    return [s for s in shards if not is_done(out_dir, s)]


def write_shard(out_dir: str | os.PathLike[str], shard: Shard, table: pa.Table) -> Path:
    """Write one shard's result atomically, with its digest and id in the file metadata. Returns the path.

    The temp file name is unique per writer, so two attempts at the same shard (a retried task next to a slow
    one) never clobber each other's partial output; the last rename wins and both carry identical content.
    """
    import pyarrow.parquet as pq

    path = shard_path(out_dir, shard.shard_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(table.schema.metadata or {})
    meta[DIGEST_KEY] = shard.digest.encode()
    meta[SHARD_ID_KEY] = str(shard.shard_id).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def remove_stale_temp_files(out_dir: str | os.PathLike[str]) -> int:
    """Delete temp files left by killed writers (``.part-*.partial``, formerly ``.part-*.tmp-*``); how many."""
    out = Path(out_dir)
    if not out.is_dir():
        return 0
    n = 0
    for p in sorted({*out.glob(".part-*.parquet.tmp-*"), *out.glob(".part-*.parquet.*.partial")}):
        p.unlink(missing_ok=True)
        n += 1
    return n


def shard_files(out_dir: str | os.PathLike[str]) -> list[Path]:
    """The shard files in ``out_dir``, in shard order (temp files are ignored)."""
    return sorted(Path(out_dir).glob("part-*.parquet"))


def read_shards(out_dir: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """All shards of ``out_dir`` as one table, in shard order (metadata of the shards is dropped).

    Raises:
        FileNotFoundError: ``out_dir`` holds no shard.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = shard_files(out_dir)
    if not files:
        raise FileNotFoundError(f"{out_dir}: no part-*.parquet shards")
    tables = [pq.read_table(f, columns=columns).replace_schema_metadata(None) for f in files]
    return pa.concat_tables(tables, promote_options="default")


def to_arrow(result: Any) -> pa.Table:
    """Normalize what a worker returns into an Arrow table.

    Accepted: a ``pyarrow.Table``/``RecordBatch``; a mapping of column name -> list or numpy array (2-D float
    arrays become fixed-size list columns, e.g. embeddings); a list of row dicts.

    >>> import numpy as np
    >>> t = to_arrow({"id": ["a", "b"], "vec": np.eye(2, dtype=np.float32)})
    >>> t.schema.field("vec").type
    FixedSizeListType(fixed_size_list<item: float>[2])
    >>> to_arrow([{"id": "a"}]).num_rows
    1
    """
    import numpy as np
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    if isinstance(result, pa.RecordBatch):
        return pa.Table.from_batches([result])
    if isinstance(result, list):
        return pa.Table.from_pylist(result)
    if isinstance(result, dict):
        columns = {}
        for name, value in result.items():
            if isinstance(value, np.ndarray) and value.ndim == 2:
                flat = pa.array(np.ascontiguousarray(value).reshape(-1))
                columns[name] = pa.FixedSizeListArray.from_arrays(flat, value.shape[1])
            elif isinstance(value, np.ndarray):
                columns[name] = pa.array(value)
            elif isinstance(value, pa.Array | pa.ChunkedArray):
                columns[name] = value
            else:
                columns[name] = pa.array(list(value))
        return pa.table(columns)
    raise TypeError(
        f"a worker must return a pyarrow Table, a dict of columns or a list of row dicts, got {type(result).__name__}"
    )
