"""Filter, deduplicate, re-split and count unified-schema Parquet corpora larger than memory (polars streaming).

Everything here is a polars lazy query run by the streaming engine, so memory grows with the number of
dialogues (a few dozen bytes each for keys and row numbers), never with their text: a corpus of many GB is
processed on one machine within a few GiB. Semantics follow the in-memory builder (:mod:`mmdial_data.build`):

- filters: ``min_turns``/``max_turns``/``has_images`` as in recipes, plus ``sources``/``splits`` selections;
- dedup (keeps the first occurrence in scan order): ``"id"`` (same ``dialogue_id``), ``"exact"`` (same turn
  texts and image URIs; a 128-bit content hash) or ``"near"`` (same normalized text, the builder's own
  fingerprint, computed in Python, so slower);
- re-split: :func:`mmdial_data.recipe.assign_split` of each dialogue id (seeded SHA-1), the id rewritten to
  ``<source>/<new split>/<old split>/<original id>`` and ``original_split`` added to ``meta``, as the builder does.

Outputs use the builder's layout, ``OUT/data/<split>/part-00000.parquet`` with at most ``shard_size`` dialogues per
file, in the unified Arrow schema, plus ``provenance.json``.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, Turn, write_dialogues
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> ds = [Dialogue(f"x/train/{i}", "x", "train", [Turn(0, "A", "user", "hi"), Turn(1, "B", "user", t)])
    ...       for i, t in enumerate(["yo", "yo", "hey there"])]
    >>> _ = write_dialogues(ds, tmp / "in.parquet")
    >>> corpus_stats(tmp / "in.parquet")["total"]
    {'dialogues': 3, 'turns': 6, 'images': 0, 'words': 7}
    >>> result = scale_build(tmp / "in.parquet", tmp / "out", dedup="exact", splits={"train": 0.5, "test": 0.5})
    >>> result.dialogues, result.duplicates, sum(result.per_split.values())
    (2, 1, 2)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mmdial_data.outputs import write_text_atomic
from mmdial_data.scale_write import CHUNK_ROWS as CHUNK_ROWS
from mmdial_data.scale_write import write_corpus as write_corpus

if TYPE_CHECKING:
    import polars as pl

DedupKey = Literal["id", "exact", "near"]
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def scan_corpus(path: str | os.PathLike[str]) -> pl.LazyFrame:
    """A lazy scan of a unified Parquet file, a folder of shards (recursively, sorted) or a glob.

    Raises:
        FileNotFoundError: Nothing to scan.
    """
    import polars as pl

    p = Path(path)
    if p.is_dir():
        files = sorted(str(f) for f in p.rglob("*.parquet") if not f.name.startswith("."))
        if not files:
            raise FileNotFoundError(f"{p}: no *.parquet files")
        return pl.scan_parquet(files)
    if not p.exists() and not any(ch in str(p) for ch in "*?["):
        raise FileNotFoundError(f"{p}: no such file")
    return pl.scan_parquet(str(p))


def n_turns() -> pl.Expr:
    """Turns per dialogue."""
    import polars as pl

    return pl.col("turns").list.len()


def n_images() -> pl.Expr:
    """Images per dialogue (over all turns)."""
    import polars as pl

    return pl.col("turns").list.eval(pl.element().struct.field("images").list.len()).list.sum()


def n_words() -> pl.Expr:
    """Whitespace-separated words per dialogue (as ``len(text.split())`` summed over turns)."""
    import polars as pl

    return pl.col("turns").list.eval(pl.element().struct.field("text").str.count_matches(r"\S+")).list.sum()


def filter_corpus(
    lf: pl.LazyFrame,
    *,
    min_turns: int = 1,
    max_turns: int | None = None,
    has_images: bool | None = None,
    sources: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
) -> pl.LazyFrame:
    """Keep the dialogues that pass the recipe filters (turn bounds, images) and the source/split selections."""
    import polars as pl

    cond = n_turns() >= min_turns
    if max_turns is not None:
        cond &= n_turns() <= max_turns
    if has_images is True:
        cond &= n_images() > 0
    elif has_images is False:
        cond &= n_images() == 0
    if sources is not None:
        cond &= pl.col("source").is_in(list(sources))
    if splits is not None:
        from mmdial_data.recipe import check_split_name

        cond &= pl.col("split").is_in([check_split_name(s, "splits") for s in splits])
    return lf.filter(cond)


def content_key() -> pl.Expr:
    """A 128-bit hash (two seeded 64-bit polars hashes) of turn texts and image URIs: the ``exact`` dedup key.

    Equal content gives equal keys; different content collides with probability about ``n**2 / 2**129``.
    The key is only compared within one run, so polars' hash not being stable across versions does not matter.
    """
    import polars as pl

    uris = pl.element().struct.field("images").list.eval(pl.element().struct.field("uri")).list.join("\x01")
    per_turn = pl.concat_str([pl.element().struct.field("text"), pl.lit("\x00"), uris, pl.lit("\x02")])
    content = pl.col("turns").list.eval(per_turn).list.join("")
    return pl.struct(content.hash(seed=11).alias("h1"), content.hash(seed=29).alias("h2"))


def _near_fingerprints(turns: pl.Series) -> pl.Series:
    import hashlib

    import polars as pl

    from mmdial_data.recipe import normalize_text

    out = []
    for dialogue in turns.to_list():
        h = hashlib.sha1()
        for t in dialogue or []:
            images = "\x01".join(i["uri"] for i in t["images"] or [])
            h.update(f"{normalize_text(t['text'])}\x00{images}\x02".encode())
        out.append(h.hexdigest())
    return pl.Series(out, dtype=pl.String)


def near_key() -> pl.Expr:
    """The builder's near-duplicate fingerprint (SHA-1 of normalized turn texts and image URIs), in Python."""
    import polars as pl

    return pl.col("turns").map_batches(_near_fingerprints, return_dtype=pl.String, is_elementwise=True)


def dedup_key(by: DedupKey) -> pl.Expr:
    """The key expression of a dedup mode."""
    import polars as pl

    if by == "id":
        return pl.col("dialogue_id")
    if by == "exact":
        return content_key()
    if by == "near":
        return near_key()
    raise ValueError(f"dedup must be 'id', 'exact' or 'near', got {by!r}")


def first_rows(lf: pl.LazyFrame, by: DedupKey) -> tuple[pl.Series, int]:
    """Row numbers (in scan order) of the first dialogue of every ``by`` group, and the number of rows: one
    streaming pass that keeps only ``(row, key)`` pairs in memory (about 24 bytes per dialogue)."""
    import polars as pl

    keys = lf.with_row_index("__row").select("__row", dedup_key(by).alias("__key")).collect(engine="streaming")
    kept = keys.group_by("__key").agg(pl.col("__row").min()).get_column("__row").sort()
    return kept, keys.height


def dedup_corpus(lf: pl.LazyFrame, by: DedupKey = "exact") -> pl.LazyFrame:
    """Keep the first dialogue of each duplicate group (scans ``lf`` once now for the keys, lazily afterwards)."""
    import polars as pl

    keep, _ = first_rows(lf, by)
    return lf.with_row_index("__row").filter(pl.col("__row").is_in(keep.implode())).drop("__row")


def _assign_splits(ids: pl.Series, splits: Mapping[str, float], seed: int) -> pl.Series:
    import polars as pl

    from mmdial_data.recipe import assign_split

    return pl.Series([assign_split(i, dict(splits), seed) for i in ids.to_list()], dtype=pl.String)


def split_of(splits: Mapping[str, float], seed: int = 0) -> pl.Expr:
    """The seeded split of each dialogue, from its id (``meta.copy_of`` for weighted copies), as the builder does."""
    import polars as pl

    base = pl.coalesce(pl.col("meta").str.json_path_match("$.copy_of"), pl.col("dialogue_id"))
    return base.map_batches(lambda s: _assign_splits(s, splits, seed), return_dtype=pl.String, is_elementwise=True)


def resplit_corpus(lf: pl.LazyFrame, splits: Mapping[str, float], seed: int = 0) -> pl.LazyFrame:
    """Assign new splits by seeded hash of the dialogue id; rewrite ids and record ``original_split`` in meta."""
    import polars as pl

    if not splits or any(not _SPLIT_NAME.match(s) for s in splits) or any(v < 0 for v in splits.values()):
        raise ValueError(f"splits must map plain names ([A-Za-z0-9_.-]) to fractions >= 0, got {dict(splits)}")
    from mmdial_data.recipe import check_split_name

    canonical = {check_split_name(name, "splits"): frac for name, frac in splits.items()}  # dev -> validation
    if len(canonical) != len(splits):
        raise ValueError(f"splits: two names of one split in {dict(splits)}; give each split one fraction")
    splits = canonical
    new = pl.col("__new_split")
    old_suffix = pl.col("dialogue_id").str.slice(pl.col("source").str.len_chars() + 1)
    entry = pl.concat_str(
        [
            pl.lit('"original_split":'),
            pl.col("split").map_batches(
                lambda s: s.map_elements(json.dumps, return_dtype=pl.String),
                return_dtype=pl.String,
                is_elementwise=True,
            ),
        ]
    )
    has_key = pl.col("meta").str.json_path_match("$.original_split").is_not_null()
    meta = (
        pl.when(has_key)
        .then(pl.col("meta").str.replace(r'"original_split":"(?:[^"\\]|\\.)*"', entry, literal=False))
        .when(pl.col("meta").str.strip_chars() == "{}")
        .then(pl.concat_str([pl.lit("{"), entry, pl.lit("}")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.col("meta")
                    .str.strip_chars_end()
                    .str.slice(0, pl.col("meta").str.strip_chars_end().str.len_chars() - 1),
                    pl.lit(","),
                    entry,
                    pl.lit("}"),
                ]
            )
        )
    )
    return (
        lf.with_columns(split_of(splits, seed).alias("__new_split"))
        .with_columns(
            pl.concat_str([pl.col("source"), pl.lit("/"), new, pl.lit("/"), old_suffix]).alias("dialogue_id"),
            meta.alias("meta"),
        )
        .with_columns(new.alias("split"))
        .drop("__new_split")
    )


@dataclass
class ScaleResult:
    """What :func:`scale_build` wrote: dialogues kept, removed by each step, per split, the shard files."""

    out: Path
    dialogues: int
    read: int
    filtered: int
    duplicates: int
    per_split: dict[str, int]
    shards: list[Path] = field(default_factory=list)


def scale_build(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    min_turns: int = 1,
    max_turns: int | None = None,
    has_images: bool | None = None,
    sources: Sequence[str] | None = None,
    dedup: DedupKey | None = "id",
    splits: Mapping[str, float] | None = None,
    seed: int = 0,
    shard_size: int = 10_000,
) -> ScaleResult:
    """Filter, deduplicate and (optionally) re-split a unified Parquet corpus into the builder's shard layout.

    Args:
        src: Unified Parquet file, shard folder or glob.
        out: Output folder (``out/data/<split>/part-*.parquet`` and ``out/provenance.json``).
        min_turns, max_turns, has_images, sources: Filters (see :func:`filter_corpus`).
        dedup: ``"id"``, ``"exact"``, ``"near"`` or None.
        splits: New split fractions (``{"train": 0.8, "validation": 0.1, "test": 0.1}``; aliases such as
            ``valid`` are taken as their canonical name, :mod:`mmdial_data.splits`); None keeps the splits.
        seed: Seed of the split hash.
        shard_size: Dialogues per output file.
    """
    from mmdial_data.provenance import provenance

    out = Path(out)
    lf = scan_corpus(src)
    read = int(lf.select(n=_len()).collect(engine="streaming").item())
    lf = filter_corpus(lf, min_turns=min_turns, max_turns=max_turns, has_images=has_images, sources=sources)
    if dedup is not None:
        import polars as pl

        keep, after_filter = first_rows(lf, dedup)
        lf = lf.with_row_index("__row").filter(pl.col("__row").is_in(keep.implode())).drop("__row")
    else:
        after_filter = int(lf.select(n=_len()).collect(engine="streaming").item())
    if splits is not None:
        lf = resplit_corpus(lf, splits, seed)
    per_split, shards = write_corpus(lf, out, shard_size=shard_size)
    kept = sum(per_split.values())
    config = {
        "src": str(src),
        "min_turns": min_turns,
        "max_turns": max_turns,
        "has_images": has_images,
        "sources": list(sources) if sources else None,
        "dedup": dedup,
        "splits": dict(splits) if splits else None,
        "shard_size": shard_size,
    }
    record = provenance(
        config=config,
        seed=seed,
        extra={
            "engine": "polars-streaming",
            "counts": {
                "read": read,
                "filtered": read - after_filter,
                "duplicates": after_filter - kept,
                "per_split": per_split,
            },
            "outputs": [str(p.relative_to(out)) for p in shards],
        },
    )
    write_text_atomic(out / "provenance.json", json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return ScaleResult(out, kept, read, read - after_filter, after_filter - kept, per_split, shards)


def _len() -> pl.Expr:
    import polars as pl

    return pl.len()


def corpus_stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Dialogues, turns, images and words in total, per source and per ``source/split`` (the same dictionary as
    :func:`mmdial_data.stats.dataset_stats`, computed by a streaming polars aggregation)."""
    import polars as pl

    keys = ("dialogues", "turns", "images", "words")
    grouped = (
        scan_corpus(path)
        .select("source", "split", n_turns().alias("turns"), n_images().alias("images"), n_words().alias("words"))
        .group_by("source", "split")
        .agg(pl.len().alias("dialogues"), pl.col("turns").sum(), pl.col("images").sum(), pl.col("words").sum())
        .collect(engine="streaming")
        .sort("source", "split")
    )
    total = dict.fromkeys(keys, 0)
    per_source: dict[str, dict[str, int]] = {}
    per_split: dict[str, dict[str, int]] = {}
    for row in grouped.iter_rows(named=True):
        counts = {k: int(row[k] or 0) for k in keys}
        per_split[f"{row['source']}/{row['split']}"] = counts
        src = per_source.setdefault(row["source"], dict.fromkeys(keys, 0))
        for k in keys:
            src[k] += counts[k]
            total[k] += counts[k]
    return {
        "file": str(path),
        "total": total,
        "per_source": dict(sorted(per_source.items())),
        "per_split": dict(sorted(per_split.items())),
    }


__all__ = [
    "ScaleResult",
    "content_key",
    "corpus_stats",
    "dedup_corpus",
    "filter_corpus",
    "first_rows",
    "near_key",
    "resplit_corpus",
    "scale_build",
    "scan_corpus",
    "split_of",
    "write_corpus",
]
