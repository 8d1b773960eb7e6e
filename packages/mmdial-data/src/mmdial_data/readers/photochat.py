"""PhotoChat reader (Zang et al., 2021; ``train/``, ``dev/``, ``test/`` folders of ``*_NN.json``).

Each file is a JSON list of ``{"dialogue": [turns], "dialogue_id", "photo_description", "photo_url"}`` (newer
versions add ``photo_id``); a turn is ``{"message", "share_photo", "user_id"}``. The ``share_photo`` turn becomes an
image turn: its text is the message (``""`` in the release) and it carries an :class:`ImageRef` (level ``turn``,
``source="photochat"``, ``uri`` the photo URL, ``caption`` the photo description, ``image_id`` the ``photo_id`` or
the URL's file stem), with ``extra["share_photo"] = True``. Users 0 and 1 are roles ``speaker_a``/``speaker_b``. The
photo fields and the original id go to ``meta``. The split comes from the folder (``dev`` becomes ``validation``:
``read_source`` gives the canonical names of :mod:`mmdial_data.splits`); ids are ``photochat/<split>/<file
stem>/<dialogue_id>``.

The object path (one item at a time, every error located) is :mod:`._photochat_items`; the columnar fast path
builds unified tables of regular items in :mod:`._photochat_tables`.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from itertools import chain, islice
from pathlib import Path
from types import GenericAlias
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_json_array, json_files
from mmdial_data.readers._photochat_items import SOURCE as SOURCE
from mmdial_data.readers._photochat_items import _dialogues
from mmdial_data.readers._photochat_tables import (
    _DIALOGUE,
    _DIALOGUE_ID,
    _MESSAGE_OF,
    _PHOTO_DESCRIPTION,
    _PHOTO_ID,
    _PHOTO_URL,
    _SHARE_OF,
    _regular_table,
    _string_arrays,
    _table,
    _users,
)
from mmdial_data.readers._typed_json import decode_arrow_json, decode_typed_json
from mmdial_data.schema import Dialogue

if TYPE_CHECKING:
    import pyarrow as pa

LICENSE = "CC BY 4.0 (as described by the PhotoChat++ card; the google-research repository is Apache-2.0)"
CITATION = (
    "Zang et al. 2021, PhotoChat: A Human-Human Dialogue Dataset with Photo Sharing Behavior for Joint "
    "Image-Text Modeling, ACL"
)


def read_photochat(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield PhotoChat dialogues from a JSON file or a folder of them.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_photochat(demo_dir() / "photochat", split=None, policy=ErrorPolicy()))
        >>> shared = [t for t in d.turns if t.images][0]
        >>> shared.text, shared.images[0].caption
        ('', 'The photo has a golden retriever. Objects in the photo: Dog, Grass')
    """
    for file in json_files(path):
        split_name = split or infer_split(file)
        try:
            for index, raw in iter_json_array(file):
                yield from _dialogues([(index, raw)], split_name, file, policy)
        except SourceFormatError as exc:
            policy.handle(exc)


#: Items per table of :func:`read_photochat_batches`: one Parquet row group of the builder's writer
#: (:data:`mmdial_data.io.DEFAULT_ROW_GROUP`): a full table is written as it is, without concatenation or slicing.
BATCH_SIZE = 2048


def read_photochat_batches(
    path: Path, *, split: str | None, policy: ErrorPolicy, batch_size: int = BATCH_SIZE
) -> Iterator[pa.Table | Dialogue]:
    """The columnar fast path of :func:`read_photochat`: the same dialogues, in the same order, with the same
    errors, but a batch of regular items comes as one unified Arrow table (equal to
    :func:`mmdial_data.arrow.to_table` of the dialogues :func:`read_photochat` yields for it). A batch with
    anything unusual (extra fields, other types, an item the reader rejects) is read item by item by the
    object path and comes as :class:`Dialogue` objects.

    Each file is decoded the first of three ways that takes it: by ``pyarrow.json`` into Arrow columns
    (:func:`~mmdial_data.readers._typed_json.decode_arrow_json`: exactly the four release fields, no ``photo_id``),
    on a thread one file ahead of the caller; by ``msgspec`` into typed records (the release's fields with
    ``photo_id`` and string ids too); else item by item (``ijson`` or ``json``), where every error is located.

    Example:
        >>> from mmdial_data.arrow import to_table
        >>> from mmdial_data.testing import demo_dir
        >>> [table] = read_photochat_batches(demo_dir() / "photochat", split=None, policy=ErrorPolicy())
        >>> table.equals(to_table(read_photochat(demo_dir() / "photochat", split=None, policy=ErrorPolicy())))
        True
    """
    for file, columns in _decoded_ahead(json_files(path)):
        split_name = split or infer_split(file)
        if columns is not None:  # every item has exactly the four release fields, with their types
            for start in range(0, len(columns), batch_size):
                yield from _arrow_batch(columns.slice(start, batch_size), start, split_name, file, policy)
            del columns
            continue
        records = _decode_typed(file)
        if records is not None:  # every item has exactly the release's fields and types
            for start in range(0, len(records), batch_size):
                yield from _typed_batch(records[start : start + batch_size], start, split_name, file, policy)
            del records  # before the next file is decoded: one file's records in memory at a time
            continue
        items = _items_then_error(file)
        while batch := list(islice(items, batch_size)):
            error = batch.pop() if isinstance(batch[-1], SourceFormatError) else None
            yield from _batch(batch, split_name, file, policy)
            if error is not None:  # after the items before it, as read_photochat has them
                policy.handle(error)


def _decoded_ahead(files: list[Path]) -> Iterator[tuple[Path, pa.StructArray | None]]:
    """Each file with :func:`decode_arrow_json` of it (the release's items as Arrow columns, or None), the next
    file decoded on a thread while the caller works on this one (pyarrow.json releases the GIL): at most two
    files' columns in memory."""
    from concurrent.futures import ThreadPoolExecutor

    if not files:
        return
    item_type = _arrow_item_type()
    with ThreadPoolExecutor(1, thread_name_prefix="mmdial-json") as pool:
        ahead = pool.submit(decode_arrow_json, files[0], item_type)
        try:
            for i, file in enumerate(files):
                columns = ahead.result()
                if i + 1 < len(files):
                    ahead = pool.submit(decode_arrow_json, files[i + 1], item_type)
                yield file, columns
                del columns
        finally:
            ahead.cancel()


@cache
def _arrow_item_type() -> pa.StructType:
    """The four fields of a release item and their types as an Arrow struct for :func:`decode_arrow_json`
    (without ``photo_id``, which some items lack: a file with one goes to :func:`decode_typed_json`)."""
    import pyarrow as pa

    turn = pa.struct([("message", pa.string()), ("share_photo", pa.bool_()), ("user_id", pa.int64())])
    fields = [("dialogue", pa.list_(turn)), ("dialogue_id", pa.int64())]
    return pa.struct([*fields, ("photo_description", pa.string()), ("photo_url", pa.string())])


def _arrow_batch(
    items: pa.StructArray, start: int, split: str, file: Path, policy: ErrorPolicy
) -> Iterator[pa.Table | Dialogue]:
    """A batch of release items as Arrow structs (:func:`_arrow_item_type`; the first is item ``start`` of the
    file) as a unified table, or, when one breaks a rule of :func:`_dialogue`, item by item (object path)."""
    from mmdial_data.arrow import to_numpy

    dialogues = items.field("dialogue")
    turns = dialogues.flatten()
    table = _regular_table(
        items.field("dialogue_id"),
        items.field("photo_url"),
        items.field("photo_description"),
        None,
        to_numpy(dialogues.value_lengths()).astype("int64"),
        turns.field("message"),
        to_numpy(turns.field("share_photo")),
        to_numpy(turns.field("user_id")),
        split,
        file,
    )
    if table is not None:
        yield table
    else:
        yield from _dialogues(list(enumerate(items.to_pylist(), start)), split, file, policy)


def _decode_typed(file: Path) -> list[Any] | None:
    """The file's items decoded by msgspec into :func:`_typed_item` records, or None (msgspec not installed: it
    is the optional ``stream`` extra, and the generic path then reads the file, with the same results)."""
    try:
        import msgspec  # noqa: F401
    except ImportError:
        return None
    return decode_typed_json(file, _typed_item())


@cache
def _typed_item() -> Any:
    """The msgspec type of a release item: exactly its fields and types (integers within 64 bits, as the
    incremental parser requires), so a decoded item holds everything its JSON had."""
    from typing import Annotated

    import msgspec

    int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

    turn = msgspec.defstruct(
        "PhotoChatTurn",
        [("message", str), ("share_photo", bool), ("user_id", int64)],
        forbid_unknown_fields=True,
        gc=False,
    )
    return msgspec.defstruct(
        "PhotoChatItem",
        [
            ("dialogue", GenericAlias(list, (turn,))),
            ("dialogue_id", int64 | str),
            ("photo_description", str),
            ("photo_url", str),
            ("photo_id", str | msgspec.UnsetType, msgspec.UNSET),
        ],
        forbid_unknown_fields=True,
        gc=False,
    )


def _typed_batch(
    records: list[Any], start: int, split: str, file: Path, policy: ErrorPolicy
) -> Iterator[pa.Table | Dialogue]:
    """A batch of decoded release items (the first is item ``start`` of the file) as a table, or, when one
    breaks a rule of :func:`_dialogue`, item by item through the object path."""
    import msgspec
    import numpy as np

    dialogues = list(map(_DIALOGUE, records))
    turns = list(chain.from_iterable(dialogues))
    given = list(map(_PHOTO_ID, records))
    photo_ids = None if given.count(msgspec.UNSET) == len(given) else [None if p is msgspec.UNSET else p for p in given]
    strings = _string_arrays(
        list(map(_PHOTO_URL, records)), list(map(_PHOTO_DESCRIPTION, records)), list(map(_MESSAGE_OF, turns))
    )
    table = None
    if strings is not None:
        urls, descriptions, text = strings
        table = _regular_table(
            list(map(_DIALOGUE_ID, records)),
            urls,
            descriptions,
            photo_ids,
            np.fromiter(map(len, dialogues), np.int64, len(dialogues)),
            text,
            np.frombuffer(bytearray(map(_SHARE_OF, turns)), bool),  # bools as bytes: faster than np.fromiter
            _users(turns),
            split,
            file,
        )
    if table is not None:
        yield table
    else:
        yield from _dialogues(list(enumerate(msgspec.to_builtins(records), start)), split, file, policy)


def _items_then_error(file: Path) -> Iterator[Any]:
    """``(index, item)`` of the file's list, then the error that ended it early, if any (as a value)."""
    try:
        yield from iter_json_array(file)
    except SourceFormatError as exc:
        yield exc


def _batch(items: list[tuple[int, Any]], split: str, file: Path, policy: ErrorPolicy) -> Iterator[pa.Table | Dialogue]:
    if not items:
        return
    table = _table(items, split, file)
    if table is None:
        yield from _dialogues(items, split, file, policy)
    else:
        yield table
