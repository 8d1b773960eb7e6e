"""Errors and the skip report shared by readers, validation and the builder.

Every error names the file and the record (line number, dialogue id, list index) it is about.

Example:
    >>> err = SourceFormatError("bad act count", path="acts.txt", record="line 3")
    >>> str(err)
    'acts.txt, line 3: bad act count'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from typing import Literal

OnError = Literal["raise", "skip"]


class MMDialDataError(ValueError):
    """Base class: a problem with input data, located by file and record."""

    def __init__(self, message: str, *, path: str | PathLike[str] | None = None, record: str | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.record = record
        super().__init__(self._format())

    def _format(self) -> str:
        where = ", ".join(x for x in (self.path, self.record) if x)
        return f"{where}: {self.message}" if where else self.message


class SourceFormatError(MMDialDataError):
    """A source file does not follow its format (truncated JSON, misaligned label files, broken lines)."""


class ValidationError(MMDialDataError):
    """A dialogue breaks the unified schema's rules."""


class ImagePathError(MMDialDataError):
    """An image URI cannot be resolved safely (missing, or escaping the image root)."""


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it.

    >>> str(MissingExtraError("datasets", "hf", "`mmdial export hf`"))
    '`mmdial export hf` needs datasets, which is not installed; pip install "mmdial-data[hf]"'
    """

    def __init__(self, module: str, extra: str, what: str, *, dist: str = "mmdial-data"):
        self.extra = extra
        super().__init__(f'{what} needs {module}, which is not installed; pip install "{dist}[{extra}]"', name=module)


@dataclass
class Skipped:
    """One record left out under ``on_error="skip"``."""

    path: str | None
    record: str | None
    reason: str


@dataclass
class ErrorPolicy:
    """What to do with a bad record: raise (default) or skip it and remember it.

    Example:
        >>> policy = ErrorPolicy("skip")
        >>> policy.handle(SourceFormatError("broken", path="f.txt", record="line 2"))
        >>> [s.record for s in policy.skipped]
        ['line 2']
    """

    on_error: OnError = "raise"
    skipped: list[Skipped] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {self.on_error!r}")

    def handle(self, error: MMDialDataError) -> None:
        """Raise ``error`` or, when skipping, record it."""
        if self.on_error == "raise":
            raise error
        self.skipped.append(Skipped(path=error.path, record=error.record, reason=error.message))
