"""The ``local`` engine: one worker in this process, shards one after another (the default).

Example:
    >>> import tempfile
    >>> from mmdial_data.engines import run_batches
    >>> def double(batch):
    ...     return {"x": batch, "y": [2 * v for v in batch]}
    >>> result = run_batches(range(5), double, engine="local", batch_size=2, shard_size=2,
    ...                      out_dir=tempfile.mkdtemp(), progress=False)
    >>> result.computed, result.table().column("y").to_pylist()
    ([0, 1, 2], [0, 2, 4, 6, 8])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mmdial_data.engines.shards import Shard, write_shard
from mmdial_data.engines.worker import Job, build_worker, process_shard


@dataclass
class ShardReport:
    """One finished shard: its id, rows written and the process that wrote it."""

    shard_id: int
    rows: int
    pid: int


class LocalEngine:
    """Runs every pending shard in this process with a single worker instance (models load once)."""

    name = "local"

    def run(self, job: Job, shards: list[Shard]) -> list[ShardReport]:
        """Process ``shards`` and write their files; returns one report per shard."""
        from tqdm.auto import tqdm

        if not shards:
            return []
        call = build_worker(job.worker, job.worker_kwargs)
        reports = []
        for shard in tqdm(shards, desc="shards (local)", unit="shard", disable=not job.progress):
            table = process_shard(call, shard, job.batch_size)
            write_shard(job.out_dir, shard, table)
            reports.append(ShardReport(shard.shard_id, table.num_rows, os.getpid()))
        return reports

    def describe(self) -> dict[str, Any]:
        """JSON-able settings for provenance."""
        return {"engine": self.name, "workers": 1}
