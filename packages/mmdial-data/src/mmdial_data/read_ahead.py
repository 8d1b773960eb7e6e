"""Reading a source ahead of the build, in a child process: pipeline parallelism on one machine.

:func:`read_ahead` yields what :func:`mmdial_data.readers.read_source_batches` yields (unified Arrow tables of a
reader's columnar path, :class:`~mmdial_data.schema.Dialogue` objects otherwise), in the same order and with the
same errors, but the reading (JSON decoding, table building) runs in a child Python process while the caller
validates, counts and writes what came before. Bad records are handed to the caller's error policy at the
place where they occurred (the child records them; see :func:`mmdial_data.engines.sources.replay_events`), so
``on_error: raise`` raises the same error after the same dialogues. At most ``depth`` items wait between the
two processes, so memory stays bounded. Engines (:mod:`mmdial_data.engines`) distribute whole sources over
workers; this overlaps the two halves of one source's build.

The child is a plain ``python -m mmdial_data.read_ahead`` with the parent's ``sys.path`` and working
directory (no ``multiprocessing``: scripts need no ``__main__`` guard). Only readers the child can import by
name take this path: built-in readers and entry points, not functions registered at run time.

Example:
    >>> from mmdial_data.errors import ErrorPolicy
    >>> from mmdial_data.testing import demo_dir
    >>> items = list(read_ahead("photochat", [demo_dir() / "photochat"], policy=ErrorPolicy()))
    >>> [type(x).__name__ for x in items], items[0].num_rows
    (['Table'], 2)
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from mmdial_data.errors import ErrorPolicy, MMDialDataError

if TYPE_CHECKING:
    import pyarrow as pa

    from mmdial_data.schema import Dialogue

#: Where the child writes its tables (memory, on Linux); else the temporary folder.
_SHM = "/dev/shm"
#: Items (tables or dialogues) that may wait between the child and the caller.
DEFAULT_DEPTH = 4
#: ``auto`` reads ahead on machines with at least this many CPUs: a build reading here already keeps more than
#: one core busy (its Parquet encoding and hashing run on threads), so on 2 CPUs the child at best breaks even
#: (benchmarks/bench_build.py) for more CPU and its own memory; with spare cores it pays. The figures are in
#: benchmarks/RESULTS.md.
READ_AHEAD_MIN_CPUS = 4
#: ``auto`` reads ahead when a source's input files hold at least this many bytes (``MMDIAL_READ_AHEAD_MB``):
#: below it, starting the child costs more than the overlap gains.
READ_AHEAD_MIN_BYTES = int(float(os.environ.get("MMDIAL_READ_AHEAD_MB", "64")) * 2**20)


def available_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_read_ahead(name: str) -> bool:
    """Whether a child process can be started (``sys.executable`` is known: not so in some embedded interpreters)
    and can load reader ``name`` by itself (built-in readers and entry points).

    >>> can_read_ahead("photochat")
    True
    """
    from mmdial_data.readers import get_reader

    return bool(sys.executable) and isinstance(get_reader(name).target, str)


def should_read_ahead(name: str, paths: Sequence[Path], setting: bool | None) -> bool:
    """The decision for one source: ``setting`` True/False forces it (True still needs an importable reader);
    None (auto) reads ahead with an importable reader, at least :data:`READ_AHEAD_MIN_CPUS` CPUs and
    :data:`READ_AHEAD_MIN_BYTES` of input.
    """
    if setting is False or not can_read_ahead(name):
        return False
    if setting:
        return True
    if available_cpus() < READ_AHEAD_MIN_CPUS:
        return False
    from mmdial_data.recipe_sources import input_files

    return sum(f.stat().st_size for f in input_files(list(paths))) >= READ_AHEAD_MIN_BYTES


def read_ahead(
    name: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    split: str | None = None,
    options: dict[str, Any] | None = None,
    policy: ErrorPolicy,
    depth: int = DEFAULT_DEPTH,
) -> Iterator[pa.Table | Dialogue]:
    """``read_source_batches(name, paths, ...)`` read in a child process, ``depth`` items ahead (module doc).

    Closing the iterator early (or an error raised by ``policy``) stops the child.
    """
    if not can_read_ahead(name):
        why = "was registered at run time" if sys.executable else "needs sys.executable, which is unknown here"
        raise ValueError(f"reader {name!r} {why}: a child process cannot read it")
    from mmdial_data.readers import get_reader

    info = get_reader(name)
    scratch = tempfile.mkdtemp(prefix="mmdial-read-ahead-", dir=_SHM if os.path.isdir(_SHM) else None)
    try:
        yield from _run_child((info, [str(p) for p in paths], split, options, scratch), policy, depth)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_child(request: tuple[Any, ...], policy: ErrorPolicy, depth: int) -> Iterator[pa.Table | Dialogue]:
    """Start the child, send it ``request`` and ``depth`` credits, replay its events; one credit back per item
    taken, so at most ``depth`` items are ever ahead of the caller."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if isinstance(p, str))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmdial_data.read_ahead"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None and proc.stdout is not None
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    thread = threading.Thread(target=_receive, args=(proc.stdout, events), name="mmdial-read-ahead", daemon=True)
    from mmdial_data.engines.sources import replay_events

    finished = False

    def received() -> Iterator[tuple[str, Any]]:
        """The child's events as :func:`replay_events` takes them (tables loaded; a credit back per item)."""
        nonlocal finished
        assert proc.stdin is not None
        while True:
            kind, obj = events.get()
            if kind in ("table", "item"):
                _give_credit(proc.stdin, 1)
                yield "item", _load_table(obj) if kind == "table" else obj
            elif kind in ("error", "raise"):
                finished = finished or kind == "raise"
                yield kind, obj
            elif kind == "end":
                finished = True
                return
            else:  # "lost": the stream broke off
                info, paths = request[0], request[1]
                raise MMDialDataError(
                    f"the child process reading this source ended without finishing (exit code {proc.wait()}; {obj})",
                    path=paths[0] if paths else None,
                    record=f"reader {info.name!r}",
                )

    try:
        pickle.dump(request, proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        _give_credit(proc.stdin, depth)
        thread.start()
        yield from replay_events(received(), policy)
    finally:
        if not finished and proc.poll() is None:
            proc.kill()
        for stream in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):  # a broken pipe while flushing: the child is gone
                stream.close()
        proc.wait()
        thread.join()


def _give_credit(stdin: IO[bytes], n: int) -> None:
    """Let the child send ``n`` more items (a dead child is noticed by the receiver, not here)."""
    with contextlib.suppress(OSError):
        stdin.write(b"+" * n)
        stdin.flush()


def _load_table(path: str) -> pa.Table:
    """A table the child wrote as an Arrow IPC stream: memory-mapped (no copy), the file unlinked at once (the
    mapping lives on with the table)."""
    import pyarrow as pa

    with pa.memory_map(path) as source:
        table = pa.ipc.open_stream(source).read_all()
    with contextlib.suppress(OSError):  # Windows keeps mapped files: removed with the folder at the end
        os.unlink(path)
    return table


def _receive(stream: BinaryIO, events: queue.Queue[tuple[str, Any]]) -> None:
    """Unpickle the child's events into ``events`` until ``end`` or a broken stream (``lost``)."""
    while True:
        try:
            event = pickle.load(stream)
        except Exception as exc:  # EOF or a torn pickle: the child died (or was stopped)
            event = ("lost", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        events.put(event)
        if event[0] in ("end", "lost"):
            return


class _StreamingPolicy(ErrorPolicy):
    """The child's error policy: every bad record is sent to the parent, in stream order, and reading goes on."""

    def __init__(self, send: Any):
        super().__init__("skip")
        self.send = send

    def handle(self, error: MMDialDataError) -> None:
        self.send(("error", error))


def _child() -> None:
    """The child: read the request from stdin, stream ``(kind, object)`` events to the original stdout."""
    import pyarrow as pa

    from mmdial_data.engines.sources import _portable_exception
    from mmdial_data.readers import READERS, read_source_batches
    from mmdial_data.schema import Dialogue

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the reader prints goes to stderr, not into the event stream
    credits = sys.stdin.buffer
    info, paths, split, options, scratch = pickle.load(credits)
    name = info.name
    if name not in READERS:  # an entry point this process did not load: the parent's target
        READERS.register(name, info)
    count = 0

    def send(event: tuple[str, Any]) -> None:
        kind, obj = event
        if kind in ("error", "raise"):
            obj = _portable_exception(obj)
        elif kind == "item" and not credits.read(1):  # wait until the parent has room
            raise BrokenPipeError("the parent stopped reading")
        pickle.dump((kind, obj), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    try:
        for item in read_source_batches(name, paths, split=split, on_error=_StreamingPolicy(send), options=options):
            if isinstance(item, Dialogue):
                send(("item", item))
                continue
            path = os.path.join(scratch, f"{count:08d}.arrow")
            count += 1
            if not credits.read(1):  # wait for room before writing the table out
                raise BrokenPipeError("the parent stopped reading")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_stream(sink, item.schema) as stream:
                stream.write_table(item)
            send(("table", path))
    except Exception as exc:
        send(("raise", exc))
    send(("end", None))
    out.close()


if __name__ == "__main__":
    try:
        _child()
    except BrokenPipeError:  # the parent stopped reading (it closed the iterator early)
        sys.exit(1)
