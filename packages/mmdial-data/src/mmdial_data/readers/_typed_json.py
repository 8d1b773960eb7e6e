"""Whole-file JSON decoding into exact types for the readers' fast paths: :func:`decode_arrow_json` (an Arrow
struct array, by ``pyarrow.json``) and :func:`decode_typed_json` (``msgspec`` structs), each None when the file
does not fit its type, so the caller falls back to the generic, located reading of :mod:`._common`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


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
    collections that triggers while the decoder runs cost time and cannot free anything it is building.

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
        # malloc's pool, not pyarrow's default (mimalloc, which keeps what a parse freed: a higher peak RSS)
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
