"""The columnar path of :mod:`mmdial_data.build`: the build's steps (validation, filters, the id check, counts,
histograms, the write) on an Arrow table of a columnar reader at once (:func:`_add_table`), vectorized.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from mmdial_data.arrow import numpy_array, single_chunk, string_array, to_numpy
from mmdial_data.errors import ErrorPolicy, ValidationError
from mmdial_data.recipe import Filters
from mmdial_data.schema import IMAGE_LEVELS, SCHEMA_VERSION, Dialogue
from mmdial_data.validate import URL_PATTERN, check_image_uri, validate_dialogue

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mmdial_data.build_shards import _ShardedWriter


#: ASCII bytes that ``str.split()`` and ``str.strip()`` treat as whitespace (as a lookup table).
_ASCII_SPACE = bytes(int(chr(c).isspace()) for c in range(256))


def _word_counts(texts: pa.Array) -> np.ndarray:
    """``len(text.split())`` of each string (a null as an empty string).

    ASCII strings are counted on the UTF-8 buffer (word starts: a non-space byte after a space or at the start;
    where no byte is below 32, a byte is a space exactly when it is 32); others, whose whitespace may be any
    Unicode space, with ``str.split``.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    n = len(texts)
    counts = np.zeros(n, np.int64)
    buffers = texts.buffers()
    if n and buffers[2] is not None:
        offsets = np.frombuffer(buffers[1], np.int32)[texts.offset : texts.offset + n + 1]
        first, last = int(offsets[0]), int(offsets[-1])
        data = np.frombuffer(buffers[2], np.uint8)[first:last]
        starts = offsets - first
        controls = len(data) and data.min() < 32  # control bytes: some are spaces (\t, \n, \x1c, ...), some not
        word = np.frombuffer(_ASCII_SPACE, np.uint8)[data] == 0 if controls else data > 32
        begins = word.copy()  # a word byte after a space byte, or the first byte of a string
        np.greater(word[1:], word[:-1], out=begins[1:])
        inside = starts[:-1][starts[:-1] < len(data)]
        begins[inside] = word[inside]
        running = np.zeros(len(data) + 1, np.int32)  # word starts before each byte (< 2**31 bytes)
        np.cumsum(begins, dtype=np.int32, out=running[1:])
        counts = (running[starts[1:]] - running[starts[:-1]]).astype(np.int64)
        if not texts.null_count and (not len(data) or data.max() < 128):  # all ASCII (no byte of a multi-byte char)
            return counts
    ascii_ = pc.string_is_ascii(texts)
    if texts.null_count or not pc.all(ascii_).as_py():
        other = np.flatnonzero(~to_numpy(ascii_, False))
        values = texts.take(numpy_array(other, pa.int64())).to_pylist()
        counts[other] = [0 if v is None else len(v.split()) for v in values]
    return counts


def _suspect_rows(table: pa.Table, turns: pa.ListArray, words: np.ndarray) -> np.ndarray:
    """Rows that may break a rule of :func:`validate_dialogue` (a superset of those that do), vectorized.

    ``words`` are the word counts of the turns: a turn whose text is only whitespace has none. The rules of
    :mod:`mmdial_data.tasks` (``meta["choices"]``/``["documents"]``, a turn's ``extra["doc_ids"]``) are not looked
    at: no columnar reader writes those keys (scanning every meta for them would cost time on every build), so
    a reader that does must yield such dialogues as objects.
    """
    import numpy as np
    import pyarrow.compute as pc

    n_turns = to_numpy(turns.value_lengths(), 0)
    suspect: np.ndarray = n_turns == 0
    ids, sources, splits, versions = (
        single_chunk(table.column(name)) for name in ("dialogue_id", "source", "split", "schema_version")
    )
    one = [pc.unique(c).to_pylist() for c in (sources, splits, versions)]
    if [len(u) for u in one] == [1, 1, 1] and one[2] == [SCHEMA_VERSION] and None not in (one[0][0], one[1][0]):
        prefix = f"{one[0][0]}/{one[1][0]}/"  # one source and split: every id must start with it, and go on
        if not (
            one[0][0]
            and one[1][0]
            and to_numpy(pc.starts_with(ids, pattern=prefix), False).all()
            and to_numpy(pc.binary_length(ids), 0).min() > len(prefix.encode())
        ):
            suspect[:] = True  # rare: the exact check below sorts them out
    else:
        columns = (c.to_pylist() for c in (ids, sources, splits, versions))
        suspect |= ~np.fromiter(map(_id_ok, *columns), bool, len(ids))
    flat = turns.flatten()
    owner = np.repeat(np.arange(len(n_turns)), n_turns)  # the row of each turn
    starts = np.cumsum(n_turns) - n_turns
    images = flat.field("images")
    n_images = to_numpy(images.value_lengths(), 0)
    bad_turn = (
        (to_numpy(flat.field("turn_index"), -1) != np.arange(len(flat)) - starts[owner])
        | (to_numpy(pc.binary_length(flat.field("role")), 0) == 0)
        | ((words == 0) & (n_images == 0))
    )
    image = images.flatten()
    if len(image):
        bad_image = (
            ~to_numpy(pc.is_in(image.field("level"), value_set=string_array(list(IMAGE_LEVELS))), False)
            | ~to_numpy(pc.is_finite(image.field("score")), True)
            | _bad_uris(image.field("uri"))
        )
        bad_turn[np.repeat(np.arange(len(flat)), n_images)[bad_image]] = True
    suspect[owner[bad_turn]] = True
    return suspect


def _bad_uris(uris: pa.Array) -> np.ndarray:
    """``check_image_uri(uri) is not None`` for each URI (a null as empty), URLs recognized vectorized."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    bad = np.zeros(len(uris), bool)
    other = np.flatnonzero(~to_numpy(pc.match_substring_regex(uris, URL_PATTERN), False))
    if len(other):
        values = uris.take(numpy_array(other, pa.int64())).to_pylist()
        bad[other] = [check_image_uri(u or "") is not None for u in values]
    return bad


def _id_ok(dialogue_id: str, source: str, split: str, version: str) -> bool:
    prefix = f"{source}/{split}/"
    return bool(
        dialogue_id and source and split and version == SCHEMA_VERSION
        and dialogue_id.startswith(prefix) and len(dialogue_id) > len(prefix)
    )  # fmt: skip


def _groups(keys: list[str], rows: list[int]) -> dict[str, list[int]]:
    """``rows`` by ``keys[row]``, keys in order of first occurrence."""
    if len(set(keys)) == 1:
        return {keys[0]: rows} if rows else {}
    out: dict[str, list[int]] = {}
    for row in rows:
        out.setdefault(keys[row], []).append(row)
    return out


def _histogram(values: np.ndarray) -> dict[int, int]:
    """``Counter(values)`` of non-negative integers, as a dict."""
    import numpy as np

    freq = np.bincount(values)
    keys = np.flatnonzero(freq)
    return dict(zip(keys.tolist(), freq[keys].tolist(), strict=True))


def _add_table(
    table: pa.Table,
    *,
    path: str,
    policy: ErrorPolicy,
    filters: Filters,
    writer: _ShardedWriter,
    seen_ids: set[str],
    counts: dict[str, dict[str, dict[str, int]]],
    filtered: Counter[str],
    per_source: dict[str, Counter[str]],
    turn_lengths: dict[str, Counter[int]],
    dialogue_lengths: dict[str, Counter[int]],
) -> int:
    """The steps :func:`build_dataset` takes for each dialogue (validation, filters, the id check, counts,
    histograms, the write) on a table of a columnar reader at once: the same outcome, the errors in row order.
    Returns the number of dialogues written."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    if not n:
        return 0
    turns = single_chunk(table.column("turns"))
    flat = turns.flatten()
    words = _word_counts(flat.field("text"))
    n_turns = to_numpy(turns.value_lengths(), 0)
    errors: list[tuple[int, ValidationError]] = []
    valid = np.ones(n, bool)
    for i in np.flatnonzero(_suspect_rows(table, turns, words)).tolist():
        try:
            validate_dialogue(Dialogue.from_dict(table.slice(i, 1).to_pylist()[0]), path=path)
        except ValidationError as exc:
            errors.append((i, exc))
            valid[i] = False
    image_counts = to_numpy(flat.field("images").value_lengths(), 0)
    cumulative = np.concatenate([[0], np.cumsum(image_counts)])
    offsets = np.concatenate([[0], np.cumsum(n_turns)])
    n_images = cumulative[offsets[1:]] - cumulative[offsets[:-1]]
    sources = table.column("source").to_pylist()
    for source, rows in _groups(sources, np.flatnonzero(valid).tolist()).items():
        per_source[source]["read"] += len(rows)
    # filters: one call per distinct (turns, images) pair
    base = int(n_images.max()) + 1  # (turns, images) as one integer key
    keys, inverse = np.unique(n_turns.astype(np.int64) * base + n_images, return_inverse=True)
    reasons = [filters.reason_to_drop(t, m) for t, m in zip(*map(np.ndarray.tolist, divmod(keys, base)), strict=True)]
    inverse = inverse.reshape(-1)
    dropped = valid & np.array([r is not None for r in reasons])[inverse]
    for i in np.flatnonzero(dropped).tolist():
        reason = reasons[inverse[i]]
        filtered[reason] += 1
        per_source[sources[i]][f"filtered_{reason}"] += 1
    keep = valid & ~dropped
    ids = table.column("dialogue_id").to_pylist()
    candidates = np.flatnonzero(keep).tolist()
    new_ids = ids if len(candidates) == n else [ids[i] for i in candidates]
    if seen_ids.isdisjoint(new_ids) and len(set(new_ids)) == len(new_ids):
        seen_ids.update(new_ids)
    else:
        for i in candidates:
            if ids[i] in seen_ids:
                message = "duplicate dialogue_id across sources"
                errors.append((i, ValidationError(message, path=path, record=f"dialogue {ids[i]}")))
                keep[i] = False
            else:
                seen_ids.add(ids[i])
    errors.sort(key=lambda e: e[0])
    if errors and policy.on_error == "raise":
        keep[errors[0][0] :] = False  # the one-by-one path writes what comes before the error, then raises
    splits = table.column("split").to_pylist()
    kept = np.flatnonzero(keep).tolist()
    for source, rows in _groups(sources, kept).items():
        for split, split_rows in _groups(splits, rows).items():
            c = counts[source][split]
            c["dialogues"] += len(split_rows)
            c["turns"] += int(n_turns[split_rows].sum())
            c["images"] += int(n_images[split_rows].sum())
        per_source[source]["kept"] += len(rows)
        mine = keep
        if len(rows) < len(kept):
            mine = np.zeros(n, bool)
            mine[rows] = True
        turn_lengths[source].update(_histogram(words[np.repeat(mine, n_turns)]))
        dialogue_lengths[source].update(_histogram(n_turns[rows]))
    writer.add_table(table if len(kept) == n else table.filter(numpy_array(keep, pa.bool_())))
    for _, error in errors:
        policy.handle(error)
    return len(kept)
