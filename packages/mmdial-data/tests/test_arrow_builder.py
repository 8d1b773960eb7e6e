"""The columnar Arrow builder against the naive reference (``pa.Table.from_pylist`` of ``Dialogue.to_dict``)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmdial_data import Annotations, Dialogue, DialogueAct, ImageRef, Turn
from mmdial_data.arrow import (
    TableBuilder,
    arrow_schema,
    column_array,
    from_table,
    numpy_array,
    repeated_string,
    string_array,
    to_numpy,
    to_table,
    to_table_reference,
)


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


STRING_CASES: list[list[Any]] = [
    [],
    ["", "a", "hello world"],
    ["é", "😀", "a\x00b", "\u2028", ""],
    ["a", None, "b"],  # with a validity bitmap
    [None],
    [None, "é", None, None, None, None, None, None, "x"],  # a bitmap over more than one byte
    ["a", b"x"],  # pyarrow takes bytes as UTF-8
]


@pytest.mark.parametrize("values", STRING_CASES)
def test_string_array_equals_pa_array(values: list[Any]) -> None:
    got, expected = string_array(values), pa.array(values, pa.string())
    assert got.type == pa.string() and got.equals(expected)
    got.validate(full=True)


@pytest.mark.parametrize(("value", "n"), [("photochat", 3), ("", 4), ("é😀", 2), ("x", 0), ("a\x00", 1)])
def test_repeated_string_equals_string_array(value: str, n: int) -> None:
    got, expected = repeated_string(value, n), string_array([value] * n)
    assert got.equals(expected) and got.buffers()[1:] == expected.buffers()[1:]  # the same bytes in Parquet
    got.validate(full=True)


@pytest.mark.parametrize("values", [["a", 1], ["a", None, 3], ["\ud800"], [None, "\ud800"], ["a", b"\xff"]])
def test_string_array_raises_like_pa_array(values: list[Any]) -> None:
    with pytest.raises(Exception) as expected:
        pa.array(values, pa.string())
    with pytest.raises(type(expected.value)):
        string_array(values)


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        (np.array([True, False, True, True, False, False, True, False, True]), pa.bool_()),
        (np.array([], bool), pa.bool_()),
        (np.arange(5, dtype=np.int8), pa.int8()),
        (np.arange(5, dtype=np.int32)[::2], pa.int32()),  # strided: copied
        (np.arange(5, dtype=np.int64), pa.int32()),  # other dtype: pa.array casts
        (np.arange(5, dtype=np.int64).reshape(1, 5)[0], pa.int64()),  # a view of a 2-D array
        (np.array([1.5, np.nan]), pa.float64()),
    ],
)
def test_numpy_array_equals_pa_array(values: np.ndarray, type_: pa.DataType) -> None:
    got, expected = numpy_array(values, type_), pa.array(values, type_)
    got.validate(full=True)
    assert got.type == type_ and got.null_count == expected.null_count == 0
    assert got.to_string() == expected.to_string()  # NaN stays a value, as in pa.array (from_pandas=False)


def test_numpy_array_raises_like_pa_array() -> None:
    big_endian = np.arange(5, dtype=">i4")
    with pytest.raises(pa.ArrowNotImplementedError):
        pa.array(big_endian, pa.int32())
    with pytest.raises(pa.ArrowNotImplementedError):
        numpy_array(big_endian, pa.int32())


@pytest.mark.parametrize(
    ("values", "type_"),
    [
        ([0, 3, 7], pa.int32()),
        ([], pa.int32()),
        ([0, None], pa.int32()),
        ([1.5], pa.float64()),
        ([1.5, None, float("nan"), -0.0, None], pa.float64()),
        ([None, None], pa.float64()),
        ([], pa.float64()),
        ([1, 2.5], pa.float64()),  # an int among floats: pa.array's own conversion
        (np.arange(3, dtype=np.int32), pa.int32()),
        (pa.array([1, 2], pa.int64()), pa.int32()),
        ([True, 2], pa.int32()),
        ([2**31], pa.int32()),
        ([-(2**31) - 1], pa.int32()),
        ([2**63], pa.int64()),
    ],
)
def test_column_array_equals_pa_array_or_raises_alike(values: Any, type_: pa.DataType) -> None:
    def outcome(convert: Any) -> Any:
        try:
            return convert(values, type_).to_pylist()
        except Exception as exc:  # the same error class as pyarrow's
            return type(exc)

    expected = outcome(lambda v, t: v.cast(t) if isinstance(v, pa.Array) else pa.array(v, t))
    assert repr(outcome(column_array)) == repr(expected)  # repr: NaN equals NaN


@pytest.mark.parametrize(
    ("array", "fill"),
    [
        (pa.array([1, None, 3, 4, None], pa.int32()).slice(1, 4), 0),
        (pa.array([True, None, False] * 7).slice(5, 11), False),
        (pa.array([0.5, None, float("inf")]), -1.0),
        (pa.nulls(4, pa.int64()), 7),
        (pa.array([], pa.int8()), 0),
        (pa.chunked_array([pa.array([1, 2], pa.int64()), pa.array([None], pa.int64())]), -1),
        (pa.array([[1], None, []]).value_lengths(), 0),
    ],
)
def test_to_numpy_equals_fill_null_to_numpy(array: Any, fill: Any) -> None:
    expected = array.fill_null(fill).to_numpy(zero_copy_only=False)
    got = to_numpy(array, fill)
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()


def test_to_numpy_needs_a_fill_for_nulls_and_a_primitive_type() -> None:
    assert to_numpy(pa.array([1, 2], pa.int32())).tolist() == [1, 2]
    with pytest.raises(ValueError, match="give a fill value"):
        to_numpy(pa.array([1, None]))
    with pytest.raises(TypeError, match="not string"):
        to_numpy(pa.array(["a"]))
