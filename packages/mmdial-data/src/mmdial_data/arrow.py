"""The Arrow schema of the unified dialogue format (v1) and conversion to/from Arrow tables.

pyarrow is imported on first use, so ``import mmdial_data`` stays fast.

Example:
    >>> from mmdial_data.arrow import arrow_schema
    >>> arrow_schema().names
    ['dialogue_id', 'source', 'split', 'turns', 'meta', 'schema_version']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from mmdial_data.schema import SCHEMA_VERSION, Dialogue

if TYPE_CHECKING:
    import pyarrow as pa


@lru_cache(maxsize=1)
def arrow_schema() -> pa.Schema:
    """Return the Arrow schema of one dialogue row, with the schema version in its metadata."""
    import pyarrow as pa

    image = pa.struct(
        [
            ("image_id", pa.string()),
            ("uri", pa.string()),
            ("source", pa.string()),
            ("caption", pa.string()),
            ("level", pa.string()),
            ("entity", pa.string()),
            ("score", pa.float64()),
        ]
    )
    act = pa.struct(
        [("act", pa.string()), ("domain", pa.string()), ("slot", pa.string()), ("values", pa.list_(pa.string()))]
    )
    annotations = pa.struct(
        [
            ("dialogue_acts", pa.list_(act)),
            ("emotion", pa.string()),
            ("intent", pa.string()),
            ("state", pa.list_(pa.struct([("slot", pa.string()), ("values", pa.list_(pa.string()))]))),
            ("knowledge", pa.list_(pa.string())),
            ("extra", pa.string()),
        ]
    )
    turn = pa.struct(
        [
            ("turn_index", pa.int32()),
            ("speaker", pa.string()),
            ("role", pa.string()),
            ("text", pa.string()),
            ("images", pa.list_(image)),
            ("annotations", annotations),
        ]
    )
    return pa.schema(
        [
            pa.field("dialogue_id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("turns", pa.list_(turn), nullable=False),
            pa.field("meta", pa.string(), nullable=False),
            pa.field("schema_version", pa.string(), nullable=False),
        ],
        metadata={b"mmdial.schema_version": SCHEMA_VERSION.encode()},
    )


def to_table(dialogues: Iterable[Dialogue]) -> pa.Table:
    """Convert dialogues to an Arrow table with :func:`arrow_schema`."""
    import pyarrow as pa

    return pa.Table.from_pylist([d.to_dict() for d in dialogues], schema=arrow_schema())


def from_table(table: pa.Table | pa.RecordBatch) -> Iterator[Dialogue]:
    """Yield the dialogues of an Arrow table or record batch, in row order."""
    for row in table.to_pylist():
        yield Dialogue.from_dict(row)
