"""Reading a recipe's sources on an engine: the distributed part of ``build_dataset(..., engine="ray")``.

Each source of the recipe is one engine shard: a worker reads it with its reader, validates it and applies
``max_dialogues`` (:func:`mmdial_data.recipe_sources.read_recipe_source`, the code the local build runs), recording what
happened as a sequence of events: a dialogue, a bad record handed to the error policy, or an exception. The
builder then replays the events source by source, in order, through its own error policy and the rest of the
build (filters, dedup, weights, splits, writing), so the outputs are those of a local build: the same shards,
counts, skipped records and errors (``on_error: raise`` raises the same error at the same record).

The unit of distribution is a source: a recipe with several sources reads them in parallel, while one large
source is read by one worker. Shards go to ``OUT/engine-sources/`` (every worker must reach ``OUT``); they are
reused by a re-run of a failed build while the input files are unchanged (size and modification time), and
removed when the build succeeds.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data.build import build_dataset
    >>> from mmdial_data.engines import LocalEngine
    >>> from mmdial_data.testing import repo_root
    >>> recipe = repo_root() / "datasets" / "recipes" / "demo.yaml"
    >>> a = build_dataset(recipe, pathlib.Path(tempfile.mkdtemp()), progress=False)
    >>> b = build_dataset(recipe, pathlib.Path(tempfile.mkdtemp()), engine=LocalEngine(), progress=False)
    >>> [p.read_bytes() for p in a.shards] == [p.read_bytes() for p in b.shards]
    True
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import ErrorPolicy, MMDialDataError

if TYPE_CHECKING:
    from mmdial_data.engines import Engine
    from mmdial_data.recipe import Recipe, SourceSpec
    from mmdial_data.schema import Dialogue

#: Sub-folder of the build output holding the engine's shards while a build runs.
SCRATCH = "engine-sources"


class RecordingPolicy(ErrorPolicy):
    """An error policy that never raises: every bad record becomes an ``("error", exc)`` event."""

    def __init__(self, events: list[tuple[str, Any]]):
        super().__init__("skip")
        self.events = events

    def handle(self, error: MMDialDataError) -> None:
        self.events.append(("error", error))


def replay_events(events: Iterable[tuple[str, Any]], policy: ErrorPolicy) -> Iterator[Any]:
    """Replay recorded ``(kind, object)`` events here: yield each ``dialogue``/``item``, hand each ``error`` to
    ``policy`` (which raises or records it, as it would have where it happened), raise a ``raise``."""
    for kind, obj in events:
        if kind == "error":
            policy.handle(obj)
        elif kind == "raise":
            raise obj
        else:
            yield obj


@contextmanager
def _working_dir(path: str) -> Iterator[None]:
    """Run in the driver's working directory, so relative recipe paths mean the same (and read the same)."""
    here = os.getcwd()
    if here == path:
        yield
        return
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(here)


def _portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError carrying its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def read_sources_worker(batch: list[tuple[Any, ...]], *, seed: int, cwd: str) -> list[dict[str, Any]]:
    """Engine worker: items ``(index, spec, paths, stamp)`` -> event rows ``source_index, kind, payload``.

    ``kind`` is ``dialogue`` (payload: the pickled Dialogue), ``error`` (a record for the error policy) or
    ``raise`` (an exception that ended the source).
    """
    from mmdial_data.recipe_sources import read_recipe_source

    rows: list[dict[str, Any]] = []
    for index, spec, paths, _stamp in batch:
        events: list[tuple[str, Any]] = []
        policy = RecordingPolicy(events)
        with _working_dir(cwd):
            try:
                for d in read_recipe_source(index, spec, [Path(p) for p in paths], policy, seed):
                    events.append(("dialogue", d))
            except Exception as exc:
                events.append(("raise", _portable_exception(exc)))
        for kind, obj in events:
            if kind != "dialogue":
                obj = _portable_exception(obj)
            rows.append({"source_index": index, "kind": kind, "payload": pickle.dumps(obj, protocol=5)})
    return rows


def _stamp(paths: list[Path]) -> list[tuple[str, int, int]]:
    """Size and modification time of every input file: a changed input invalidates the source's shard."""
    from mmdial_data.recipe_sources import input_files

    stamp = []
    for f in input_files(paths):
        st = f.stat()
        stamp.append((str(f), st.st_size, st.st_mtime_ns))
    return stamp


class SourcesOnEngine:
    """Reads every source of ``recipe`` on ``engine`` now; then ``self(i, spec, paths, policy, seed)`` replays
    source ``i`` exactly as :func:`mmdial_data.recipe_sources.read_recipe_source` would have produced it here."""

    def __init__(self, recipe: Recipe, base: Path, out: Path, engine: Engine, *, progress: bool = True):
        from mmdial_data.engines import run_batches

        items = []
        for i, spec in enumerate(recipe.sources):
            paths = recipe.resolve_paths(spec, base)
            items.append((i, spec, [str(p) for p in paths], _stamp(paths)))
        self.dir = Path(out) / SCRATCH
        self.run = run_batches(
            items,
            read_sources_worker,
            worker_kwargs={"seed": recipe.seed, "cwd": os.getcwd()},
            out_dir=self.dir,
            engine=engine,
            batch_size=1,
            shard_size=1,
            job_version="recipe-sources-v1",
            progress=progress,
        )

    def __call__(
        self, i: int, spec: SourceSpec, paths: list[Path], policy: ErrorPolicy, seed: int
    ) -> Iterator[Dialogue]:
        import pyarrow.parquet as pq

        from mmdial_data.engines.shards import shard_path

        path = shard_path(self.dir, i)
        parquet = pq.ParquetFile(path)
        if "payload" not in parquet.schema_arrow.names:  # a source with no dialogue and no error
            return
        events = (
            (kind, pickle.loads(payload))
            for batch in parquet.iter_batches(columns=["kind", "payload"], batch_size=256)
            for kind, payload in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)
        )
        yield from replay_events(events, policy)

    def close(self) -> None:
        """Remove the engine's shards (after a successful build)."""
        shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["RecordingPolicy", "SourcesOnEngine", "read_sources_worker", "replay_events"]
