"""The Arrow schema of the unified dialogue format (v1) and conversion to/from Arrow tables.

pyarrow is imported on first use, so ``import mmdial_data`` stays fast.

Example:
    >>> from mmdial_data.arrow import arrow_schema
    >>> arrow_schema().names
    ['dialogue_id', 'source', 'split', 'turns', 'meta', 'schema_version']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mmdial_data.arrow_arrays import column_array as column_array
from mmdial_data.arrow_arrays import concat_strings as concat_strings
from mmdial_data.arrow_arrays import numpy_array as numpy_array
from mmdial_data.arrow_arrays import repeated_string as repeated_string
from mmdial_data.arrow_arrays import single_chunk as single_chunk
from mmdial_data.arrow_arrays import string_array as string_array
from mmdial_data.arrow_arrays import to_numpy as to_numpy
from mmdial_data.schema import SCHEMA_VERSION, Dialogue, dump_json

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


class TableBuilder:
    """Collects dialogues column by column and builds their Arrow table (equal to :func:`to_table_reference`).

    Each dialogue's fields are appended straight into flat Python lists, one per leaf column, plus the
    offsets of every list level; :meth:`finish` turns them into nested Arrow arrays. This avoids the nested
    per-turn dicts of ``Dialogue.to_dict`` and pyarrow's row-wise conversion of them.

    Example:
        >>> from mmdial_data import Dialogue, Turn
        >>> b = TableBuilder()
        >>> b.append(Dialogue("demo/train/1", "demo", "train", [Turn(0, "A", "user", "hi")]))
        >>> len(b), b.finish().column("turns").to_pylist()[0][0]["text"], len(b)
        (1, 'hi', 0)
    """

    __slots__ = (
        "act",
        "act_domain",
        "act_offsets",
        "act_slot",
        "act_value_offsets",
        "act_values",
        "dialogue_id",
        "emotion",
        "extra",
        "image_offsets",
        "img_caption",
        "img_entity",
        "img_id",
        "img_level",
        "img_score",
        "img_source",
        "img_uri",
        "intent",
        "knowledge",
        "knowledge_offsets",
        "meta",
        "role",
        "schema_version",
        "source",
        "speaker",
        "split",
        "state_offsets",
        "state_slot",
        "state_value_offsets",
        "state_values",
        "text",
        "turn_index",
        "turn_offsets",
    )

    # one flat list per leaf column / list level (annotations only: __slots__ holds them)
    act: list[Any]
    act_domain: list[Any]
    act_offsets: list[Any]
    act_slot: list[Any]
    act_value_offsets: list[Any]
    act_values: list[Any]
    dialogue_id: list[Any]
    emotion: list[Any]
    extra: list[Any]
    image_offsets: list[Any]
    img_caption: list[Any]
    img_entity: list[Any]
    img_id: list[Any]
    img_level: list[Any]
    img_score: list[Any]
    img_source: list[Any]
    img_uri: list[Any]
    intent: list[Any]
    knowledge: list[Any]
    knowledge_offsets: list[Any]
    meta: list[Any]
    role: list[Any]
    schema_version: list[Any]
    source: list[Any]
    speaker: list[Any]
    split: list[Any]
    state_offsets: list[Any]
    state_slot: list[Any]
    state_value_offsets: list[Any]
    state_values: list[Any]
    text: list[Any]
    turn_index: list[Any]
    turn_offsets: list[Any]

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        for name in self.__slots__:
            setattr(self, name, [])
        for name in ("turn_offsets", "image_offsets", "act_offsets", "state_offsets", "knowledge_offsets",
                     "act_value_offsets", "state_value_offsets"):  # fmt: skip
            getattr(self, name).append(0)

    def __len__(self) -> int:
        return len(self.dialogue_id)

    def append(self, d: Dialogue) -> None:
        """Add one dialogue (a row)."""
        self.dialogue_id.append(d.dialogue_id)
        self.source.append(d.source)
        self.split.append(d.split)
        self.meta.append(dump_json(d.meta))
        self.schema_version.append(d.schema_version)
        turn_index, speaker, role, text = self.turn_index, self.speaker, self.role, self.text
        image_offsets, act_offsets, state_offsets = self.image_offsets, self.act_offsets, self.state_offsets
        knowledge_offsets, knowledge = self.knowledge_offsets, self.knowledge
        emotion, intent, extra = self.emotion, self.intent, self.extra
        img_id = self.img_id
        act = self.act
        state_slot = self.state_slot
        for t in d.turns:
            turn_index.append(t.turn_index)
            speaker.append(t.speaker)
            role.append(t.role)
            text.append(t.text)
            images = t.images
            if images:
                for i in images:
                    img_id.append(i.image_id)
                    self.img_uri.append(i.uri)
                    self.img_source.append(i.source)
                    self.img_caption.append(i.caption)
                    self.img_level.append(i.level)
                    self.img_entity.append(i.entity)
                    self.img_score.append(i.score)
            image_offsets.append(len(img_id))
            a = t.annotations
            if a.dialogue_acts:
                for da in a.dialogue_acts:
                    act.append(da.act)
                    self.act_domain.append(da.domain)
                    self.act_slot.append(da.slot)
                    self.act_values.extend(da.values)
                    self.act_value_offsets.append(len(self.act_values))
            act_offsets.append(len(act))
            emotion.append(a.emotion)
            intent.append(a.intent)
            if a.state:
                for slot, values in a.state.items():
                    state_slot.append(slot)
                    self.state_values.extend(values)
                    self.state_value_offsets.append(len(self.state_values))
            state_offsets.append(len(state_slot))
            if a.knowledge:
                knowledge.extend(a.knowledge)
            knowledge_offsets.append(len(knowledge))
            x = a.extra
            extra.append("{}" if type(x) is dict and not x else dump_json(x))
        self.turn_offsets.append(len(turn_index))

    def extend(self, dialogues: Iterable[Dialogue]) -> None:
        """Add dialogues in order."""
        for d in dialogues:
            self.append(d)

    def finish(self) -> pa.Table:
        """Return the table of the dialogues added so far (schema :func:`arrow_schema`) and start empty."""
        table = table_from_columns({name: getattr(self, name) for name in self.__slots__})
        self._reset()
        return table


#: The flat columns :func:`table_from_columns` takes (the leaf columns and list offsets of the schema).
COLUMNS: tuple[str, ...] = TableBuilder.__slots__


def table_from_columns(columns: Mapping[str, Any]) -> pa.Table:
    """Assemble the nested Arrow table of the schema from flat columns (the :data:`COLUMNS`, as in
    :class:`TableBuilder`): Python lists, numpy arrays or Arrow arrays of the leaf values, and list offsets
    (``turn_offsets`` has one entry per dialogue plus one, ``image_offsets``/``act_offsets``/``state_offsets``/
    ``knowledge_offsets`` one per turn plus one, ``act_value_offsets``/``state_value_offsets`` one per act/slot
    plus one). Readers with a columnar fast path build their tables with it, so the table (and the Parquet
    bytes) equal what :class:`TableBuilder` makes of the same dialogues.

    Example:
        >>> from mmdial_data import Turn
        >>> turns = {"turn_offsets": [0, 1], "turn_index": [0], "speaker": ["A"], "role": ["user"],
        ...          "text": ["hi"], "extra": ["{}"]}
        >>> t = table_from_columns({**empty_columns(1), **turns, "dialogue_id": ["d/x/1"], "source": ["d"],
        ...                         "split": ["x"], "meta": ["{}"], "schema_version": ["1"]})
        >>> t.equals(to_table([Dialogue("d/x/1", "d", "x", [Turn(0, "A", "user", "hi")])]))
        True
    """
    import pyarrow as pa

    missing = set(COLUMNS) - set(columns)
    if missing:
        raise ValueError(f"missing columns: {sorted(missing)}")
    schema = arrow_schema()
    turn_type = schema.field("turns").type.value_type
    annotations_type = turn_type.field("annotations").type
    string, offsets = pa.string(), pa.int32()

    array = column_array

    def strings(name: str) -> pa.Array:
        return array(columns[name], string)

    def listed(name: str, values: pa.Array, type_: pa.DataType) -> pa.Array:
        return pa.ListArray.from_arrays(array(columns[name], offsets), values, type=type_)

    def struct(arrays: list[pa.Array], type_: pa.DataType) -> pa.Array:
        return pa.StructArray.from_arrays(arrays, fields=list(type_))

    image_type = turn_type.field("images").type
    images = struct(
        [
            strings("img_id"),
            strings("img_uri"),
            strings("img_source"),
            strings("img_caption"),
            strings("img_level"),
            strings("img_entity"),
            array(columns["img_score"], pa.float64()),
        ],
        image_type.value_type,
    )
    act_type = annotations_type.field("dialogue_acts").type
    act_values_type = act_type.value_type.field("values").type
    acts = struct(
        [
            strings("act"),
            strings("act_domain"),
            strings("act_slot"),
            listed("act_value_offsets", strings("act_values"), act_values_type),
        ],
        act_type.value_type,
    )
    state_type = annotations_type.field("state").type
    state = struct(
        [
            strings("state_slot"),
            listed("state_value_offsets", strings("state_values"), state_type.value_type.field("values").type),
        ],
        state_type.value_type,
    )
    annotations = struct(
        [
            listed("act_offsets", acts, act_type),
            strings("emotion"),
            strings("intent"),
            listed("state_offsets", state, state_type),
            listed("knowledge_offsets", strings("knowledge"), annotations_type.field("knowledge").type),
            strings("extra"),
        ],
        annotations_type,
    )
    turns = struct(
        [
            array(columns["turn_index"], pa.int32()),
            strings("speaker"),
            strings("role"),
            strings("text"),
            listed("image_offsets", images, image_type),
            annotations,
        ],
        turn_type,
    )
    return pa.Table.from_arrays(
        [
            strings("dialogue_id"),
            strings("source"),
            strings("split"),
            listed("turn_offsets", turns, schema.field("turns").type),
            strings("meta"),
            strings("schema_version"),
        ],
        schema=schema,
    )


def empty_columns(n_turns: int = 0) -> dict[str, Any]:
    """Columns of ``n_turns`` turns without images, acts, state, knowledge, emotion or intent (the turn-level
    ``turn_index``/``speaker``/``role``/``text``/``extra`` and all dialogue-level columns are left to the caller).

    >>> sorted(k for k, v in empty_columns(2).items() if len(v) == 3)
    ['act_offsets', 'image_offsets', 'knowledge_offsets', 'state_offsets']
    >>> len(empty_columns(2)) + 11 == len(COLUMNS)
    True
    """
    import numpy as np
    import pyarrow as pa

    zeros = np.zeros(n_turns + 1, np.int32)
    nulls = pa.nulls(n_turns, pa.string())
    columns: dict[str, Any] = {name: [] for name in COLUMNS}
    columns.update(
        image_offsets=zeros, act_offsets=zeros, state_offsets=zeros, knowledge_offsets=zeros,
        act_value_offsets=[0], state_value_offsets=[0], emotion=nulls, intent=nulls,
    )  # fmt: skip
    for name in ("turn_offsets", "turn_index", "speaker", "role", "text", "extra"):
        del columns[name]
    for name in ("dialogue_id", "source", "split", "meta", "schema_version"):
        del columns[name]
    return columns


def to_table(dialogues: Iterable[Dialogue]) -> pa.Table:
    """Convert dialogues to an Arrow table with :func:`arrow_schema` (columnar, via :class:`TableBuilder`)."""
    builder = TableBuilder()
    builder.extend(dialogues)
    return builder.finish()


def to_table_reference(dialogues: Iterable[Dialogue]) -> pa.Table:
    """The naive reference of :func:`to_table`: ``pa.Table.from_pylist`` of ``Dialogue.to_dict`` rows."""
    import pyarrow as pa

    return pa.Table.from_pylist([d.to_dict() for d in dialogues], schema=arrow_schema())


def from_table(table: pa.Table | pa.RecordBatch) -> Iterator[Dialogue]:
    """Yield the dialogues of an Arrow table or record batch, in row order."""
    for row in table.to_pylist():
        yield Dialogue.from_dict(row)
