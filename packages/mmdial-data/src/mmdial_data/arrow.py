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
        import pyarrow as pa

        schema = arrow_schema()
        turn_type = schema.field("turns").type.value_type
        annotations_type = turn_type.field("annotations").type
        string, offsets = pa.string(), pa.int32()

        def strings(values: list[str | None]) -> pa.Array:
            return pa.array(values, string)

        def listed(offs: list[int], values: pa.Array, type_: pa.DataType) -> pa.Array:
            return pa.ListArray.from_arrays(pa.array(offs, offsets), values, type=type_)

        def struct(arrays: list[pa.Array], type_: pa.DataType) -> pa.Array:
            return pa.StructArray.from_arrays(arrays, fields=list(type_))

        image_type = turn_type.field("images").type
        images = struct(
            [
                strings(self.img_id),
                strings(self.img_uri),
                strings(self.img_source),
                strings(self.img_caption),
                strings(self.img_level),
                strings(self.img_entity),
                pa.array(self.img_score, pa.float64()),
            ],
            image_type.value_type,
        )
        act_type = annotations_type.field("dialogue_acts").type
        act_values_type = act_type.value_type.field("values").type
        acts = struct(
            [
                strings(self.act),
                strings(self.act_domain),
                strings(self.act_slot),
                listed(self.act_value_offsets, strings(self.act_values), act_values_type),
            ],
            act_type.value_type,
        )
        state_type = annotations_type.field("state").type
        state = struct(
            [
                strings(self.state_slot),
                listed(
                    self.state_value_offsets,
                    strings(self.state_values),
                    state_type.value_type.field("values").type,
                ),
            ],
            state_type.value_type,
        )
        annotations = struct(
            [
                listed(self.act_offsets, acts, act_type),
                strings(self.emotion),
                strings(self.intent),
                listed(self.state_offsets, state, state_type),
                listed(self.knowledge_offsets, strings(self.knowledge), annotations_type.field("knowledge").type),
                strings(self.extra),
            ],
            annotations_type,
        )
        turns = struct(
            [
                pa.array(self.turn_index, pa.int32()),
                strings(self.speaker),
                strings(self.role),
                strings(self.text),
                listed(self.image_offsets, images, image_type),
                annotations,
            ],
            turn_type,
        )
        table = pa.Table.from_arrays(
            [
                strings(self.dialogue_id),
                strings(self.source),
                strings(self.split),
                listed(self.turn_offsets, turns, schema.field("turns").type),
                strings(self.meta),
                strings(self.schema_version),
            ],
            schema=schema,
        )
        self._reset()
        return table


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
