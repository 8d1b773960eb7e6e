"""Schema objects, Arrow schema, Parquet/JSONL round trips and validation."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmdial_data import (
    Annotations,
    Dialogue,
    DialogueAct,
    ImageRef,
    SourceFormatError,
    Turn,
    ValidationError,
    read_dialogues,
    validate_dialogue,
    write_dialogues,
)
from mmdial_data.arrow import arrow_schema


def rich_dialogue(i: int = 0) -> Dialogue:
    return Dialogue(
        dialogue_id=f"demo/train/{i}",
        source="demo",
        split="train",
        turns=[
            Turn(
                0,
                "A",
                "user",
                "Ünïcödé “quotes” and emoji 🐱",
                annotations=Annotations(
                    dialogue_acts=[DialogueAct("INFORM", domain="Restaurants_1", slot="city", values=["San José"])],
                    emotion="happiness",
                    intent="FindRestaurants",
                    state={"Restaurants_1-city": ["San José", "SJ"]},
                    knowledge=["k1", "k2"],
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
                ],
            ),
        ],
        meta={"persona": ["i like cats"], "goal": {"restaurant": {"info": {"food": "thai"}}}, "n": 3},
    )


def test_arrow_schema_field_order_and_version() -> None:
    schema = arrow_schema()
    assert schema.names == ["dialogue_id", "source", "split", "turns", "meta", "schema_version"]
    turn = schema.field("turns").type.value_type
    assert [turn.field(i).name for i in range(turn.num_fields)] == [
        "turn_index",
        "speaker",
        "role",
        "text",
        "images",
        "annotations",
    ]
    assert schema.metadata[b"mmdial.schema_version"] == b"1"


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_exact_round_trip(tmp_path: Path, suffix: str) -> None:
    dialogues = [rich_dialogue(i) for i in range(3)]
    path = tmp_path / f"d{suffix}"
    assert write_dialogues(dialogues, path) == 3
    back = list(read_dialogues(path))
    assert back == dialogues
    assert back[0].turns[0].annotations.extra["nested"] == {"x": None, "y": 1.5}
    assert back[0].turns[1].images[0].score == 0.25


def test_parquet_is_deterministic_and_chunked(tmp_path: Path) -> None:
    from mmdial_data.io import write_parquet

    dialogues = [rich_dialogue(i) for i in range(10)]
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(dialogues, a, row_group=4)
    write_parquet(iter(dialogues), b, row_group=4)
    assert a.read_bytes() == b.read_bytes()
    assert pq.ParquetFile(a).metadata.num_row_groups == 3
    assert list(read_dialogues(a)) == dialogues


def test_empty_write_gives_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    assert write_dialogues([], path) == 0
    assert list(read_dialogues(path)) == []


def test_jsonl_keeps_meta_as_objects(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write_dialogues([rich_dialogue()], path)
    row = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert row["meta"]["persona"] == ["i like cats"]
    assert row["turns"][0]["annotations"]["extra"]["spans"] == [[1, 2]]


def test_bad_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write_dialogues([rich_dialogue()], path)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"dialogue_id": "demo/train/9", "turns": [\n')
    with pytest.raises(SourceFormatError, match=r"d\.jsonl, line 2: not a unified-schema dialogue"):
        list(read_dialogues(path))


def test_corrupt_parquet_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    write_dialogues([rich_dialogue()], path)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(SourceFormatError, match=r"broken.parquet: not a readable Parquet file"):
        list(read_dialogues(path))


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown format '.csv'"):
        write_dialogues([rich_dialogue()], tmp_path / "x.csv")
    with pytest.raises(FileNotFoundError, match=r"nope.parquet"):
        read_dialogues(tmp_path / "nope.parquet")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: setattr(d, "dialogue_id", "other/train/0"), "dialogue_id must look like 'demo/train/<original id>'"),
        (lambda d: setattr(d.turns[1], "turn_index", 5), "turn at position 1 has turn_index 5"),
        (lambda d: d.turns[1].images.clear(), "turn 1 has no text and no image"),
        (lambda d: setattr(d.turns[1].images[0], "uri", "../../etc/passwd"), "escapes the image root"),
        (lambda d: setattr(d.turns[1].images[0], "uri", "/abs/x.png"), "is absolute"),
        (lambda d: setattr(d.turns[1].images[0], "level", "global"), "has level 'global'"),
        (lambda d: setattr(d.turns[1].images[0], "score", float("nan")), "non-finite score"),
        (lambda d: d.turns.clear(), "dialogue has no turns"),
        # lone surrogates (what a JSON "\\ud800" escape decodes to) cannot be stored as UTF-8
        (lambda d: setattr(d.turns[0], "text", "hi \ud800"), "turn 0 text: a string is not valid Unicode"),
        (lambda d: d.meta.update(x=[{"k": "\udc80"}]), "meta: a string is not valid Unicode"),
        (lambda d: setattr(d.turns[1].images[0], "caption", "\ud83d"), "turn 1 image: a string is not valid"),
        (lambda d: d.turns[0].annotations.extra.update({"\ud800": 1}), "turn 0 extra: a string is not valid"),
        (lambda d: setattr(d, "dialogue_id", "demo/train/\ud800"), "dialogue 'demo/train/\\ud800': dialogue_id: a"),
    ],
)
@pytest.mark.parametrize("msgspec", [True, False])
def test_validation_errors_name_file_and_record(mutate, message: str, msgspec: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    if not msgspec:  # the Unicode check without msgspec's encoder (the ``stream`` extra)
        monkeypatch.setattr("mmdial_data.validate._utf8_json_encoder", lambda: None)
    d = rich_dialogue()
    validate_dialogue(d, path="in.jsonl")
    mutate(d)
    with pytest.raises(ValidationError) as info:
        validate_dialogue(d, path="in.jsonl")
    assert message in str(info.value)
    assert str(info.value).startswith("in.jsonl, dialogue ")
