"""Streaming shard writer and histogram statistics of the builder, against naive references."""

from __future__ import annotations

import random
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmdial_data import Dialogue, Turn, read_dialogues, write_dialogues
from mmdial_data.build import _ShardedWriter
from mmdial_data.card import histogram_bins, histogram_summary, write_turn_length_plot
from mmdial_data.io import ParquetDialogueWriter, write_parquet


def _dialogues(n: int, splits: tuple[str, ...] = ("train",)) -> list[Dialogue]:
    rng = random.Random(0)
    out = []
    for i in range(n):
        split = splits[i % len(splits)]
        turns = [Turn(j, "A", "user", " ".join(["w"] * rng.randint(1, 9))) for j in range(rng.randint(1, 4))]
        out.append(Dialogue(f"x/{split}/{i}", "x", split, turns, meta={"i": i}))
    return out


def test_sharded_writer_equals_buffered_shards(tmp_path: Path) -> None:
    dialogues = _dialogues(23, ("train", "test"))
    writer = _ShardedWriter(tmp_path / "stream", shard_size=5, row_group=2)
    for d in dialogues:
        writer.add(d)
    writer.close()
    # reference: the old builder, one write_parquet per full buffer of a split
    expected: list[str] = []
    for split in ("train", "test"):
        rows = [d for d in dialogues if d.split == split]
        for k in range(0, len(rows), 5):
            path = tmp_path / "ref" / "data" / split / f"part-{k // 5:05d}.parquet"
            write_parquet(rows[k : k + 5], path, row_group=2)
            expected.append(str(path.relative_to(tmp_path / "ref")))
    got = [str(p.relative_to(tmp_path / "stream")) for p in writer.shards]
    assert sorted(got) == sorted(expected)
    for rel in expected:
        assert (tmp_path / "stream" / rel).read_bytes() == (tmp_path / "ref" / rel).read_bytes()
    assert pq.ParquetFile(tmp_path / "stream" / "data" / "train" / "part-00000.parquet").metadata.num_row_groups == 3
    assert sorted(d.dialogue_id for d in read_dialogues(tmp_path / "stream" / "data")) == sorted(
        d.dialogue_id for d in dialogues
    )


def test_aborted_writer_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    with pytest.raises(RuntimeError), ParquetDialogueWriter(path, row_group=2) as writer:
        for d in _dialogues(5):
            writer.write(d)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    sharded = _ShardedWriter(tmp_path / "s", shard_size=10, row_group=2)
    for d in _dialogues(5):
        sharded.add(d)
    sharded.abort()
    assert [p for p in (tmp_path / "s").rglob("*") if p.is_file()] == []


def test_streamed_file_equals_write_dialogues(tmp_path: Path) -> None:
    dialogues = _dialogues(1100)
    write_dialogues(dialogues, tmp_path / "a.parquet")
    with ParquetDialogueWriter(tmp_path / "b.parquet") as writer:
        for d in dialogues:
            writer.write(d)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert list(read_dialogues(tmp_path / "b.parquet")) == dialogues


@pytest.mark.parametrize("seed", range(6))
def test_histogram_summary_matches_statistics(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.choice([0, 1, 2, 3, 7, 40, 250]) for _ in range(rng.randint(1, 60))]
    n, mean, median, top = histogram_summary(Counter(values)) or (0, 0.0, 0.0, 0)
    assert n == len(values) and top == max(values)
    assert mean == statistics.fmean(values)
    assert median == statistics.median(values)
    assert f"{median:g}" == f"{statistics.median(values):g}"


def test_plot_from_histogram_equals_plot_from_list(tmp_path: Path) -> None:
    values = {"a": [1, 2, 2, 3, 150, 0], "b": [5, 5, 9]}
    write_turn_length_plot(values, tmp_path / "list.svg")
    write_turn_length_plot({k: Counter(v) for k, v in values.items()}, tmp_path / "hist.svg")
    assert (tmp_path / "list.svg").read_bytes() == (tmp_path / "hist.svg").read_bytes()


def test_plot_bins_and_bars_hold_every_value(tmp_path: Path) -> None:
    rng = random.Random(3)
    values = {"a & b": [rng.randint(0, 300) for _ in range(2000)], "c": [rng.randint(0, 30) for _ in range(500)]}
    width, counts = histogram_bins(values, cap=100)
    assert width == 2 and list(counts) == ["a & b", "c"]
    assert [sum(row) for row in counts.values()] == [2000, 500]
    assert counts["a & b"][-1] == sum(v >= 100 for v in values["a & b"])  # the capped values: last bin
    assert counts["c"][5] == sum(v in (10, 11) for v in values["c"])
    write_turn_length_plot(values, tmp_path / "p.svg")
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.parse(tmp_path / "p.svg").getroot()
    for group, (name, row) in zip(root.iter(f"{ns}g"), counts.items(), strict=True):
        assert group.get("data-series") == name
        titles = [r.findtext(f"{ns}title") for r in group.iter(f"{ns}rect")]
        assert titles == [
            f"{name}: {'100+' if b == 50 else f'{2 * b}-{2 * b + 1}'}, {c}" for b, c in enumerate(row) if c
        ]
        heights = [float(r.get("height")) for r in group.iter(f"{ns}rect")]
        assert heights.index(max(heights)) == [c for c in row if c].index(max(row))
