"""Recipe mixing: weights, language filter, exact/near dedup with counts, seeded splits that keep dialogues whole."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from mmdial_data import build_dataset, read_dialogues
from mmdial_data.recipe import Recipe, assign_split
from mmdial_data.testing import demo_dir, repo_root


def _chat(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        ("a", "Where is the station?"), ("a", "Two blocks north."),
        ("b", "where is the station"), ("b", "Two blocks north!"),  # near duplicate of a
        ("c", "Where is the station?"), ("c", "Two blocks north."),  # exact duplicate of a
        ("d", "¿Dónde está la estación de tren, por favor?"), ("d", "Está a dos calles al norte de la plaza."),
        ("e", "I love hiking in the mountains."), ("e", "Me too, especially in autumn."),
    ]  # fmt: skip
    path = folder / "train.jsonl"
    path.write_text("".join(json.dumps({"dialogue_id": d, "text": t}) + "\n" for d, t in rows))
    return path


def _recipe(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(body)
    return path


def test_dedup_language_filter_and_counts(tmp_path: Path) -> None:
    _chat(tmp_path / "chat")
    recipe = _recipe(
        tmp_path,
        "name: t\nsources:\n  - {reader: folder, paths: [chat]}\nfilters: {languages: [en]}\n"
        "dedup: {exact: true, near: true}\n",
    )
    result = build_dataset(recipe, tmp_path / "out", progress=False)
    ids = sorted(d.dialogue_id for d in read_dialogues(tmp_path / "out" / "data"))
    assert ids == ["folder/train/a", "folder/train/e"]
    stats = result.per_source["folder"]
    assert stats == {
        "read": 5, "filtered_languages": 1, "exact_duplicates": 1, "near_duplicates": 1, "kept": 2,
    }  # fmt: skip
    card = (tmp_path / "out" / "card.md").read_text()
    assert "1 exact, 1 near" in card and "| folder | 5 | 1 | 1 | 1 | 2 |" in card


def test_splits_are_seeded_whole_and_order_free(tmp_path: Path) -> None:
    recipe = _recipe(
        tmp_path,
        "name: t\nseed: 3\nsources:\n  - {reader: dailydialog, paths: ["
        + str(demo_dir() / "dailydialog")
        + "], weight: 3}\n  - {reader: personachat, paths: ["
        + str(demo_dir() / "personachat")
        + "]}\nsplits: {train: 0.5, valid: 0.25, test: 0.25}\n",
    )
    build_dataset(recipe, tmp_path / "out", progress=False)
    dialogues = list(read_dialogues(tmp_path / "out" / "data"))
    assert Counter(d.source for d in dialogues) == {"dailydialog": 9, "personachat": 3}
    for d in dialogues:
        # the split key is the dialogue's id before re-splitting (a copy uses its original's)
        key = d.meta.get("copy_of") or f"{d.source}/{d.dialogue_id.split('/', 2)[2]}"
        assert d.split == assign_split(key, {"train": 0.5, "validation": 0.25, "test": 0.25}, 3)
        assert d.dialogue_id.startswith(f"{d.source}/{d.split}/{d.meta['original_split']}/")
    by_base: dict[str, set[str]] = {}
    for d in dialogues:
        by_base.setdefault(d.meta.get("copy_of", d.dialogue_id), set()).add(d.split)
    assert all(len(s) == 1 for s in by_base.values())  # copies never cross splits
    files = sorted((tmp_path / "out" / "data").rglob("*.parquet"))
    assert {f.parent.name for f in files} <= {"train", "validation", "test"}
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == 12


def test_weight_below_one_is_a_seeded_subset(tmp_path: Path) -> None:
    recipe = _recipe(
        tmp_path, f"name: t\nsources:\n  - {{reader: chitchat, paths: [{demo_dir() / 'chitchat'}], weight: 0.5}}\n"
    )
    a = build_dataset(recipe, tmp_path / "a", progress=False)
    b = build_dataset(recipe, tmp_path / "b", progress=False)
    assert a.dialogues == b.dialogues <= 2
    assert [p.read_bytes() for p in a.shards] == [p.read_bytes() for p in b.shards]


def test_validation_of_new_keys() -> None:
    with pytest.raises(ValueError, match="'weight' must be a positive number"):
        Recipe.from_dict({"name": "x", "sources": [{"reader": "sgd", "paths": ["p"], "weight": 0}]})
    with pytest.raises(ValueError, match="unknown key 'fuzzy'"):
        Recipe.from_dict({"name": "x", "sources": [], "dedup": {"fuzzy": True}})
    with pytest.raises(ValueError, match="splits"):
        Recipe.from_dict({"name": "x", "sources": [], "splits": {"train": -1}})
    old = Recipe.from_dict({"name": "x", "sources": [{"reader": "sgd", "paths": ["p"]}]}).to_dict()
    assert set(old) == {"name", "sources", "seed", "version", "shard_size", "on_error", "filters"}


@pytest.mark.parametrize("name", ["demo", "demo_all", "mixture"])
def test_shipped_recipes_rebuild_byte_identically(tmp_path: Path, name: str) -> None:
    recipe = repo_root() / "datasets" / "recipes" / f"{name}.yaml"
    a = build_dataset(recipe, tmp_path / "a", progress=False)
    b = build_dataset(recipe, tmp_path / "b", progress=False)
    for rel in ["card.md", "turn_lengths.svg", "dialogue_lengths.svg", *[str(p.relative_to(a.out)) for p in a.shards]]:
        assert (a.out / rel).read_bytes() == (b.out / rel).read_bytes(), rel
    if name == "demo_all":
        assert set(a.counts) >= {"multiwoz", "visdial", "photochat", "locomo", "imad", "chitchat", "mychat"}
