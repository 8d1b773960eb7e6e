"""How the ``mmdial`` command line reports an error: one line (:func:`error_line`) and an exit status.

``mmdial: error: <file>[:<record>]: <what is wrong>; <what to do>``, status 2 for a user error
(:class:`UsageError`, :class:`~mmdial_data.errors.MMDialDataError`, a missing module, an ``OSError``,
``KeyError``/``ValueError``), 1 for anything unexpected; temporary names of atomic outputs shown as the output's
name (:func:`shown_path`). Used by :func:`mmdial_data.cli.main`, which re-exports these names.
"""

from __future__ import annotations

import argparse
import errno
import os
import re

#: Exit status of a user error (bad usage or bad input) and of an unexpected error (a bug).
USER_ERROR_STATUS, INTERNAL_ERROR_STATUS = 2, 1


class UsageError(Exception):
    """Bad usage: reported as one line, exit status 2."""


#: A temporary name of an atomic output (``.<name>.tmp-<pid>``, ``.<name>.<random>.partial[.suffix]``): errors
#: name the output, not its temporary file.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+?)\.(?:tmp-\d+|[A-Za-z0-9_]+\.partial(?:\.[A-Za-z0-9]+)?|old-\d+)$")
_EXTRA_HINT = re.compile(r"pip install ")


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as an error shows it: each temporary name of an atomic output replaced by the output's name.

    >>> shown_path("out/.dd.parquet.tmp-123"), shown_path("/a/.build.k2j_x1.partial/data/train/x.parquet")
    ('out/dd.parquet', '/a/build/data/train/x.parquet')
    """
    text = os.fspath(path)
    parts = text.split(os.sep)
    return os.sep.join(m.group("name") if (m := _TEMP_NAME.match(part)) else part for part in parts)


_OS_HINTS = {
    errno.ENOENT: "check the path",
    errno.EACCES: "check its permissions, or choose another location",
    errno.EPERM: "check its permissions, or choose another location",
    errno.EROFS: "the file system is read-only; choose another location",
    errno.EISDIR: "a folder is where a file is expected; name a file",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EEXIST: "pass --overwrite to replace it, or choose another path",
    errno.ENOSPC: "free some disk space, or choose another location",
}


def error_line(exc: BaseException, args: argparse.Namespace | None = None) -> tuple[str, int]:
    """The one line ``mmdial: error: <file>[:<record>]: <what is wrong>; <what to do>`` for an exception, and
    the exit status (2 for a user error, 1 for anything unexpected).

    >>> from mmdial_data.errors import SourceFormatError
    >>> error_line(SourceFormatError("bad act count", path="acts.txt", record="line 3"))
    ('mmdial: error: acts.txt:line 3: bad act count; fix the record, or pass --on-error skip to leave it out', 2)
    >>> error_line(FileNotFoundError(2, "No such file or directory", "in/x.json"))
    ('mmdial: error: in/x.json: no such file or directory; check the path', 2)
    """
    from mmdial_data.errors import ImagePathError, MMDialDataError

    status = USER_ERROR_STATUS
    hint: str | None
    if isinstance(exc, UsageError):
        message = str(exc)
        prog = message.split(":", 1)[0] if message.startswith("mmdial") else "mmdial"
        hint = f"see `{prog} --help`"
    elif isinstance(exc, MMDialDataError):
        where = ":".join(x for x in (None if exc.path is None else shown_path(exc.path), exc.record) if x)
        message = f"{where}: {exc.message}" if where else exc.message
        if isinstance(exc, ImagePathError):
            hint = "check the image URI and the image root (--image-root)"
        elif exc.record is not None:
            hint = "fix the record, or pass --on-error skip to leave it out"
            if getattr(args, "on_error", "raise") == "skip":
                hint = "fix the record"
        else:
            hint = "check the path, and that the reader fits the dataset (`mmdial sources`)"
    elif isinstance(exc, ImportError):
        message = str(exc).replace(": pip install ", "; pip install ")
        hint = None
        if not _EXTRA_HINT.search(message):
            name = exc.name or "a module"
            message = f"{name} is not installed ({exc})"
            hint = f"pip install {name.split('.')[0]} (or the package extra that provides it)"
    elif isinstance(exc, OSError):
        if exc.filename is not None:
            what = (exc.strerror or str(exc)).lower()
            message = f"{shown_path(exc.filename)}: {what}"
            if exc.filename2 is not None:
                message = f"{shown_path(exc.filename)} -> {shown_path(exc.filename2)}: {what}"
        else:
            message = str(exc)
        hint = _OS_HINTS.get(exc.errno or 0, "check the path")
    elif isinstance(exc, KeyError):
        message = str(exc.args[0]) if exc.args else repr(exc)
        hint = _usage_hint(args)
    elif isinstance(exc, ValueError):
        message = str(exc)
        hint = _usage_hint(args)
    else:
        message = f"internal error: {type(exc).__name__}: {exc}"
        hint = "this is a bug: rerun with --debug for the traceback and report it"
        status = INTERNAL_ERROR_STATUS
    if hint and "; " not in message:
        message = f"{message}; {hint}"
    return "mmdial: error: " + " ".join(message.split("\n")).strip(), status


def _usage_hint(args: argparse.Namespace | None) -> str:
    command = [getattr(args, k, None) for k in ("command", "export_format")]
    return f"see `{' '.join(['mmdial', *(c for c in command if isinstance(c, str))])} --help`"
