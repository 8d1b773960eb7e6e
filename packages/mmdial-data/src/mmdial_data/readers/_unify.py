"""What :func:`mmdial_data.readers.read_source` does to every reader's output: the same rules for all readers.

1. Split names: a dialogue whose split is not canonical (``dev``, ``val``, ``valid_freq`` ...) gets the canonical
   name of :func:`mmdial_data.splits.canonical_split`, its id rewritten (``<source>/<canonical>/<rest>``) and
   the source's name kept in ``meta["source_split"]``; a name that is not known at all is an error of the
   record (raised, or skipped and reported under ``on_error="skip"``). Arrow tables of a columnar reader get
   exactly the same change, column-wise.
2. Empty turns: :func:`mmdial_data.validate.drop_empty_turns` (a turn with blank text and no image leaves the
   turns and is kept in ``meta["empty_turns"]``; a dialogue left with no turn is an error of the record).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.errors import ErrorPolicy, MMDialDataError
from mmdial_data.schema import Dialogue, dump_json
from mmdial_data.splits import canonical_split, is_canonical_split
from mmdial_data.validate import drop_empty_turns

if TYPE_CHECKING:
    import pyarrow as pa

#: The meta key holding the split name as the source spells it, where that is not the canonical name.
SOURCE_SPLIT = "source_split"


def unified(items: Iterator[Any], reader: str, path: Path, policy: ErrorPolicy) -> Iterator[Any]:
    """``items`` (dialogues, or Arrow tables of a columnar reader) with canonical splits and no empty turns."""
    for item in items:
        if not isinstance(item, Dialogue):
            try:
                yield _table(item, reader, path)
            except MMDialDataError as exc:  # an unknown split name: the batch is left out (or raised)
                policy.handle(exc)
            continue
        try:
            if not is_canonical_split(item.split):
                _rename(item, canonical_split(item.split, source=reader, path=path, record=_record(item)))
            drop_empty_turns(item, path=str(path))
        except MMDialDataError as exc:
            policy.handle(exc)
            continue
        yield item


def _record(d: Dialogue) -> str:
    return f"dialogue {d.dialogue_id}"


def _rename(d: Dialogue, split: str) -> None:
    old = f"{d.source}/{d.split}/"
    if d.dialogue_id.startswith(old):
        d.dialogue_id = f"{d.source}/{split}/{d.dialogue_id[len(old) :]}"
    if SOURCE_SPLIT not in d.meta:
        d.meta = {**d.meta, SOURCE_SPLIT: d.split}
    d.split = split


def _table(table: pa.Table, reader: str, path: Path) -> pa.Table:
    """``table`` with the change :func:`_rename` makes to each of its dialogues, column by column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    splits = table.column("split")
    names = [s for s in pc.unique(splits).to_pylist() if not is_canonical_split(s)]
    if not names:
        return table
    ids, meta, sources = table.column("dialogue_id"), table.column("meta"), table.column("source")
    for name in names:  # an unknown name fails the whole batch: the first of its dialogues is named
        mask = pc.equal(splits, name)
        first = pc.index(mask, True).as_py()
        new = canonical_split(name, source=reader, path=path, record=f"dialogue {ids[first].as_py()}")
        for source in pc.unique(pc.filter(sources, mask)).to_pylist():
            rows = pc.and_(mask, pc.equal(sources, source))
            pattern = "^" + re.escape(f"{source}/{name}/")
            renamed = pc.replace_substring_regex(ids, pattern, f"{source}/{new}/".replace("\\", "\\\\"))
            ids = pc.if_else(rows, renamed, ids)
        entry = dump_json({SOURCE_SPLIT: name})[1:-1]  # '"source_split":"dev"'
        has_key = pc.match_substring(meta, f'"{SOURCE_SPLIT}":')
        empty = pc.equal(meta, "{}")
        appended = pc.binary_join_element_wise(pc.utf8_slice_codeunits(meta, 0, -1), f",{entry}}}", "")
        updated = pc.if_else(empty, pa.scalar("{" + entry + "}"), appended)
        meta = pc.if_else(pc.and_(mask, pc.invert(has_key)), updated, meta)
        splits = pc.if_else(mask, pa.scalar(new), splits)
    for column, values in (("dialogue_id", ids), ("split", splits), ("meta", meta)):
        i = table.schema.get_field_index(column)
        table = table.set_column(i, table.schema.field(i), values.cast(table.schema.field(i).type))
    return table
