"""Generate a large unified-schema Parquet corpus quickly (vectorized Arrow), for the scale benchmark.

Random lowercase text (8 turns of ~250 characters per dialogue) written with Snappy, Parquet's common default,
so the file size on disk is close to its decoded size. A fraction of the dialogues repeats an earlier dialogue
of the same row group exactly (same id and content), so dedup has real work and a known answer.

Run: ``python benchmarks/bench_scale_corpus.py OUT.parquet --gb 5.2``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from jsonline import add_json_flag, emit

from mmdial_data.arrow import arrow_schema

TURNS = 8
CHARS = 250
ROWS_PER_GROUP = 16_384
DUP_FRACTION = 0.03


def _empty_lists(n: int, item: pa.DataType) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, np.int32)), pa.array([], type=item))


def row_group(rng: np.random.Generator, start: int) -> tuple[pa.Table, int]:
    """One row group of generated dialogues (ids from ``start``) and its number of exact duplicates."""
    schema = arrow_schema()
    turn_type = schema.field("turns").type.value_type
    fields = {f.name: f.type for f in turn_type}
    ann_type = fields["annotations"]
    n = ROWS_PER_GROUP
    n_dup = int(n * DUP_FRACTION)
    n_turns = n * TURNS
    codes = rng.integers(0, 27, size=n_turns * CHARS, dtype=np.uint8)
    data = np.where(codes == 26, 32, codes + 97).astype(np.uint8)
    lengths = rng.integers(CHARS // 2, CHARS + 1, size=n_turns)
    offsets = np.zeros(n_turns + 1, np.int32)
    offsets[1:] = np.cumsum(lengths)
    # duplicates: the last n_dup dialogues copy the first n_dup (text offsets point at the same bytes)
    first_turn_of_dup = (n - n_dup) * TURNS
    offsets_dup = offsets[: n_dup * TURNS + 1]
    text_offsets = np.concatenate([offsets[: first_turn_of_dup + 1], offsets[first_turn_of_dup] + offsets_dup[1:]])
    text_data = np.concatenate([data[: offsets[first_turn_of_dup]], data[: offsets_dup[-1]]])
    text = pa.StringArray.from_buffers(n_turns, pa.py_buffer(text_offsets.astype(np.int32)), pa.py_buffer(text_data))
    annotations = pa.StructArray.from_arrays(
        [
            _empty_lists(n_turns, ann_type.field("dialogue_acts").type.value_type),
            pa.nulls(n_turns, pa.string()),
            pa.nulls(n_turns, pa.string()),
            _empty_lists(n_turns, ann_type.field("state").type.value_type),
            _empty_lists(n_turns, pa.string()),
            pa.array(["{}"] * n_turns),
        ],
        fields=list(ann_type),
    )
    turn_index = np.tile(np.arange(TURNS, dtype=np.int32), n)
    speaker = pa.array(np.where(turn_index % 2 == 0, "A", "B"))
    turns = pa.StructArray.from_arrays(
        [
            pa.array(turn_index),
            speaker,
            pa.array(np.where(turn_index % 2 == 0, "speaker_a", "speaker_b")),
            text,
            _empty_lists(n_turns, fields["images"].value_type),
            annotations,
        ],
        fields=list(turn_type),
    )
    turns_col = pa.ListArray.from_arrays(pa.array(np.arange(0, n_turns + 1, TURNS, dtype=np.int32)), turns)
    idx = np.arange(start, start + n)
    idx[n - n_dup :] = idx[:n_dup]
    split = np.where(idx % 10 == 0, "test", "train")
    ids = [f"gen/{s}/{i}" for s, i in zip(split.tolist(), idx.tolist(), strict=True)]
    table = pa.Table.from_arrays(
        [pa.array(ids), pa.array(["gen"] * n), pa.array(split), turns_col, pa.array(["{}"] * n), pa.array(["1"] * n)],
        schema=schema,
    )
    return table, n_dup


def generate(path: Path, gb: float, seed: int = 0) -> dict[str, float]:
    """Write at least ``gb`` GB (10**9 bytes) to ``path``; returns sizes and counts."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = dups = 0
    with pq.ParquetWriter(path, arrow_schema(), compression="snappy") as writer:
        while path.stat().st_size < gb * 1e9 if path.exists() else True:
            table, n_dup = row_group(rng, rows)
            writer.write_table(table, row_group_size=ROWS_PER_GROUP)
            rows += table.num_rows
            dups += n_dup
    return {"bytes": path.stat().st_size, "dialogues": rows, "duplicates": dups, "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--gb", type=float, default=5.2)
    add_json_flag(ap)
    args = ap.parse_args()
    result = generate(args.out, args.gb)
    if args.json:
        emit("scale-corpus-generate", result)
    else:
        print(result)


if __name__ == "__main__":
    main()
