"""Execution engines: run a batch function or a model class over many items, into Parquet shards.

``local`` (default) runs in this process; ``ray`` runs on a Ray cluster with Ray Data actor pools (optional
extra: ``pip install "mmdial-data[ray]"``). Both read the same items, cut them into the same shards and batches,
and write the same layout (``OUT/part-00000.parquet`` ...), so switching engines changes where work runs, not
what it produces. Runs are resumable and idempotent by shard id: finished shards are kept, missing or stale ones
(other items or another job) are recomputed, shards beyond the current plan are removed.

Example:
    >>> import tempfile
    >>> def lengths(batch):
    ...     return {"text": batch, "n": [len(t) for t in batch]}
    >>> out = tempfile.mkdtemp()
    >>> r = run_batches(["a", "bb", "ccc"], lengths, batch_size=2, shard_size=2, out_dir=out, progress=False)
    >>> r.engine, r.computed, r.table().column("n").to_pylist()
    ('local', [0, 1], [1, 2, 3])
    >>> run_batches(["a", "bb", "ccc"], lengths, batch_size=2, shard_size=2, out_dir=out, progress=False).reused
    [0, 1]
    >>> [e for e in list_engines()]
    ['local', 'ray']
    >>> get_engine("rya")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown engine 'rya'; did you mean 'ray'?
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mmdial_data.engines.local import LocalEngine, ShardReport
from mmdial_data.engines.shards import (
    SHARD_PATTERN,
    Shard,
    pending_shards,
    plan_shards,
    read_shards,
    remove_stale_temp_files,
    shard_files,
)
from mmdial_data.engines.worker import Job, Worker, job_key
from mmdial_data.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa

#: The engine used when none is named.
DEFAULT_ENGINE = "local"


class Engine(Protocol):
    """What :func:`run_batches` needs of an engine."""

    name: str

    def run(self, job: Job, shards: list[Shard]) -> list[ShardReport]: ...

    def describe(self) -> dict[str, Any]: ...


#: Engine factories by name: ``factory(**options) -> Engine``.
ENGINES: Registry[Callable[..., Engine]] = Registry("engine")


def register_engine(name: str, factory: Callable[..., Engine], *, replace: bool = False) -> None:
    """Register ``factory(**options) -> Engine`` under ``name``."""
    ENGINES.register(name, factory, replace=replace)


def list_engines() -> list[str]:
    """Registered engine names, sorted."""
    return ENGINES.names()


def get_engine(name: str | Engine | None = None, **options: Any) -> Engine:
    """The engine ``name`` built with ``options`` (an engine instance is returned as is).

    Raises:
        mmdial_data.registry.UnknownNameError: Unknown name (a ``KeyError``), with a "did you mean" hint.
    """
    if name is not None and not isinstance(name, str):
        return name
    return ENGINES.get(name or DEFAULT_ENGINE)(**options)


def _ray_engine(**options: Any) -> Engine:
    from mmdial_data.engines.ray_engine import RayEngine

    return RayEngine(**options)


register_engine("local", LocalEngine)
register_engine("ray", _ray_engine)


def in_process(engine: str | Engine | None) -> bool:
    """Whether ``engine`` asks for the default in-process path (None or ``"local"``).

    The public entry points (``embed_pool``, ``AugmentPipeline``, ``build_dataset``) keep their own in-process
    code for these and hand anything else (``"ray"``, an engine instance) to :func:`run_batches`.

    >>> in_process(None), in_process("local"), in_process("ray")
    (True, True, False)
    """
    return engine is None or engine == DEFAULT_ENGINE


def resolve_engine(engine: str | Engine | None, options: Mapping[str, Any] | None = None) -> Engine | None:
    """None for the in-process path, else the engine built now (so a misspelled name fails before any work).

    >>> resolve_engine("local") is None, resolve_engine("ray", {"workers": 2}).workers
    (True, 2)
    """
    if in_process(engine):
        if options:
            raise ValueError(f"engine_options {dict(options)} need an engine other than 'local'")
        return None
    return get_engine(engine, **dict(options or {}))


@dataclass
class RunResult:
    """What :func:`run_batches` did: shards computed now, shards reused from an earlier run, timings."""

    out_dir: Path
    engine: str
    n_items: int
    n_shards: int
    computed: list[int]
    reused: list[int]
    rows_written: int
    seconds: float
    reports: list[ShardReport] = field(default_factory=list)

    @property
    def shards(self) -> list[Path]:
        """The shard files, in shard order."""
        return shard_files(self.out_dir)

    def table(self, columns: list[str] | None = None) -> pa.Table:
        """All results as one Arrow table, in item order."""
        return read_shards(self.out_dir, columns)


JOB_FILE = "_job.json"


def run_batches(
    items: Iterable[Any],
    worker: Worker,
    *,
    out_dir: str | os.PathLike[str],
    engine: str | Engine | None = None,
    batch_size: int = 64,
    shard_size: int = 1024,
    worker_kwargs: Mapping[str, Any] | None = None,
    engine_options: Mapping[str, Any] | None = None,
    job_version: str = "",
    progress: bool = True,
) -> RunResult:
    """Apply ``worker`` to ``items`` in batches on ``engine`` and write ``out_dir/part-NNNNN.parquet`` shards.

    Args:
        items: Picklable work items (paths, ids, dicts, candidates ...), in a stable order.
        worker: ``fn(batch) -> result`` or a class built once per engine worker as ``cls(**worker_kwargs)`` and
            called on each batch (see :mod:`mmdial_data.engines.worker`). Results: Arrow table, dict of columns
            or list of row dicts.
        out_dir: Folder of the shards (created). The same folder resumes a run.
        engine: ``"local"`` (default), ``"ray"`` or an engine instance (``RayEngine(address=..., workers=...)``).
        batch_size: Items per worker call (identical on every engine).
        shard_size: Items per output shard (the unit of resumption and of work distribution).
        worker_kwargs: Keyword arguments of the worker (constructor arguments for a class).
        engine_options: Options for a named engine (``{"workers": 2}``).
        job_version: Part of every shard's digest: change it to invalidate earlier results.
        progress: Show progress bars.

    Returns:
        A :class:`RunResult`; ``result.table()`` reads every shard back in item order.
    """
    start = time.perf_counter()
    eng = get_engine(engine, **dict(engine_options or {}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    key = job_key(worker, worker_kwargs, batch_size, job_version)
    shards = plan_shards(items, shard_size=shard_size, job_key=key)
    n_items = sum(len(s.items) for s in shards)
    remove_stale_temp_files(out)
    for extra in shard_files(out):  # a previous plan with more shards
        if int(extra.stem.split("-")[1]) >= len(shards):
            extra.unlink()
    todo = pending_shards(out, shards)
    job = Job(worker, out.resolve(), batch_size, dict(worker_kwargs or {}), progress)
    reports = eng.run(job, todo)
    missing = pending_shards(out, shards)
    if missing:
        raise RuntimeError(f"{out}: engine {eng.name!r} left shards {[s.shard_id for s in missing]} unwritten")
    done_now = sorted(r.shard_id for r in reports)
    _write_job(
        out,
        key=key,
        engine=eng.describe(),
        n_items=n_items,
        n_shards=len(shards),
        shard_size=shard_size,
        batch_size=batch_size,
    )
    return RunResult(
        out_dir=out,
        engine=eng.name,
        n_items=n_items,
        n_shards=len(shards),
        computed=done_now,
        reused=sorted(set(range(len(shards))) - set(done_now)),
        rows_written=sum(r.rows for r in reports),
        seconds=time.perf_counter() - start,
        reports=reports,
    )


def _write_job(out: Path, **record: Any) -> None:
    from mmdial_data.provenance import package_versions

    record["layout"] = SHARD_PATTERN
    record["versions"] = package_versions()
    from mmdial_data.outputs import write_text_atomic

    write_text_atomic(out / JOB_FILE, json.dumps(record, indent=2, sort_keys=True, default=repr) + "\n")


__all__ = [
    "DEFAULT_ENGINE",
    "Engine",
    "LocalEngine",
    "RunResult",
    "ShardReport",
    "get_engine",
    "in_process",
    "list_engines",
    "read_shards",
    "register_engine",
    "resolve_engine",
    "run_batches",
]
