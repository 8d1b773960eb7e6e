"""The ``ray`` engine: Ray Data ``map_batches`` over shards with an actor pool (optional extra ``ray``).

Each pending shard becomes one row of a Ray Dataset (its id and its pickled items, one block per shard).
``map_batches`` runs :class:`ShardRunner` actors (``concurrency=workers``): every actor builds the worker once
(a model loads once per actor), processes a shard in the same batches as the local engine and writes
``OUT/part-NNNNN.parquet`` itself, atomically. With GPUs in the cluster, each actor of a worker class asks for
``gpus_per_worker`` GPUs (1 by default).

Fault tolerance: actors are restartable and their tasks retried (Ray Data's defaults for actor pools), so a
killed actor's shard is recomputed on a fresh actor. As a shard file is written whole by an atomic rename and
named by shard id, a retried shard replaces, never duplicates, and the driver checks that every shard reported
exactly once and is on disk.

Connecting: ``RayEngine(address="ray://head:10001")`` or ``address="auto"``; with no address it joins a running
``ray.init`` session, else ``$RAY_ADDRESS``, else starts a local cluster (``init_kwargs`` go to ``ray.init``).

Example:
    >>> from mmdial_data.engines import run_batches
    >>> run_batches(items, Embedder, engine=RayEngine(workers=8), out_dir="s3-mounted/emb")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from typing import Any

from mmdial_data.engines.local import ShardReport
from mmdial_data.engines.shards import Shard, write_shard
from mmdial_data.engines.worker import Job, Worker, build_worker, is_actor_class, process_shard


class MissingRayError(ImportError):
    """Ray is not installed; the message names the extra to install."""


def import_ray() -> Any:
    """``import ray`` and ``ray.data``, or raise :class:`MissingRayError` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingRayError(
            'the "ray" engine needs Ray Data: pip install "mmdial-data[ray]" (or "mmdial-augment[ray]", '
            '"mmdial-retrieval[ray]")'
        ) from exc
    return ray


class ShardRunner:
    """The Ray Data actor: builds the worker once, then computes and writes whole shards (one per call)."""

    def __init__(self, job: Job):
        self.call = build_worker(job.worker, job.worker_kwargs)
        self.out_dir = job.out_dir
        self.batch_size = job.batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        ids, rows = [], []
        for payload in batch["payload"]:
            shard: Shard = pickle.loads(payload)
            table = process_shard(self.call, shard, self.batch_size)
            write_shard(self.out_dir, shard, table)
            ids.append(shard.shard_id)
            rows.append(table.num_rows)
        n = len(ids)
        return {
            "shard_id": np.asarray(ids, np.int64),
            "rows": np.asarray(rows, np.int64),
            "pid": np.full(n, os.getpid(), np.int64),
        }


class RayEngine:
    """Runs shards on a Ray cluster with Ray Data actor pools.

    Args:
        address: Cluster to join (``"auto"``, ``"ray://host:10001"``); None joins the current session, else
            ``$RAY_ADDRESS``, else starts a local cluster.
        workers: Actors in the pool; None uses every CPU of the cluster (or every GPU, for GPU workers).
        cpus_per_worker: CPUs reserved per actor.
        gpus_per_worker: GPUs per actor; None asks for 1 when the cluster has GPUs and the worker is a class
            (a model), else 0.
        init_kwargs: Passed to ``ray.init`` when this engine starts or joins the cluster.
        max_restarts: Actor restarts allowed (-1: unlimited); failed shards are retried on restarted actors.
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float | None = None,
        init_kwargs: Mapping[str, Any] | None = None,
        max_restarts: int = -1,
    ):
        self.address = address
        self.workers = workers
        self.cpus_per_worker = cpus_per_worker
        self.gpus_per_worker = gpus_per_worker
        self.init_kwargs = dict(init_kwargs or {})
        self.max_restarts = max_restarts

    def connect(self) -> Any:
        """Join or start the cluster (once); returns the ``ray`` module."""
        ray = import_ray()
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            ray.init(address=address, **self.init_kwargs)
        return ray

    def resources(self, worker: Worker) -> tuple[int, float, float]:
        """``(workers, cpus_per_worker, gpus_per_worker)`` for this worker on the connected cluster."""
        ray = self.connect()
        total = ray.cluster_resources()
        gpus = self.gpus_per_worker
        if gpus is None:
            gpus = 1.0 if is_actor_class(worker) and total.get("GPU", 0) >= 1 else 0.0
        workers = self.workers
        if workers is None:
            by_cpu = int(total.get("CPU", 1) // max(self.cpus_per_worker, 1e-9)) if self.cpus_per_worker else 1
            workers = max(1, int(total.get("GPU", 0) // gpus) if gpus else by_cpu)
        return workers, self.cpus_per_worker, gpus

    def run(self, job: Job, shards: list[Shard]) -> list[ShardReport]:
        """Process ``shards`` on the cluster; returns one report per shard (checked: each shard exactly once)."""
        if not shards:
            return []
        ray = self.connect()
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = job.progress
        workers, cpus, gpus = self.resources(job.worker)
        workers = min(workers, len(shards))
        rows = [{"shard_id": s.shard_id, "payload": pickle.dumps(s, protocol=5)} for s in shards]
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        from ray.data import ActorPoolStrategy

        remote_args: dict[str, Any] = {}
        if self.max_restarts != -1:  # Ray Data's actor pools default to unlimited restarts and task retries
            remote_args = {"max_restarts": self.max_restarts, "max_task_retries": -1 if self.max_restarts else 0}
        ds = ds.map_batches(
            ShardRunner,
            fn_constructor_kwargs={"job": job},
            batch_size=1,
            compute=ActorPoolStrategy(size=workers),
            num_cpus=cpus,
            num_gpus=gpus or None,
            **remote_args,
        )
        reports = [ShardReport(int(r["shard_id"]), int(r["rows"]), int(r["pid"])) for r in ds.iter_rows()]
        seen = sorted(r.shard_id for r in reports)
        expected = sorted(s.shard_id for s in shards)
        if seen != expected:
            raise RuntimeError(f"ray engine: shards reported {seen} differ from the shards sent {expected}")
        return reports

    def describe(self) -> dict[str, Any]:
        """JSON-able settings for provenance."""
        return {
            "engine": self.name,
            "address": self.address,
            "workers": self.workers,
            "cpus_per_worker": self.cpus_per_worker,
            "gpus_per_worker": self.gpus_per_worker,
        }
