"""Workers: what an engine runs on each batch, and the per-shard loop every engine shares.

A worker is either a function ``fn(batch: list) -> result`` or a class: ``cls(**worker_kwargs)`` is built once per
engine worker (this is where a model is loaded) and then called as ``instance(batch) -> result`` on each batch.
A result is anything :func:`mmdial_data.engines.shards.to_arrow` accepts, with one row per output record.

Both engines cut each shard into the same batches and call :func:`process_shard`, so local and Ray runs see
identical batch boundaries and give identical numbers.

Example:
    >>> from mmdial_data.engines.shards import plan_shards
    >>> def square(batch):
    ...     return {"x": batch, "y": [v * v for v in batch]}
    >>> shard = plan_shards([1, 2, 3], shard_size=3, job_key="doc")[0]
    >>> process_shard(build_worker(square, {}), shard, batch_size=2).column("y").to_pylist()
    [1, 4, 9]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from mmdial_data.engines.shards import Shard, to_arrow

if TYPE_CHECKING:
    import pyarrow as pa

#: A batch function or a class whose instances are batch functions (loaded once per worker).
Worker: TypeAlias = "Callable[..., Any] | type"


@dataclass(frozen=True)
class Job:
    """What an engine runs: the worker and its arguments, where shards go, the batch size."""

    worker: Worker
    out_dir: Path
    batch_size: int
    worker_kwargs: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True


def is_actor_class(worker: Worker) -> bool:
    """True when ``worker`` is a class (stateful: one instance per engine worker, e.g. holding a model)."""
    return inspect.isclass(worker)


def build_worker(worker: Worker, worker_kwargs: Mapping[str, Any] | None) -> Callable[[list[Any]], Any]:
    """Instantiate a worker class once, or bind keyword arguments to a worker function."""
    kwargs = dict(worker_kwargs or {})
    if is_actor_class(worker):
        instance: Callable[[list[Any]], Any] = worker(**kwargs)
        return instance
    if not callable(worker):
        raise TypeError(f"a worker must be a function or a class, got {type(worker).__name__}")
    if not kwargs:
        return worker

    def bound(batch: list[Any]) -> Any:
        return worker(batch, **kwargs)

    return bound


def job_key(worker: Worker, worker_kwargs: Mapping[str, Any] | None, batch_size: int, extra: str = "") -> str:
    """What, besides the items, a shard's result depends on: the worker's name (and its ``job_version`` attribute
    when it has one), its keyword arguments and the batch size.

    >>> def f(batch): return batch
    >>> job_key(f, {"k": 1}, 8)
    'mmdial_data.engines.worker.f|v=|kw={"k": 1}|bs=8|'
    """
    import json

    name = f"{getattr(worker, '__module__', '?')}.{getattr(worker, '__qualname__', type(worker).__name__)}"
    version = getattr(worker, "job_version", "")
    kw = json.dumps(dict(worker_kwargs or {}), sort_keys=True, default=repr)
    return f"{name}|v={version}|kw={kw}|bs={batch_size}|{extra}"


def process_shard(call: Callable[[list[Any]], Any], shard: Shard, batch_size: int) -> pa.Table:
    """Run ``call`` on consecutive batches of one shard and concatenate the results (in order)."""
    import pyarrow as pa

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    tables = [to_arrow(call(shard.items[i : i + batch_size])) for i in range(0, len(shard.items), batch_size)]
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="default")
