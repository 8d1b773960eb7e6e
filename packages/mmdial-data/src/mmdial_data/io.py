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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmdial_data.errors import SourceFormatError
from mmdial_data.schema import Dialogue, dump_json

#: Dialogues per Parquet row group (and per JSONL flush).
DEFAULT_ROW_GROUP = 512


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
    exception inside ``with``) leaves no file behind. The same dialogues give byte-identical files.

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

    def __init__(self, path: str | os.PathLike[str], *, row_group: int = DEFAULT_ROW_GROUP):
        import pyarrow.parquet as pq

        from mmdial_data.arrow import TableBuilder, arrow_schema

        self.path = Path(path)
        self.row_group = row_group
        self.count = 0
        self._tmp = _atomic_target(self.path)
        self._builder = TableBuilder()
        self._writer: Any = pq.ParquetWriter(self._tmp, arrow_schema(), compression="zstd", write_statistics=True)

    def write(self, d: Dialogue) -> None:
        """Add one dialogue; a full row group is written out."""
        self._builder.append(d)
        self.count += 1
        if len(self._builder) >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        self._writer.write_table(self._builder.finish(), row_group_size=self.row_group)

    def close(self) -> int:
        """Write the last row group (an empty one for an empty file), close and move the file into place."""
        if self._writer is None:
            return self.count
        try:
            if len(self._builder) or self.count == 0:
                self._flush()
            self._writer.close()
            self._writer = None
            os.replace(self._tmp, self.path)
        finally:
            self.abort()
        return self.count

    def abort(self) -> None:
        """Stop without producing a file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ParquetDialogueWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
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
