"""The reader registry: named functions from source files to ``Iterator[Dialogue]``.

Built-in readers are listed here by name and imported on first use; third-party packages add readers
through the ``mmdial.readers`` entry-point group or :func:`register_reader`.

Example:
    >>> from mmdial_data.readers import get_reader, list_readers
    >>> "dailydialog" in [r.name for r in list_readers()]
    True
    >>> get_reader("dailydialg")
    Traceback (most recent call last):
    ...
    KeyError: "unknown reader 'dailydialg'; did you mean 'dailydialog'?"
"""

from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mmdial_data.errors import ErrorPolicy, OnError
from mmdial_data.schema import Dialogue


class ReaderFunc(Protocol):
    """Signature of a reader: one path (file or directory) to dialogues."""

    def __call__(self, path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]: ...


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader: its name, a one-line description and where its function lives."""

    name: str
    description: str
    target: str | ReaderFunc

    def load(self) -> ReaderFunc:
        """Import and return the reader function."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        func: ReaderFunc = getattr(importlib.import_module(module), attr)
        return func


_BUILTIN: dict[str, tuple[str, str]] = {
    "sgd": (
        "Schema-Guided Dialogue (DSTC8) dialogues_*.json + schema.json: frames, acts, slot spans, state, service calls",
        "mmdial_data.readers.sgd:read_sgd",
    ),
    "dailydialog": (
        "DailyDialog dialogues_*.txt with aligned act and emotion label files",
        "mmdial_data.readers.dailydialog:read_dailydialog",
    ),
    "personachat": (
        "Persona-Chat / ConvAI2 ParlAI text: personas, *_no_cands, *_both_*, label candidates",
        "mmdial_data.readers.personachat:read_personachat",
    ),
}

_REGISTRY: dict[str, ReaderInfo] = {}
_LOADED_ENTRY_POINTS = False


def _ensure_loaded() -> None:
    global _LOADED_ENTRY_POINTS
    for name, (description, target) in _BUILTIN.items():
        _REGISTRY.setdefault(name, ReaderInfo(name, description, target))
    if not _LOADED_ENTRY_POINTS:
        _LOADED_ENTRY_POINTS = True
        from importlib.metadata import entry_points

        for ep in entry_points(group="mmdial.readers"):
            doc = ""
            _REGISTRY.setdefault(ep.name, ReaderInfo(ep.name, doc or f"reader from {ep.value}", ep.value))


def register_reader(name: str, description: str) -> Callable[[ReaderFunc], ReaderFunc]:
    """Register a reader function under ``name`` (a decorator).

    Example:
        >>> from mmdial_data import Dialogue, Turn
        >>> @register_reader("one_line", "one utterance per line")
        ... def read_one_line(path, *, split, policy):
        ...     lines = path.read_text().splitlines()
        ...     yield Dialogue(f"one_line/{split or 'train'}/{path.stem}", "one_line", split or "train",
        ...                    [Turn(i, "A", "speaker_a", t) for i, t in enumerate(lines)])
        >>> get_reader("one_line").description
        'one utterance per line'
    """

    def decorator(func: ReaderFunc) -> ReaderFunc:
        _ensure_loaded()
        if name in _REGISTRY:
            raise ValueError(f"reader {name!r} is already registered")
        _REGISTRY[name] = ReaderInfo(name, description, func)
        return func

    return decorator


def list_readers() -> list[ReaderInfo]:
    """All registered readers, sorted by name."""
    _ensure_loaded()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def get_reader(name: str) -> ReaderInfo:
    """The reader called ``name``; an unknown name raises ``KeyError`` with close matches."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(_REGISTRY))}"
        raise KeyError(f"unknown reader {name!r}{hint}") from None


def read_source(
    name: str,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    split: str | None = None,
    on_error: OnError | ErrorPolicy = "raise",
) -> Iterator[Dialogue]:
    """Read dialogues from ``paths`` with the reader ``name``, lazily.

    Args:
        name: A registered reader.
        paths: One path or several (files or directories, as the reader accepts).
        split: Override the split the reader infers from file names.
        on_error: ``"raise"`` (default) or ``"skip"``, or an :class:`ErrorPolicy` to collect skips in.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> dialogues = list(read_source("dailydialog", demo_dir() / "dailydialog"))
        >>> len(dialogues), dialogues[0].dialogue_id
        (3, 'dailydialog/train/1')
    """
    reader = get_reader(name).load()
    policy = on_error if isinstance(on_error, ErrorPolicy) else ErrorPolicy(on_error)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory (reader {name!r})")
        yield from reader(path, split=split, policy=policy)
