"""The columnar Arrow builder against the naive reference (``pa.Table.from_pylist`` of ``Dialogue.to_dict``)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdial_data import Annotations, Dialogue, DialogueAct, ImageRef, Turn
from mmdial_data.arrow import TableBuilder, arrow_schema, from_table, to_table, to_table_reference


def rich_dialogues() -> list[Dialogue]:
    rich = Dialogue(
        dialogue_id="demo/train/0",
        source="demo",
        split="train",
        turns=[
            Turn(
                0,
                "A",
                "user",
                "Ünïcödé “quotes” and emoji 🐱",
                annotations=Annotations(
                    dialogue_acts=[
                        DialogueAct("INFORM", domain="Restaurants_1", slot="city", values=["San José", "SJ"]),
                        DialogueAct("greet"),
                        DialogueAct("REQUEST", domain="Hotels_2", slot="price", values=[]),
                    ],
                    emotion="happiness",
                    intent="FindRestaurants",
                    state={"Restaurants_1-city": ["San José", "SJ"], "Hotels_2-price": [], "x-y": ["1"]},
                    knowledge=["k1", "", "k3"],
                    extra={"spans": [[1, 2]], "nested": {"x": None, "y": 1.5}},
                ),
            ),
            Turn(
                1,
                "B",
                "system",
                "",
                images=[
                    ImageRef("img1", "coco/val/1.jpg", "coco", caption="a cat", level="shared", score=0.25),
                    ImageRef("img2", "https://example.org/x.png", "web", level="entity", entity="cat"),
                    ImageRef("img3", "a/b.png", "web", caption=None, level="turn", entity=None, score=None),
                ],
            ),
            Turn(2, "A", "user", "no annotations at all"),
            Turn(3, "B", "system", "only acts", annotations=Annotations(dialogue_acts=[DialogueAct("bye")])),
        ],
        meta={"persona": ["i like cats"], "goal": {"restaurant": {"info": {"food": "thai"}}}, "n": 3, "ü": "é"},
    )
    empty_turns = Dialogue("demo/train/1", "demo", "train", [], meta={})
    one = Dialogue("other/test/2", "other", "test", [Turn(0, "", "", "x", annotations=Annotations(emotion=None))])
    return [rich, empty_turns, one, rich, one]


def test_builder_equals_from_pylist_reference() -> None:
    dialogues = rich_dialogues()
    table = to_table(dialogues)
    reference = pa.Table.from_pylist([d.to_dict() for d in dialogues], schema=arrow_schema())
    table.validate(full=True)
    assert table.schema.equals(reference.schema, check_metadata=True)
    assert table.equals(reference)
    assert table.to_pylist() == reference.to_pylist()
    assert to_table_reference(dialogues).equals(reference)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_builder_prefixes_and_reuse(n: int) -> None:
    dialogues = rich_dialogues()[:n]
    builder = TableBuilder()
    builder.extend(rich_dialogues())
    builder.finish()  # a finished builder starts empty
    builder.extend(dialogues)
    assert len(builder) == n
    table = builder.finish()
    assert table.equals(to_table_reference(dialogues))
    assert len(builder) == 0


def test_builder_parquet_bytes_and_round_trip() -> None:
    dialogues = rich_dialogues()

    def parquet(t: pa.Table) -> bytes:
        buf = io.BytesIO()
        pq.write_table(t, buf, compression="zstd")
        return buf.getvalue()

    assert parquet(to_table(dialogues)) == parquet(to_table_reference(dialogues))
    assert list(from_table(to_table(dialogues))) == dialogues
