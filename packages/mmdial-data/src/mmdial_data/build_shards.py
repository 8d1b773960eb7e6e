"""The sharded Parquet writer of a build: ``DIR/data/<split>/part-00000.parquet``, a new shard every
``shard_size`` dialogues, one row group per split held at a time (:class:`_ShardedWriter`, used by
:mod:`mmdial_data.build`).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from mmdial_data.arrow import to_numpy
from mmdial_data.io import DEFAULT_ROW_GROUP, ParquetDialogueWriter
from mmdial_data.schema import Dialogue

if TYPE_CHECKING:
    import pyarrow as pa


class _ShardedWriter:
    """One open Parquet shard per split, written a row group at a time; a new shard every ``shard_size`` dialogues.

    Memory is bounded by one row group per split (held as flat columns), whatever the size of the input. With
    ``background=True`` the row groups are encoded and written by one worker thread (same bytes, same order).
    """

    def __init__(self, out: Path, shard_size: int, row_group: int = DEFAULT_ROW_GROUP, *, background: bool = False):
        self.out, self.shard_size, self.row_group = out, shard_size, row_group
        self.open: dict[str, ParquetDialogueWriter] = {}
        self.next_index: Counter[str] = Counter()
        self.shards: list[Path] = []
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mmdial-parquet") if background else None
        self._closed: list[ParquetDialogueWriter] = []  # closed, but maybe still being written in the background

    def _writer(self, split: str) -> ParquetDialogueWriter:
        writer = self.open.get(split)
        if writer is None:
            path = self.out / "data" / split / f"part-{self.next_index[split]:05d}.parquet"
            writer = ParquetDialogueWriter(path, row_group=self.row_group, executor=self.executor)
            self.open[split] = writer
        return writer

    def add(self, d: Dialogue) -> None:
        writer = self._writer(d.split)
        writer.write(d)
        if writer.count >= self.shard_size:
            self._finish(d.split)

    def add_table(self, table: pa.Table) -> None:
        """Add the rows of a unified-schema table, as :meth:`add` of each row in order."""
        import numpy as np

        if not table.num_rows:
            return
        encoded = table.column("split").combine_chunks().dictionary_encode()
        names = encoded.dictionary.to_pylist()
        codes = to_numpy(encoded.indices)
        bounds = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), len(codes)]
        for a, b in pairwise(bounds):  # runs of one split, in row order
            split = names[codes[a]]
            while a < b:
                writer = self._writer(split)
                take = min(self.shard_size - writer.count, b - a)
                writer.write_table(table.slice(a, take))
                a += take
                if writer.count >= self.shard_size:
                    self._finish(split)

    def _finish(self, split: str) -> None:
        writer = self.open.pop(split)
        writer.close()
        self._closed.append(writer)
        self.shards.append(writer.path)
        self.next_index[split] += 1

    def close(self) -> None:
        try:
            for split in sorted(self.open):
                self._finish(split)
            for writer in self._closed:
                writer.wait()
        except BaseException:
            self.abort()
            raise
        self._shutdown()

    def abort(self) -> None:
        for writer in [*self._closed, *self.open.values()]:
            writer.abort()
        self.open.clear()
        self._shutdown()

    def _shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()
