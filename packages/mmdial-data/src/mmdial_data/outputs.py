"""Atomic outputs: a file or folder is written under a temporary name beside its target and moved into place only
when complete, so a failure leaves no partial output, no empty folder, and an existing output untouched.

Example:
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "new" / "out.jsonl"
    >>> with staged(target, kind="file") as tmp:
    ...     _ = tmp.write_text("{}\\n")
    >>> target.read_text()
    '{}\\n'
    >>> with staged(target, kind="file") as tmp:  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ...
    mmdial_data.outputs.OutputExistsError: .../new/out.jsonl: already exists; pass --overwrite to replace it, ...
    >>> try:
    ...     with staged(target.parent / "sub" / "x.jsonl", kind="file") as tmp:
    ...         raise RuntimeError("failed half way")
    ... except RuntimeError:
    ...     pass
    >>> sorted(p.name for p in target.parent.iterdir())  # no partial file, no empty "sub" folder
    ['out.jsonl']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Literal

from mmdial_data.errors import MMDialDataError

Kind = Literal["file", "dir"]


class OutputError(MMDialDataError):
    """An output path that cannot be used as asked."""


class OutputExistsError(OutputError):
    """The output exists and replacing it was not asked for."""


class EmptyOutputError(OutputError):
    """The command would write an output with no dialogue (and that was not allowed)."""


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def check_output(path: str | os.PathLike[str], *, kind: Kind, overwrite: bool = False) -> None:
    """Raise :class:`OutputError` when ``path`` cannot take an output of ``kind``: a folder where a file goes, a
    file where a folder goes, or (without ``overwrite``) an existing output; an empty folder counts as free."""
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise OutputError("is a folder; name the output file (.parquet or .jsonl)", path=path)
    if kind == "dir" and path.exists() and not path.is_dir():
        raise OutputError("is a file, not a folder; name a new or empty folder", path=path)
    if not overwrite and path.exists() and not _is_empty_dir(path):
        raise OutputExistsError("already exists; pass --overwrite to replace it, or choose another path", path=path)


def make_parents(path: Path) -> list[Path]:
    """Create the missing parent folders of ``path``; returns those created, deepest first (for removal)."""
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"cannot create it: {parent} is a file, not a folder; choose another path", path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return missing


def remove_dirs(dirs: list[Path]) -> None:
    """Remove the (empty) folders ``dirs``, in order, ignoring those that are not empty or gone."""
    for d in dirs:
        with suppress(OSError):
            d.rmdir()


def remove(path: Path) -> None:
    """Remove a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def staged(path: str | os.PathLike[str], *, kind: Kind, overwrite: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write the output to; moved to ``path`` when the block succeeds.

    A file output is a sibling name with the same suffix (so format detection by suffix works); a folder output
    an empty temporary folder. On success the output replaces ``path`` (a folder as a whole: what was there is
    removed after the new one is in place). On failure the temporary output and any parent folder this created
    are removed, and ``path`` is as it was. :func:`check_output` runs first.
    """
    path = Path(path)
    check_output(path, kind=kind, overwrite=overwrite)
    created = make_parents(path)
    try:
        if kind == "file":
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}", dir=path.parent)
            os.close(fd)
            tmp = Path(name)
            tmp.unlink()  # writers create it (some refuse an existing file)
        else:
            tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except BaseException:
        remove_dirs(created)
        raise
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        remove(tmp)
        remove_dirs(created)
        raise


def commit(tmp: Path, path: Path) -> None:
    """Move the finished output ``tmp`` to ``path``, replacing what is there (a folder: moved aside first, so
    ``path`` never holds a mix of old and new; removed once the new one is in place)."""
    if kind_of(tmp) == "file" or not path.exists():
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    remove(old)
    os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.replace(old, path)
        raise
    remove(old)


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The process's umask when this module was imported: temporaries get the permissions a new file would get
#: (``mkstemp`` makes them 0600, which would survive the rename).
_UMASK = _read_umask()


@contextmanager
def atomic_path(target: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """A temporary file beside ``target`` that replaces ``target`` when the block succeeds; removed if it fails.

    The one atomic file writer for the project's internal files (caches, shards, indexes, weights, run state):
    no check for an existing ``target`` (it is replaced, as a cache entry or a resumed run's file must be; user
    outputs go through :func:`staged`, which refuses to replace without ``overwrite``). The temporary name
    (``.<name>.<random>.partial``) is hidden, has no data suffix (a reader globbing ``*.parquet`` never takes a
    half-written file; pass writers a file handle where they would add a suffix) and is shown as ``target`` in
    errors.
    ``fsync``: flush the file to disk before the rename, so a crash leaves the old file or the whole new one.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
        ('done', ['a.txt'])
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        if fsync and tmp.is_file():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``target`` atomically (:func:`atomic_path`)."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files interrupted atomic writes left in ``folder``; returns what was removed."""
    removed = []
    for p in sorted({*Path(folder).glob(".*.tmp-*"), *Path(folder).glob(".*.partial")}):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def kind_of(path: Path) -> Kind:
    """``"dir"`` for a folder, else ``"file"``."""
    return "dir" if path.is_dir() else "file"


__all__ = [
    "EmptyOutputError",
    "OutputError",
    "OutputExistsError",
    "atomic_path",
    "check_output",
    "commit",
    "remove_stale_temporaries",
    "staged",
    "write_text_atomic",
]
