"""Parquet (primary) and JSONL (mirror) readers and writers with an exact round trip.

Writers are streaming: dialogues are written in bounded row groups, so memory stays flat.
Readers yield dialogues lazily and name the file and record of anything that does not parse.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, Turn, write_dialogues, read_dialogues
    >>> d = Dialogue("demo/train/1", "demo", "train", [Turn(0, "A", "user", "hi")])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.parquet"
    >>> write_dialogues([d], path)
    1
    >>> list(read_dialogues(path)) == [d]
    True
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import SourceFormatError
from mmdial_data.schema import Dialogue, dump_json

if TYPE_CHECKING:
    import pyarrow as pa

#: Dialogues per Parquet row group (and per JSONL flush). 2048 rather than 512: fewer pages and row-group footers,
#: so less writer-thread CPU per dialogue; one group per split is held in memory while it fills.
DEFAULT_ROW_GROUP = 2048


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise ValueError(f"{path}: unknown format {suffix!r}; use .parquet or .jsonl")


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class ParquetDialogueWriter:
    """Streams dialogues into one Parquet file: a row group every ``row_group`` dialogues, then an atomic rename.

    Only one row group of dialogues is held (as flat columns, see :class:`mmdial_data.arrow.TableBuilder`), so
    memory does not grow with the file. The file appears at ``path`` on :meth:`close`; :meth:`abort` (or an
    exception inside ``with``) leaves no file behind. The same dialogues give byte-identical files, whether they
    come one by one (:meth:`write`), as Arrow tables (:meth:`write_table`) or mixed.

    With an ``executor`` (one worker thread), row groups are encoded and written there (pyarrow releases the GIL
    while it encodes and compresses), overlapping with the caller's work; :meth:`close` then only queues the
    rename, and :meth:`wait` waits for it (and raises what failed). At most ``MAX_QUEUED`` row groups wait.

    Example:
        >>> import tempfile, pathlib
        >>> from mmdial_data import Dialogue, Turn
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.parquet"
        >>> with ParquetDialogueWriter(path, row_group=2) as w:
        ...     for i in range(3):
        ...         w.write(Dialogue(f"demo/train/{i}", "demo", "train", [Turn(0, "A", "user", "hi")]))
        >>> w.count, len(list(read_parquet(path)))
        (3, 3)
    """

    #: Row groups that may wait for the executor before :meth:`write` blocks.
    MAX_QUEUED = 4

    def __init__(
        self, path: str | os.PathLike[str], *, row_group: int = DEFAULT_ROW_GROUP, executor: Executor | None = None
    ):
        import pyarrow.parquet as pq

        from mmdial_data.arrow import TableBuilder, arrow_schema

        self.path = Path(path)
        self.row_group = row_group
        self.count = 0
        self._tmp: Path | None = _atomic_target(self.path)
        self._builder = TableBuilder()
        self._pending: list[Any] = []  # tables not written yet, in order; the builder's rows come after them
        self._pending_rows = 0
        self._executor = executor
        self._futures: deque[Future[None]] = deque()
        self._writer: Any = pq.ParquetWriter(self._tmp, arrow_schema(), compression="zstd", write_statistics=True)

    def write(self, d: Dialogue) -> None:
        """Add one dialogue; a full row group is written out."""
        self._builder.append(d)
        self.count += 1
        if self._pending_rows + len(self._builder) >= self.row_group:
            self._flush()

    def write_table(self, table: pa.Table) -> None:
        """Add the rows of a table with :func:`mmdial_data.arrow.arrow_schema` (as :meth:`write` of each row)."""
        from mmdial_data.arrow import arrow_schema

        if not table.schema.equals(arrow_schema(), check_metadata=True):
            raise ValueError(f"{self.path}: table schema is not the unified schema:\n{table.schema}")
        if not table.num_rows:
            return
        self._hold_builder()
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self.count += table.num_rows
        if self._pending_rows >= self.row_group:
            self._flush()

    def _hold_builder(self) -> None:
        if len(self._builder):
            table = self._builder.finish()
            self._pending.append(table)
            self._pending_rows += table.num_rows

    def _flush(self, *, final: bool = False) -> None:
        """Write the full row groups held (and the rest too when ``final``)."""
        import pyarrow as pa

        self._hold_builder()
        if not self._pending:
            return
        table = self._pending[0] if len(self._pending) == 1 else pa.concat_tables(self._pending)
        end = table.num_rows if final else table.num_rows - table.num_rows % self.row_group
        for offset in range(0, end, self.row_group):
            self._run(self._write_group, table.slice(offset, self.row_group))
        rest = table.slice(end)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows

    def _write_group(self, table: pa.Table) -> None:
        # one chunk per column, as TableBuilder makes them: the same pages whatever the tables the rows came in
        self._writer.write_table(table.combine_chunks(), row_group_size=self.row_group)

    def _run(self, func: Callable[..., None], *args: Any) -> None:
        if self._executor is None:
            func(*args)
            return
        while self._futures and self._futures[0].done():
            self._futures.popleft().result()
        self._futures.append(self._executor.submit(func, *args))
        while len(self._futures) > self.MAX_QUEUED:
            self._futures.popleft().result()

    def close(self) -> int:
        """Write the last row group (an empty one for an empty file), close and move the file into place."""
        if self._tmp is None:
            return self.count
        try:
            self._flush(final=True)
            if self.count == 0:
                self._run(self._write_group, self._builder.finish())
        except BaseException:
            self.abort()
            raise
        tmp, self._tmp = self._tmp, None  # closed: _close_file moves the file into place
        self._run(self._close_file, tmp)
        return self.count

    def _close_file(self, tmp: Path) -> None:
        try:
            self._writer.close()
            self._writer = None
            os.replace(tmp, self.path)
        finally:
            self._close_writer(tmp)

    def _close_writer(self, tmp: Path) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        tmp.unlink(missing_ok=True)

    def wait(self) -> None:
        """Wait for the row groups (and the rename) queued on the executor; raises the first that failed."""
        while self._futures:
            self._futures.popleft().result()

    def abort(self) -> None:
        """Stop without producing a file (a file already moved into place by :meth:`close` stays)."""
        while self._futures:
            self._futures.popleft().exception()  # wait; the abort is the outcome
        if self._tmp is not None:
            self._close_writer(self._tmp)
            self._tmp = None

    def __enter__(self) -> ParquetDialogueWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
            self.wait()
        else:
            self.abort()


def write_parquet(
    dialogues: Iterable[Dialogue], path: str | os.PathLike[str], *, row_group: int = DEFAULT_ROW_GROUP
) -> int:
    """Write dialogues to one Parquet file atomically, ``row_group`` dialogues at a time.

    The output is deterministic: the same dialogues give byte-identical files.

    Returns:
        The number of dialogues written.
    """
    with ParquetDialogueWriter(path, row_group=row_group) as writer:
        for d in dialogues:
            writer.write(d)
    return writer.count


def write_jsonl(dialogues: Iterable[Dialogue], path: str | os.PathLike[str]) -> int:
    """Write dialogues as JSON Lines (``meta``/``extra`` as nested objects), atomically.

    Returns:
        The number of dialogues written.
    """
    path = Path(path)
    tmp = _atomic_target(path)
    count = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as fh:
            for d in dialogues:
                fh.write(dump_json(_jsonl_row(d)))
                fh.write("\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _jsonl_row(d: Dialogue) -> dict[str, Any]:
    row = d.to_dict()
    row["meta"] = d.meta
    for turn_row, turn in zip(row["turns"], d.turns, strict=True):
        turn_row["annotations"]["extra"] = turn.annotations.extra
    return row


def write_dialogues(dialogues: Iterable[Dialogue], path: str | os.PathLike[str]) -> int:
    """Write to ``.parquet`` or ``.jsonl`` by the file's suffix. Returns the number written."""
    path = Path(path)
    if _format_of(path) == "parquet":
        return write_parquet(dialogues, path)
    return write_jsonl(dialogues, path)


def read_parquet(path: str | os.PathLike[str], *, batch_size: int = DEFAULT_ROW_GROUP) -> Iterator[Dialogue]:
    """Yield the dialogues of a Parquet file (or a directory of ``*.parquet`` shards, sorted by name)."""
    import pyarrow.parquet as pq

    from mmdial_data.arrow import from_table

    path = Path(path)
    files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    for file in files:
        try:
            pf = pq.ParquetFile(file)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise SourceFormatError(f"not a readable Parquet file ({exc})", path=file) from exc
        missing = {"dialogue_id", "turns"} - set(pf.schema_arrow.names)
        if missing:
            raise SourceFormatError(f"not a unified-schema file: missing columns {sorted(missing)}", path=file)
        for i, batch in enumerate(pf.iter_batches(batch_size=batch_size)):
            try:
                yield from from_table(batch)
            except (KeyError, TypeError, ValueError) as exc:
                raise SourceFormatError(f"bad row in batch {i}: {exc}", path=file, record=f"batch {i}") from exc


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[Dialogue]:
    """Yield the dialogues of a JSON Lines file; a bad line raises an error naming file and line."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield Dialogue.from_dict(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise SourceFormatError(
                    f"not a unified-schema dialogue ({exc})", path=path, record=f"line {lineno}"
                ) from exc


def read_dialogues(path: str | os.PathLike[str]) -> Iterator[Dialogue]:
    """Read ``.parquet`` (file or shard directory) or ``.jsonl`` by suffix."""
    path = Path(path)
    if path.is_dir():
        return read_parquet(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if _format_of(path) == "parquet":
        return read_parquet(path)
    return read_jsonl(path)
