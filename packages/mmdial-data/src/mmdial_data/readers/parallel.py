"""Reading the files of a columnar source in worker processes, replayed in order as if read here.

A reader with a columnar fast path reads each of its files on its own (the split comes from the file's own
path), so the files of a source can be read by a process pool. Each worker reads one file with the batch
reader and an error policy that records instead of raising (:class:`~mmdial_data.engines.sources.RecordingPolicy`),
returning the file's tables, dialogues and bad records as one event list. The caller's side replays the files
in input order through its own policy: the same items, the same skipped records in the same order, and the same
exception at the same place as :func:`mmdial_data.readers.read_source_batches` without workers. At most
``workers + 1`` files are read ahead, so memory stays bounded by the file size, not the source size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import ErrorPolicy

if TYPE_CHECKING:
    import pyarrow as pa

    from mmdial_data.schema import Dialogue


def read_file_events(target: str, file: str, split: str | None) -> list[tuple[str, Any]]:
    """Worker: one file through the batch reader ``target`` (``module:function``), as ``(kind, object)``
    events: ``item`` (a table or dialogue), ``error`` (a bad record for the policy), ``raise`` (the exception
    that ended the file)."""
    import importlib

    from mmdial_data.engines.sources import RecordingPolicy, _portable_exception

    module, _, attr = target.partition(":")
    reader = getattr(importlib.import_module(module), attr)
    events: list[tuple[str, Any]] = []
    policy = RecordingPolicy(events)
    try:
        for item in reader(Path(file), split=split, policy=policy):
            events.append(("item", item))
    except Exception as exc:
        events.append(("raise", _portable_exception(exc)))
    return [(kind, obj if kind == "item" else _portable_exception(obj)) for kind, obj in events]


def read_files_in_processes(
    target: str,
    name: str,
    paths: Iterable[Path],
    *,
    split: str | None,
    policy: ErrorPolicy,
    workers: int,
) -> Iterator[pa.Table | Dialogue]:
    """The items of the batch reader ``target`` over ``paths`` (files or folders of ``*.json``), read by
    ``workers`` spawned processes and yielded in input order, with ``policy`` applied here.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> target = "mmdial_data.readers.photochat:read_photochat_batches"
        >>> items = read_files_in_processes(
        ...     target, "photochat", [demo_dir() / "photochat"], split=None, policy=ErrorPolicy(), workers=2
        ... )
        >>> [type(x).__name__ for x in items]
        ['Table']
    """
    import multiprocessing

    from mmdial_data.engines.sources import replay_events
    from mmdial_data.readers._common import json_files

    def files() -> Iterator[Path]:
        for path in paths:  # checked as the sequential reader checks them: when reached
            if not path.exists():
                raise FileNotFoundError(f"{path}: no such file or directory (reader {name!r})")
            yield from json_files(path)

    # a file being read, or the exception that listing the next files raised (replayed in its place)
    pending: deque[Future[list[tuple[str, Any]]] | Exception] = deque()
    todo = files()
    listed = False
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            while True:
                while not listed and len(pending) <= workers:
                    try:
                        file = next(todo)
                    except StopIteration:
                        listed = True
                    except Exception as exc:  # a missing path or an empty folder: raised when its turn comes
                        pending.append(exc)
                        listed = True
                    else:
                        pending.append(pool.submit(read_file_events, target, os.fspath(file), split))
                if not pending:
                    return
                head = pending.popleft()
                if isinstance(head, Exception):
                    raise head
                yield from replay_events(head.result(), policy)
        finally:
            for future in pending:
                if isinstance(future, Future):
                    future.cancel()


__all__ = ["read_file_events", "read_files_in_processes"]
