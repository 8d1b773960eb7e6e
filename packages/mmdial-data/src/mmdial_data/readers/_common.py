"""Helpers shared by the readers: decoding with located errors, JSON loading, split names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmdial_data.errors import SourceFormatError

#: Split names as they appear in file and folder names of public releases.
KNOWN_SPLITS = ("train", "valid", "validation", "dev", "val", "test")


def infer_split(path: Path, default: str = "train") -> str:
    """Guess the split from a file or folder name (``valid_self_original.txt`` -> ``valid``).

    >>> infer_split(Path("data/train/dialogues_001.json"))
    'train'
    >>> infer_split(Path("dialogues_validation.txt"))
    'validation'
    """
    for part in [path.name, *[p.name for p in path.parents]]:
        stem = part.split(".")[0].lower()
        for token in stem.replace("-", "_").split("_"):
            if token in KNOWN_SPLITS:
                return token
    return default


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` of a UTF-8 text file without the line ending.

    A line that is not valid UTF-8 raises :class:`SourceFormatError` naming file and line.
    """
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceFormatError(
                    f"not valid UTF-8 at byte {exc.start} ({exc.reason})", path=path, record=f"line {lineno}"
                ) from exc
            yield lineno, text.rstrip("\r\n")


def load_json(path: Path) -> Any:
    """Load a JSON file; truncated or malformed JSON raises an error naming file, line and column."""
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"malformed JSON ({exc.msg})", path=path, record=f"line {exc.lineno} column {exc.colno}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=path) from exc


def expect(condition: bool, message: str, *, path: Path, record: str) -> None:
    """Raise :class:`SourceFormatError` unless ``condition`` holds."""
    if not condition:
        raise SourceFormatError(message, path=path, record=record)
