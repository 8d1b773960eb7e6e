"""Helpers shared by the readers: decoding with located errors, JSON loading, split names."""

from __future__ import annotations

import codecs
import gc
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import SourceFormatError
from mmdial_data.splits import FILE_NAME_TOKENS

if TYPE_CHECKING:
    import pyarrow as pa

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


#: Files up to this size may be decoded whole by a reader's fast paths (:func:`decode_arrow_json`,
#: :func:`decode_typed_json`); the decoded records of one file are held at once (two with the Arrow path, which
#: decodes the next file while the reader works on this one), so this bounds memory per file, not per input.
#: Set ``MMDIAL_TYPED_JSON_MB`` to change it (0: never).
TYPED_JSON_BYTES = int(float(os.environ.get("MMDIAL_TYPED_JSON_MB", "64")) * 2**20)

_DECODERS: dict[Any, Any] = {}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (when it is on). Decoding a large file allocates
    many container objects (a list per record, say), each of which counts towards the next collection: the
    collections that triggers while the decoder runs (~8% of its time) cannot free anything it is building.

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def decode_typed_json(path: Path, record_type: Any) -> list[Any] | None:
    """The file's top-level JSON list decoded straight into ``list[record_type]`` by ``msgspec``, or None.

    ``record_type`` is a ``msgspec.Struct`` describing the regular records of a format exactly (strict types,
    ``forbid_unknown_fields``), so every decoded record holds all of its source's data. None when msgspec is
    not installed (``pip install "mmdial-data[stream]"``), the file is larger than :data:`TYPED_JSON_BYTES`,
    or anything in it does not fit the type (malformed JSON included): the caller then reads the file the
    generic way, which keeps every field and reports problems with their location.

    >>> import msgspec, tempfile
    >>> class Row(msgspec.Struct, forbid_unknown_fields=True):
    ...     a: int
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text('[{"a": 1}, {"a": 2}]')
    >>> decode_typed_json(p, Row)
    [Row(a=1), Row(a=2)]
    >>> _ = p.write_text('[{"a": 1}, {"a": 2, "b": 3}]')
    >>> decode_typed_json(p, Row) is None
    True
    >>> _ = p.write_bytes(b'[{"a": 1, "\\xff": 2}]')  # not UTF-8
    >>> decode_typed_json(p, Row) is None
    True
    """
    if not 0 < path.stat().st_size <= TYPED_JSON_BYTES:
        return None
    try:
        import msgspec
    except ImportError:
        return None
    decoder = _DECODERS.get(record_type)
    if decoder is None:
        decoder = _DECODERS[record_type] = msgspec.json.Decoder(list[record_type])
    data = path.read_bytes()
    try:
        with gc_paused():
            records: list[Any] = decoder.decode(data)
    except (msgspec.MsgspecError, UnicodeDecodeError):  # malformed, another shape, a string not UTF-8
        return None
    return records


def decode_arrow_json(path: Path, item_type: pa.StructType) -> pa.StructArray | None:
    """The file's top-level JSON list of objects as an Arrow struct array of exactly ``item_type``, or None.

    ``pyarrow.json`` parses the file (as the value of a one-field object), with the GIL released, and strictly:
    malformed JSON, an object with a field the type lacks, a value of another JSON type, a number that is not a
    64-bit integer where one is expected, a lone surrogate, invalid UTF-8 all make it fail. A missing field or a
    JSON ``null`` would come out as a null, so the answer is None when any value at any depth is null (the
    type's fields are all required). None also when ``pyarrow.json`` is missing, the list is empty, or the
    file is over :data:`TYPED_JSON_BYTES`: the caller then tries the next way (:func:`decode_typed_json`, then
    the generic reader), which keeps every field and reports problems with their location.

    >>> import pyarrow as pa, tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> item = pa.struct([("a", pa.int64()), ("b", pa.list_(pa.string()))])
    >>> _ = p.write_text('[{"a": 1, "b": ["x"]},\\n {"b": [], "a": -2}]')
    >>> decode_arrow_json(p, item).to_pylist()
    [{'a': 1, 'b': ['x']}, {'a': -2, 'b': []}]
    >>> for other in ('[{"a": 1.5, "b": []}]', '[{"a": 1}]', '[{"a": 1, "b": [null]}]', '[{"a": 1, "b": [], "c": 0}]',
    ...               '{"a": 1, "b": []}', '[{"a": 1, "b": []}] []', '[]'):
    ...     _ = p.write_text(other)
    ...     print(decode_arrow_json(p, item))
    None
    None
    None
    None
    None
    None
    None
    """
    size = path.stat().st_size
    if not 0 < size <= TYPED_JSON_BYTES:
        return None
    try:
        import pyarrow as pa
        import pyarrow.json as pa_json
    except ImportError:
        return None
    head, tail = b'{"items":', b"\n}"
    data = bytearray(len(head) + size + len(tail))  # the file read into place: no copy
    data[: len(head)] = head
    with path.open("rb") as f:
        got = f.readinto(memoryview(data)[len(head) : len(head) + size])
    if got != size:  # the file changed while being read
        return None
    data[len(head) + size :] = tail
    schema = pa.schema([("items", pa.list_(item_type))])
    read = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    parse = pa_json.ParseOptions(explicit_schema=schema, newlines_in_values=True, unexpected_field_behavior="error")
    try:
        # malloc's pool, not pyarrow's default (mimalloc, which keeps what a parse freed: ~50 MB more peak RSS)
        pool = pa.system_memory_pool()
        table = pa_json.read_json(pa.py_buffer(data), read_options=read, parse_options=parse, memory_pool=pool)
        table.validate(full=True)  # UTF-8
    except pa.ArrowInvalid:
        return None
    if table.num_rows != 1 or not table.schema.equals(schema) or _has_nulls(table.column("items")):
        return None
    items = table.column("items").chunk(0).flatten()
    return items if len(items) else None


def _has_nulls(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a null is anywhere in ``values``, nested lists and structs included."""
    import pyarrow as pa

    if values.null_count:
        return True
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        if isinstance(chunk, pa.ListArray) and _has_nulls(chunk.flatten()):
            return True
        if isinstance(chunk, pa.StructArray) and any(_has_nulls(f) for f in chunk.flatten()):
            return True
    return False


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
