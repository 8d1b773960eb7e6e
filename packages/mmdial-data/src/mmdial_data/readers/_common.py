"""Helpers shared by the readers: decoding with located errors, JSON loading, split names.

The fast paths' whole-file typed decoding lives in :mod:`._typed_json` (its names are re-exported here).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import SourceFormatError
from mmdial_data.readers._typed_json import TYPED_JSON_BYTES as TYPED_JSON_BYTES
from mmdial_data.readers._typed_json import decode_arrow_json as decode_arrow_json
from mmdial_data.readers._typed_json import decode_typed_json as decode_typed_json
from mmdial_data.readers._typed_json import gc_paused as gc_paused
from mmdial_data.splits import FILE_NAME_TOKENS

if TYPE_CHECKING:
    from mmdial_data.errors import ErrorPolicy
    from mmdial_data.schema import Dialogue

#: Split names as they appear in file and folder names of public releases (:data:`mmdial_data.splits.FILE_NAME_TOKENS`).
KNOWN_SPLITS = FILE_NAME_TOKENS


def infer_split(path: Path, default: str = "train") -> str:
    """Guess the split from a file name token or a folder named exactly like a split.

    Only the file name and its own folder are looked at, so unrelated folders higher up do not count. The name is
    the release's (``dev``, ``val`` ...): ``read_source`` maps it to the canonical one (:mod:`mmdial_data.splits`).

    >>> infer_split(Path("data/train/dialogues_001.json"))
    'train'
    >>> infer_split(Path("dialogues_validation.txt"))
    'validation'
    >>> infer_split(Path("test_run/dialogues_001.json"))
    'train'
    """
    stem = path.name.split(".")[0].lower()
    for token in stem.replace("-", "_").split("_"):
        if token in KNOWN_SPLITS:
            return token
    if path.parent.name.lower() in KNOWN_SPLITS:
        return path.parent.name.lower()
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


def _ijson() -> Any:
    """The ``ijson`` module, or None when it is not installed (the json.load fallback is used then)."""
    if os.environ.get("MMDIAL_NO_IJSON"):
        return None
    try:
        import ijson
    except ImportError:  # optional: pip install "mmdial-data[stream]"
        return None
    return ijson


def _first_char(path: Path) -> str:
    with path.open("rb") as fh:
        while chunk := fh.read(4096):
            stripped = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
            if stripped:
                return chr(stripped[0])
    raise SourceFormatError("empty file, expected JSON", path=path, record="top level")


def _located_json_error(path: Path, exc: Exception, record: str) -> SourceFormatError:
    """What ijson's failure ``exc`` at ``record`` is reported as: the error the parser without ijson reports.

    A file that is not UTF-8 is reported as such (ijson only sees a lexical error); otherwise the record where
    parsing stopped, without ijson's own text (which the fallback cannot give), so the error line is the same
    with and without ijson.
    """
    return _utf8_error(path) or SourceFormatError("malformed or truncated JSON", path=path, record=record)


def _utf8_error(path: Path) -> SourceFormatError | None:
    """The error :func:`load_json` gives for a file that is not valid UTF-8 (read in chunks), or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes read so far
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return SourceFormatError(f"not valid UTF-8 at byte {offset - pending + exc.start}", path=path)
            if not chunk:
                return None
            offset += len(chunk)


def _relocated_json_error(path: Path, exc: Exception, record: str) -> SourceFormatError:
    """ijson's failure on a nested path, reported as :func:`load_json` reports it where the file is small enough
    to load whole (up to :data:`TYPED_JSON_BYTES`), so the error is the same as without ijson."""
    if path.stat().st_size <= TYPED_JSON_BYTES:
        try:
            load_json(path)
        except SourceFormatError as located:
            return located
    return _located_json_error(path, exc, record)


_WS = re.compile(r"[ \t\n\r]*")


def _skip_ws(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return pos if m is None else m.end()


def _text_container(path: Path, close: str) -> Iterator[tuple[str | None, Any]]:
    """``(key, value)`` (key None in a list) of a top-level JSON list (``close="]"``) or object (``"}"``),
    parsed with :mod:`json` entry by entry (the file is read whole), the way ijson reads it: the entries
    before a malformed one are given, and the error names the entry as ijson's does (``item 3``,
    ``first entry``, ``entry after 'k'``)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=path) from exc
    decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_int64 if _LONG_DIGITS.search(raw) else None)
    index, last = 0, None

    def malformed() -> SourceFormatError:
        where = f"item {index}" if close == "]" else f"entry after {last!r}" if last is not None else "first entry"
        return SourceFormatError("malformed or truncated JSON", path=path, record=where)

    pos = _skip_ws(text, _skip_ws(text, 0) + 1)  # past the opener (checked by _first_char)
    if text.startswith(close, pos):
        pos += 1
    else:
        while True:
            key = None
            try:
                if close == "}":
                    key, pos = decoder.raw_decode(text, pos)
                    pos = _skip_ws(text, pos)
                    if not isinstance(key, str) or not text.startswith(":", pos):
                        raise malformed()
                    pos = _skip_ws(text, pos + 1)
                value, pos = decoder.raw_decode(text, pos)
            except ValueError as exc:  # JSONDecodeError, NaN, an integer beyond 64 bits
                raise malformed() from exc
            yield key, value
            index, last = index + 1, key
            pos = _skip_ws(text, pos)
            if text.startswith(",", pos):
                pos = _skip_ws(text, pos + 1)
                continue
            if not text.startswith(close, pos):
                raise malformed()
            pos += 1
            break
    if _skip_ws(text, pos) != len(text):
        raise malformed()


#: Files up to this size are parsed whole with :func:`json.loads` (faster to parse than ijson's item-by-item
#: parsing); larger ones incrementally with ijson, so a big file never has to fit in memory. Measured on 20 MB
#: PhotoChat files (benchmarks/bench_build.py), whole-file parsing saved no build CPU time (the garbage
#: collector then walks the whole parsed file) and raised peak RSS, hence the small default.
#: Set ``MMDIAL_WHOLE_FILE_JSON_MB`` to change it (0: always incremental).
WHOLE_FILE_JSON_BYTES = int(float(os.environ.get("MMDIAL_WHOLE_FILE_JSON_MB", "4")) * 2**20)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # ijson (the reference) rejects NaN/Infinity too


_LONG_DIGITS = re.compile(rb"[0-9]{19}")  # only then can an integer be out of ijson's 64-bit range


def _int64(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:  # ijson's C backend rejects integers beyond 64 bits
        raise ValueError(f"integer {text} out of range")
    return value


def _whole_file_items(path: Path, prefix: str) -> list[Any] | None:
    """The items at ``prefix`` (``a.b.item``) of a small file parsed whole, or None to let ijson decide.

    None for anything ijson could treat differently (malformed JSON, no list at the path), so errors and
    their locations stay exactly those of the incremental parser.
    """
    raw = path.read_bytes()
    try:
        parse_int = _int64 if _LONG_DIGITS.search(raw) else None
        data: Any = json.loads(raw, parse_constant=_reject_constant, parse_int=parse_int)
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        return None
    for part in prefix.split(".")[:-1]:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data if isinstance(data, list) else None


def iter_json_array(path: Path, prefix: str = "item") -> Iterator[tuple[int, Any]]:
    """Yield ``(index, item)`` of a JSON array, parsed incrementally with ``ijson`` when installed.

    ``prefix`` is the ijson path of the items (``"item"`` for a top-level list, ``"data.dialogs.item"`` for
    a nested one). Files up to :data:`WHOLE_FILE_JSON_BYTES` that parse cleanly are loaded whole (faster,
    same items). Without ``ijson`` the file is loaded whole with :func:`json.load`. A truncated or
    malformed file raises :class:`SourceFormatError` naming the file and the item being parsed
    (``item 1``; with the fallback, the line and column).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('[{"a": 1}, {"a": 2.5}]')
    >>> list(iter_json_array(p))
    [(0, {'a': 1}), (1, {'a': 2.5})]
    >>> _ = p.write_text('[{"a": 1}, {"a": ')
    >>> list(iter_json_array(p))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mmdial_data.errors.SourceFormatError: ...a.json, ...: malformed ...
    """
    if prefix == "item" and _first_char(path) != "[":
        raise SourceFormatError("expected a JSON list at the top level", path=path, record="top level")
    ijson = _ijson()
    if ijson is None and prefix == "item":
        yield from ((i, v) for i, (_, v) in enumerate(_text_container(path, "]")))
        return
    if ijson is None:
        data: Any = load_json(path)
        for part in prefix.split(".")[:-1]:
            data = data.get(part) if isinstance(data, dict) else None
        if not isinstance(data, list):
            raise SourceFormatError(f"expected a JSON list at {prefix!r}", path=path, record="top level")
        yield from enumerate(data)
        return
    if path.stat().st_size <= WHOLE_FILE_JSON_BYTES:
        items = _whole_file_items(path, prefix)
        if items is not None:
            yield from enumerate(items)
            return
    index = 0
    with path.open("rb") as fh:
        try:
            for item in ijson.items(fh, prefix, use_float=True):
                yield index, item
                index += 1
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            if prefix == "item":
                raise _located_json_error(path, exc, f"item {index}") from exc
            raise _relocated_json_error(path, exc, f"item {index}") from exc
    if index == 0 and prefix != "item" and not isinstance(json_value(path, prefix[: -len(".item")]), list):
        raise SourceFormatError(f"expected a JSON list at {prefix!r}", path=path, record="top level")


def iter_json_object(path: Path, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(key, value)`` of a JSON object (top level by default), incrementally with ``ijson``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "o.json"
    >>> _ = p.write_text('{"x": [1], "y": {"z": null}}')
    >>> list(iter_json_object(p))
    [('x', [1]), ('y', {'z': None})]
    """
    if not prefix and _first_char(path) != "{":
        raise SourceFormatError("expected a JSON object at the top level", path=path, record="top level")
    ijson = _ijson()
    if ijson is None and not prefix:
        yield from ((str(k), v) for k, v in _text_container(path, "}"))
        return
    if ijson is None:
        data: Any = load_json(path)
        for part in [p for p in prefix.split(".") if p]:
            data = data.get(part) if isinstance(data, dict) else None
        if not isinstance(data, dict):
            raise SourceFormatError(f"expected a JSON object at {prefix!r}", path=path, record="top level")
        yield from data.items()
        return
    last = None
    with path.open("rb") as fh:
        try:
            for key, value in ijson.kvitems(fh, prefix, use_float=True):
                last = key
                yield key, value
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            where = f"entry after {last!r}" if last is not None else "first entry"
            if not prefix:
                raise _located_json_error(path, exc, where) from exc
            raise _relocated_json_error(path, exc, where) from exc


def json_value(path: Path, prefix: str) -> Any:
    """The first value at ijson path ``prefix`` (``"split"``, ``"data.version"``), or None when absent.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "v.json"
    >>> _ = p.write_text('{"data": {"n": 3}, "split": "val"}')
    >>> json_value(p, "split"), json_value(p, "data.n"), json_value(p, "nope")
    ('val', 3, None)
    """
    ijson = _ijson()
    if ijson is None:
        data: Any = load_json(path)
        for part in prefix.split("."):
            data = data.get(part) if isinstance(data, dict) else None
        return data
    with path.open("rb") as fh:
        try:
            return next(iter(ijson.items(fh, prefix, use_float=True)), None)
        except (ijson.JSONError, UnicodeDecodeError) as exc:
            raise _relocated_json_error(path, exc, prefix) from exc


def json_files(path: Path, pattern: str = "*.json") -> list[Path]:
    """``path`` itself, or the files matching ``pattern`` under a folder (recursively, sorted)."""
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.rglob(pattern) if p.is_file())
    if not files:
        raise SourceFormatError(f"no {pattern} files in this folder", path=path)
    return files


def build_or_report(build: Callable[[], Dialogue], policy: ErrorPolicy, *, path: Path, record: str) -> Dialogue | None:
    """Build one dialogue; a format error, or a structure the reader did not expect, goes to ``policy``.

    Returns None when the record was skipped (``on_error="skip"``); raises under ``on_error="raise"``.

    >>> from mmdial_data.errors import ErrorPolicy
    >>> policy = ErrorPolicy("skip")
    >>> build_or_report(lambda: {}["turns"], policy, path=Path("d.json"), record="dialogue 3") is None
    True
    >>> policy.skipped[0].reason
    "unexpected structure (KeyError('turns'))"
    """
    try:
        return build()
    except SourceFormatError as exc:
        policy.handle(exc)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        policy.handle(SourceFormatError(f"unexpected structure ({exc!r})", path=path, record=record))
    return None
