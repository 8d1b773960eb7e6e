"""PhotoChat release items as unified Arrow tables (the columnar path of :mod:`mmdial_data.readers.photochat`):
a batch of regular items, from Python objects, ``msgspec`` records or Arrow columns, becomes one table equal to
:func:`mmdial_data.arrow.to_table` of what the object path (:mod:`._photochat_items`) makes of them, or None
when any item is not regular.
"""

from __future__ import annotations

import re
from itertools import chain
from json.encoder import encode_basestring
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.readers._photochat_items import _ROLES, SOURCE, _image_id
from mmdial_data.schema import SCHEMA_VERSION, dump_json

if TYPE_CHECKING:
    import pyarrow as pa


def _string_arrays(*columns: list[str]) -> tuple[pa.Array, ...] | None:
    """The lists as Arrow string arrays, or None when a string is not valid Unicode (a lone surrogate: the object
    path passes it on, and validation reports the dialogue)."""
    from mmdial_data.arrow import string_array

    try:
        return tuple(map(string_array, columns))
    except UnicodeEncodeError:
        return None


def _users(turns: list[Any]) -> Any:
    """The ``user_id`` of each typed turn as a numpy array (uint8 when all are bytes, else int64)."""
    import numpy as np

    try:
        return np.frombuffer(bytearray(map(_USER_OF, turns)), np.uint8)
    except ValueError:  # a user_id outside 0-255 (the batch then goes through the object path)
        return np.fromiter(map(_USER_OF, turns), np.int64, len(turns))


# fields of the typed records (:func:`_typed_item`)
_DIALOGUE, _DIALOGUE_ID, _PHOTO_URL, _PHOTO_DESCRIPTION, _PHOTO_ID = map(
    attrgetter, ("dialogue", "dialogue_id", "photo_url", "photo_description", "photo_id")
)
_MESSAGE_OF, _SHARE_OF, _USER_OF = map(attrgetter, ("message", "share_photo", "user_id"))
_DIALOGUE_FIELDS = itemgetter("dialogue", "dialogue_id", "photo_url", "photo_description")
_MESSAGE, _SHARE, _USER = itemgetter("message"), itemgetter("share_photo"), itemgetter("user_id")
_SHARE_EXTRA = dump_json({"share_photo": True})
_ABSENT = object()
#: Simple http(s) URLs, whose ``urlparse(url).path`` is the first group (no params, no IPv6 host, ASCII only).
_SIMPLE_URL = re.compile(r"https?://[^/?#\[\]]*((?:/[^?#;]*)?)(?:[?#].*)?", re.ASCII | re.DOTALL)


def _json_scalar(value: Any) -> str:
    """``dump_json(value)`` for a str or int (a bool is not an int here)."""
    return encode_basestring(value) if type(value) is str else int.__repr__(value)


def _image_id_fast(url: str) -> str:
    """:func:`_image_id` of an item without ``photo_id``: exact, with a shortcut for simple printable URLs."""
    m = _SIMPLE_URL.fullmatch(url) if url.isascii() and url.isprintable() and " " not in url else None
    if m is None:
        return _image_id({"photo_url": url})
    path = m.group(1)
    name = path[path.rfind("/") + 1 :]
    if name in ("", ".", ".."):  # PurePosixPath drops "." parts and trailing slashes: take the last real part
        parts = [x for x in path.split("/") if x and x != "."]
        name = parts[-1] if parts else ""
    i = name.rfind(".")
    return (name[:i] if 0 < i < len(name) - 1 else name) or url


#: One URL of a batch joined by spaces (:func:`_url_stems`): its stem when it is a printable http(s) URL whose
#: path ends in ``/<stem>.<ext>`` (a non-empty stem, an extension without dots, no ``;`` in the path), the case
#: where :data:`_SIMPLE_URL` matches and :func:`_image_id_fast` takes the stem; otherwise an empty string (the
#: second alternative matches the URL).
_SIMPLE_URL_STEM = re.compile(
    r"(?:https?://[^\x00-\x20\x7f/?#\[\]]*(?:/[^\x00-\x20\x7f/?#;]*)*?/([^\x00-\x20\x7f/?#;]+)\.[^\x00-\x20\x7f./?#;]+"
    r"(?:[?#][^\x00-\x20\x7f]*)?(?= |\Z)|[^ ]*)(?: |\Z)",
    re.ASCII,
)


def _url_stems(urls: list[str]) -> list[str]:
    """:func:`_image_id_fast` of each URL, the usual ``.../<stem>.<ext>`` ones found by one regex scan of the
    batch (about twice as fast as a call per URL); any other URL goes through :func:`_image_id_fast`."""
    joined = " ".join(urls)
    if not (joined.isascii() and joined.count(" ") == len(urls) - 1):
        return list(map(_image_id_fast, urls))  # a space or a non-ASCII character in some URL
    stems = _SIMPLE_URL_STEM.findall(joined)[: len(urls)]  # a match per URL (then maybe an empty one at the end)
    if all(stems):
        return stems
    return [stem or _image_id_fast(url) for stem, url in zip(stems, urls, strict=True)]


def _image_ids(urls: list[str], photo_ids: list[str | None] | None) -> list[str] | None:
    """The image id of each item (:func:`_image_id`), or None when ``urlparse`` rejects a URL (the object path
    then reports the item)."""
    try:
        if photo_ids is None:
            return _url_stems(urls)
        return [photo_id if photo_id else _image_id_fast(url) for url, photo_id in zip(urls, photo_ids, strict=True)]
    except ValueError:
        return None


def _table(items: list[tuple[int, Any]], split: str, file: Path) -> pa.Table | None:
    """The unified table of a batch of regular items (what :func:`_dialogue` builds of each, via TableBuilder),
    or None when any item is not regular: not exactly the four release fields (five with ``photo_id``) with
    their usual types, a turn not exactly ``message`` (str), ``share_photo`` (bool), ``user_id`` (0 or 1), an
    empty dialogue, a blank message on a turn that shares no photo, or a dialogue without a shared photo.
    Regular items pass every check of :func:`_dialogue`, so None is also the answer for any that would fail.
    """
    import numpy as np

    raws = [raw for _, raw in items]
    try:  # a TypeError or KeyError: a value that is not the expected dict (or list) somewhere
        sizes = set(map(len, raws))
        if not sizes <= {4, 5}:
            return None
        fields = list(map(_DIALOGUE_FIELDS, raws))
        photo_ids: list[str | None] | None = None  # None: no photo_id field
        if 5 in sizes:
            photo_ids = [raw.get("photo_id", _ABSENT) if len(raw) == 5 else None for raw in raws]
            if not set(map(type, photo_ids)) <= {str, type(None)}:
                return None  # a fifth field that is not photo_id, or a photo_id that is not a string
        dialogues = [f[0] for f in fields]
        ids = [f[1] for f in fields]
        urls = [f[2] for f in fields]
        descriptions = [f[3] for f in fields]
        if (
            set(map(type, dialogues)) != {list}
            or not set(map(type, ids)) <= {int, str}
            or set(map(type, urls)) != {str}
            or set(map(type, descriptions)) != {str}
        ):
            return None
        lengths = np.fromiter(map(len, dialogues), np.int64, len(dialogues))
        turns = list(chain.from_iterable(dialogues))
        if set(map(len, turns)) != {3}:
            return None
        messages = list(map(_MESSAGE, turns))
        shares = list(map(_SHARE, turns))
        users = list(map(_USER, turns))
    except (KeyError, TypeError):
        return None
    if set(map(type, messages)) != {str} or set(map(type, shares)) - {bool} or set(map(type, users)) != {int}:
        return None
    if not set(users) <= {0, 1}:
        return None
    share = np.fromiter(shares, bool, len(shares))
    user = np.fromiter(users, np.int64, len(users))
    strings = _string_arrays(urls, descriptions, messages)
    if strings is None:
        return None
    return _regular_table(ids, strings[0], strings[1], photo_ids, lengths, strings[2], share, user, split, file)


def _id_text(ids: list[int | str] | pa.Array, int_ids: bool) -> pa.Array:
    """``str(i)`` of each dialogue id as an Arrow string array (``int_ids``: all are ints, and those within 64
    bits are formatted by Arrow)."""
    import numpy as np
    import pyarrow as pa

    from mmdial_data.arrow import numpy_array, string_array

    if isinstance(ids, pa.Array):
        return ids.cast(pa.string())
    if int_ids:
        try:
            return numpy_array(np.fromiter(ids, np.int64, len(ids)), pa.int64()).cast(pa.string())
        except OverflowError:  # beyond 64 bits
            pass
    return string_array(list(map(str, ids)))


def _json_plain(strings: pa.Array) -> bool:
    """Whether no string of ``strings`` has a character that JSON escapes (a control character, '"' or '\\'):
    the JSON form of each is then the string in double quotes (:func:`encode_basestring` keeps all others)."""
    import numpy as np

    data = strings.buffers()[2]
    if data is None or not data.size:  # no bytes (only empty strings)
        return True
    utf8 = np.frombuffer(data, np.uint8)  # the whole buffer (a slice's strings are among its bytes)
    return not (utf8.min() < 32 or (utf8 == ord('"')).any() or (utf8 == ord("\\")).any())


def _metas(
    ids: list[int | str] | pa.Array,
    id_text: pa.Array | None,
    urls: pa.Array,
    descriptions: pa.Array,
    photo_ids: list[str | None] | None,
    file_name: str,
) -> pa.Array | list[str]:
    """The ``meta`` JSON of each item, as :func:`_dialogue` has it (``dump_json`` of its meta dict). ``id_text``:
    the ids as Arrow strings when they are all integers, else None. Joined by Arrow when the ids are integers,
    no item has a ``photo_id`` and no URL or description needs escaping (the release), else one string per item.
    """
    from mmdial_data.arrow import concat_strings

    before_url = ',"file":' + encode_basestring(file_name) + ',"photo_url":'
    if photo_ids is None and id_text is not None and _json_plain(urls) and _json_plain(descriptions):
        parts = ['{"original_id":', id_text, before_url + '"', urls, '","photo_description":"']
        return concat_strings(*parts, descriptions, '"}')
    json_ids = map(_json_scalar, ids if isinstance(ids, list) else ids.to_pylist())
    metas = [
        f'{{"original_id":{i}{before_url}{u},"photo_description":{d}}}'
        for i, u, d in zip(
            json_ids,
            map(encode_basestring, urls.to_pylist()),
            map(encode_basestring, descriptions.to_pylist()),
            strict=True,
        )
    ]
    if photo_ids is not None:
        for row, photo_id in enumerate(photo_ids):
            if photo_id is not None:
                metas[row] = f'{metas[row][:-1]},"photo_id":{encode_basestring(photo_id)}}}'
    return metas


def _blank_among(text: pa.Array, rows: Any) -> bool:
    """Whether a message of ``rows`` (a bool mask over the Arrow string array ``text``) is blank: ``not m.strip()``.
    A message whose first UTF-8 byte is printable ASCII other than a space is not; only the others (empty,
    starting with a space, a control or a non-ASCII character) are checked with ``str.strip``."""
    import numpy as np
    import pyarrow as pa

    from mmdial_data.arrow import numpy_array

    buffers = text.buffers()
    offsets = np.frombuffer(buffers[1], np.int32)[text.offset : text.offset + len(text) + 1]
    first = np.zeros(len(text), np.uint8)  # first byte of each message, 0 when empty
    if buffers[2] is not None:
        nonempty = offsets[1:] > offsets[:-1]
        first[nonempty] = np.frombuffer(buffers[2], np.uint8)[offsets[:-1][nonempty]]
    unsure = np.flatnonzero(rows & ((first <= 32) | (first >= 127)))
    return not all(m.strip() for m in text.take(numpy_array(unsure, pa.int64())).to_pylist())


def _regular_table(
    ids: list[int | str] | pa.Array,
    urls: pa.Array,
    descriptions: pa.Array,
    photo_ids: list[str | None] | None,
    lengths: Any,
    text: pa.Array,
    share: Any,
    user: Any,
    split: str,
    file: Path,
) -> pa.Table | None:
    """The table of a batch whose fields have the release's types (``ids`` a list of ints and strings or an
    Arrow int64 array; ``urls``, ``descriptions`` Arrow string arrays; ``photo_ids`` None when no item has one;
    ``lengths``: turns per dialogue, int64 array; the turns flattened: ``text`` their messages (Arrow strings),
    ``share`` a bool array, ``user`` an integer array), or None when it breaks a rule of :func:`_dialogue`: empty
    dialogue, a ``user_id`` not 0 or 1, a blank message on a turn that shares no photo, a dialogue without a
    shared photo, a photo URL that ``urlparse`` rejects.
    """
    import numpy as np
    import pyarrow as pa

    from mmdial_data.arrow import (
        concat_strings,
        empty_columns,
        numpy_array,
        repeated_string,
        string_array,
        table_from_columns,
    )

    if not lengths.all() or ((user != 0) & (user != 1)).any():
        return None
    if _blank_among(text, ~share):
        return None
    turn_offsets = np.zeros(len(ids) + 1, np.int64)
    np.cumsum(lengths, out=turn_offsets[1:])
    if not np.add.reduceat(share, turn_offsets[:-1]).all():  # every dialogue shares a photo
        return None
    n_turns = len(text)
    owner = np.repeat(np.arange(len(ids)), lengths)  # the dialogue of each turn
    shared = owner[share]  # the dialogue of each image turn
    image_ids = _image_ids(urls.to_pylist(), photo_ids)
    if image_ids is None:
        return None
    take = numpy_array(shared, pa.int64())
    image_offsets = np.zeros(n_turns + 1, np.int32)
    np.cumsum(share, out=image_offsets[1:])
    n_images = len(shared)
    user_index = numpy_array(user.astype(np.int8), pa.int8())
    columns = empty_columns(n_turns)
    try:  # a string id that is not valid Unicode (a lone surrogate) fails here: the object path reports its item
        int_ids = isinstance(ids, pa.Array) or set(map(type, ids)) == {int}
        id_text = _id_text(ids, int_ids)
        columns.update(
            dialogue_id=concat_strings(f"{SOURCE}/{split}/{file.stem}/", id_text),
            source=repeated_string(SOURCE, len(ids)),
            split=repeated_string(split, len(ids)),
            meta=_metas(ids, id_text if int_ids else None, urls, descriptions, photo_ids, file.name),
            schema_version=repeated_string(SCHEMA_VERSION, len(ids)),
            turn_offsets=turn_offsets.astype(np.int32),
            turn_index=(np.arange(n_turns) - turn_offsets[:-1][owner]).astype(np.int32),
            speaker=string_array(["0", "1"]).take(user_index),
            role=string_array([_ROLES[0], _ROLES[1]]).take(user_index),
            text=text,
            extra=string_array(["{}", _SHARE_EXTRA]).take(numpy_array(share.astype(np.int8), pa.int8())),
            image_offsets=image_offsets,
            img_id=string_array(image_ids).take(take),
            img_uri=urls.take(take),
            img_source=repeated_string(SOURCE, n_images),
            img_caption=descriptions.take(take),
            img_level=repeated_string("turn", n_images),
            img_entity=pa.nulls(n_images, pa.string()),
            img_score=pa.nulls(n_images, pa.float64()),
        )
        return table_from_columns(columns)
    except UnicodeEncodeError:
        return None
