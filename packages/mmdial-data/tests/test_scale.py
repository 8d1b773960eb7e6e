"""Streaming polars filter/dedup/split/stats against naive Python references over the same dialogues."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mmdial_data import Dialogue, ImageRef, Turn, read_dialogues, write_dialogues
from mmdial_data.build import dialogue_fingerprints
from mmdial_data.recipe import Filters, assign_split
from mmdial_data.scale import corpus_stats, dedup_corpus, filter_corpus, scale_build, scan_corpus
from mmdial_data.stats import dataset_stats

WORDS = ["the", "cat", "sat", "on", "a", "mat", "Hello,", "world!", "dog", "  park\t", "éclair"]


def make_corpus(n: int = 120, seed: int = 0) -> list[Dialogue]:
    rng = random.Random(seed)
    out: list[Dialogue] = []
    for i in range(n):
        source = rng.choice(["alpha", "beta"])
        split = rng.choice(["train", "test"])
        turns = []
        for t in range(rng.randint(0, 5)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
            images = (
                [ImageRef(f"img{rng.randint(0, 3)}", f"x/{rng.randint(0, 3)}.png", "pool")]
                if rng.random() < 0.2
                else []
            )
            turns.append(Turn(t, "A" if t % 2 == 0 else "B", "user", text, images))
        meta = {"n": i} if rng.random() < 0.5 else {}
        if rng.random() < 0.1:
            meta["copy_of"] = f"{source}/{split}/{i - 1}"
        out.append(Dialogue(f"{source}/{split}/{i}", source, split, turns, meta))
    # duplicates: exact copies under new ids, near copies (case/punctuation), and repeated ids
    for j in range(0, 30, 3):
        d = out[j]
        out.append(Dialogue(f"{d.source}/{d.split}/dup{j}", d.source, d.split, list(d.turns), {}))
        near = [Turn(t.turn_index, t.speaker, t.role, t.text.upper() + " !!", t.images) for t in d.turns]
        out.append(Dialogue(f"{d.source}/{d.split}/near{j}", d.source, d.split, near, {}))
        out.append(Dialogue(d.dialogue_id, d.source, d.split, [Turn(0, "Z", "user", f"same id {j}")], {}))
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Dialogue]]:
    ds = make_corpus()
    folder = tmp_path_factory.mktemp("corpus") / "shards"
    folder.mkdir()
    write_dialogues(ds[:70], folder / "part-00000.parquet")
    write_dialogues(ds[70:], folder / "part-00001.parquet")
    return folder, ds


def ids(lf: object) -> list[str]:
    return lf.select("dialogue_id").collect(engine="streaming").get_column("dialogue_id").to_list()  # type: ignore[attr-defined]


def keep_first(ds: list[Dialogue], key: object) -> list[Dialogue]:
    seen: set[object] = set()
    kept = []
    for d in ds:
        k = key(d)  # type: ignore[operator]
        if k not in seen:
            seen.add(k)
            kept.append(d)
    return kept


def keep_first_ids(ds: list[Dialogue], key: object) -> list[str]:
    return [d.dialogue_id for d in keep_first(ds, key)]


def test_stats_match_the_in_memory_stats(corpus: tuple[Path, list[Dialogue]]) -> None:
    folder, ds = corpus
    got, want = corpus_stats(folder), dataset_stats(folder)
    assert got["total"]["dialogues"] == len(ds)
    assert {k: got[k] for k in ("total", "per_source", "per_split")} == {
        k: want[k] for k in ("total", "per_source", "per_split")
    }


@pytest.mark.parametrize("kw", [{}, {"min_turns": 2, "max_turns": 4}, {"has_images": True}, {"has_images": False}])
def test_filters_match_recipe_filters(corpus: tuple[Path, list[Dialogue]], kw: dict[str, object]) -> None:
    folder, ds = corpus
    f = Filters(**kw)  # type: ignore[arg-type]
    want = [d.dialogue_id for d in ds if f.reason_to_drop(len(d.turns), sum(len(t.images) for t in d.turns)) is None]
    assert ids(filter_corpus(scan_corpus(folder), **kw)) == want  # type: ignore[arg-type]
    only = ids(filter_corpus(scan_corpus(folder), sources=["beta"], splits=["test"], min_turns=0))
    assert only == [d.dialogue_id for d in ds if d.source == "beta" and d.split == "test"]


def test_dedup_matches_builder_fingerprints(corpus: tuple[Path, list[Dialogue]]) -> None:
    folder, ds = corpus
    exact = keep_first_ids(ds, lambda d: dialogue_fingerprints(d)[0])
    near = keep_first_ids(ds, lambda d: dialogue_fingerprints(d)[1])
    by_id = keep_first_ids(ds, lambda d: d.dialogue_id)
    assert len(near) < len(exact) < len(ds) and len(by_id) < len(ds)
    assert ids(dedup_corpus(scan_corpus(folder), "exact")) == exact
    assert ids(dedup_corpus(scan_corpus(folder), "near")) == near
    assert ids(dedup_corpus(scan_corpus(folder), "id")) == by_id
    with pytest.raises(ValueError, match="dedup must be"):
        dedup_corpus(scan_corpus(folder), "fuzzy")  # type: ignore[arg-type]


def test_scale_build_writes_builder_layout_with_seeded_splits(
    corpus: tuple[Path, list[Dialogue]], tmp_path: Path
) -> None:
    folder, ds = corpus
    splits = {"train": 0.6, "validation": 0.2, "test": 0.2}
    aliased = {"train": 0.6, "valid": 0.2, "test": 0.2}  # an alias is taken as its canonical name
    result = scale_build(folder, tmp_path, min_turns=1, dedup="exact", splits=aliased, seed=7, shard_size=16)
    # naive reference: filter, keep first by exact fingerprint, then the builder's re-split rule
    kept = keep_first([d for d in ds if len(d.turns) >= 1], lambda d: dialogue_fingerprints(d)[0])
    expected: dict[str, list[Dialogue]] = {}
    for d in kept:
        new = assign_split(d.meta.get("copy_of", d.dialogue_id), splits, 7)
        e = Dialogue(
            f"{d.source}/{new}/{d.dialogue_id[len(d.source) + 1 :]}",
            d.source,
            new,
            d.turns,
            {**d.meta, "original_split": d.split},
        )
        expected.setdefault(new, []).append(e)
    assert result.read == len(ds)
    assert result.filtered == sum(len(d.turns) < 1 for d in ds)
    assert result.per_split == {k: len(v) for k, v in sorted(expected.items())}
    assert result.dialogues == sum(result.per_split.values()) == result.read - result.filtered - result.duplicates
    for split, want in expected.items():
        files = sorted((tmp_path / "data" / split).glob("part-*.parquet"))
        assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range((len(want) + 15) // 16)]
        assert list(read_dialogues(tmp_path / "data" / split)) == want
    record = json.loads((tmp_path / "provenance.json").read_text())
    assert record["engine"] == "polars-streaming" and record["seed"] == 7


def test_resplit_replaces_an_existing_original_split(tmp_path: Path) -> None:
    d = Dialogue("s/train/1", "s", "train", [Turn(0, "A", "user", "hi")], {"original_split": "dev", "k": 1})
    write_dialogues([d], tmp_path / "in.parquet")
    scale_build(tmp_path / "in.parquet", tmp_path / "out", splits={"test": 1.0})
    (got,) = read_dialogues(tmp_path / "out" / "data" / "test")
    assert (got.dialogue_id, got.split, got.meta) == ("s/test/train/1", "test", {"original_split": "train", "k": 1})
    with pytest.raises(ValueError, match="plain names"):
        scale_build(tmp_path / "in.parquet", tmp_path / "bad", splits={"a/b": 1.0})
    with pytest.raises(FileNotFoundError):
        scan_corpus(tmp_path / "missing.parquet")
