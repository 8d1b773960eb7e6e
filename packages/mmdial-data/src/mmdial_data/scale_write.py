"""Streaming a polars query into the builder's shard layout, ``OUT/data/<split>/part-NNNNN.parquet``
(:func:`write_corpus`, used by :func:`mmdial_data.scale.scale_build`, which re-exports it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

#: Rows per streamed chunk when writing shards.
CHUNK_ROWS = 2048


class _SplitShardWriter:
    """Writes rows of each split to ``OUT/data/<split>/part-NNNNN.parquet``, ``shard_size`` rows per file."""

    def __init__(self, out: Path, shard_size: int):
        self.out, self.shard_size = out, shard_size
        self.writers: dict[str, Any] = {}
        self.rows: dict[str, int] = {}
        self.index: dict[str, int] = {}
        self.shards: list[Path] = []
        self.counts: dict[str, int] = {}

    def write(self, split: str, table: Any) -> None:
        offset = 0
        while offset < table.num_rows:
            writer = self._writer(split)
            take = min(self.shard_size - self.rows[split], table.num_rows - offset)
            writer.write_table(table.slice(offset, take), row_group_size=512)
            self.rows[split] += take
            self.counts[split] = self.counts.get(split, 0) + take
            offset += take
            if self.rows[split] >= self.shard_size:
                self._close(split)

    def _writer(self, split: str) -> Any:
        import pyarrow.parquet as pq

        from mmdial_data.arrow import arrow_schema

        if split not in self.writers:
            i = self.index.get(split, 0)
            path = self.out / "data" / split / f"part-{i:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            self.writers[split] = (pq.ParquetWriter(tmp, arrow_schema(), compression="zstd"), tmp, path)
            self.rows[split] = 0
            self.index[split] = i + 1
        return self.writers[split][0]

    def _close(self, split: str) -> None:
        writer, tmp, path = self.writers.pop(split)
        writer.close()
        os.replace(tmp, path)
        self.shards.append(path)

    def close(self) -> None:
        for split in sorted(self.writers):
            self._close(split)


def write_corpus(
    lf: pl.LazyFrame, out: str | os.PathLike[str], *, shard_size: int = 10_000, chunk_rows: int = CHUNK_ROWS
) -> tuple[dict[str, int], list[Path]]:
    """Stream ``lf`` into ``out/data/<split>/part-NNNNN.parquet`` (unified schema, scan order kept).

    Earlier shards under ``out/data`` are removed first. Returns the dialogues per split and the shard paths.
    """
    import shutil

    from mmdial_data.arrow import arrow_schema

    out = Path(out)
    if (out / "data").exists():
        shutil.rmtree(out / "data")
    schema = arrow_schema()
    writer = _SplitShardWriter(out, shard_size)
    for chunk in lf.select(schema.names).collect_batches(chunk_size=chunk_rows):
        for (split,), part in chunk.partition_by("split", as_dict=True, maintain_order=True).items():
            writer.write(str(split), part.to_arrow().cast(schema))
    writer.close()
    return dict(sorted(writer.counts.items())), sorted(writer.shards)
