"""Reading one source of a recipe: its input files, and its dialogues read, validated and capped.

What the local build runs for each source, and what an engine worker or the read-ahead child runs for one, so
that :mod:`mmdial_data.build`, :mod:`mmdial_data.engines.sources` and :mod:`mmdial_data.read_ahead` share it
without importing each other.

Example:
    >>> from mmdial_data.testing import demo_dir
    >>> [f.name for f in input_files([demo_dir() / "dailydialog"])][:2]
    ['dialogues_act_train.txt', 'dialogues_emotion_train.txt']
    >>> [d for d in capped(iter("abcdef"), 3, seed=0)]
    ['b', 'c', 'f']
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mmdial_data.readers import read_source
from mmdial_data.validate import validated

if TYPE_CHECKING:
    from mmdial_data.errors import ErrorPolicy
    from mmdial_data.recipe import SourceSpec
    from mmdial_data.schema import Dialogue

T = TypeVar("T")


def capped(dialogues: Iterator[T], cap: int | None, seed: int) -> Iterator[T]:
    """All dialogues, or a seeded uniform sample of ``cap`` of them in input order (reservoir sampling)."""
    if cap is None:
        yield from dialogues
        return
    rng = random.Random(seed)
    reservoir: list[tuple[int, T]] = []
    for i, d in enumerate(dialogues):
        if i < cap:
            reservoir.append((i, d))
        else:
            j = rng.randint(0, i)
            if j < cap:
                reservoir[j] = (i, d)
    yield from (d for _, d in sorted(reservoir, key=lambda x: x[0]))


def input_files(paths: list[Path]) -> list[Path]:
    """The files of ``paths``: a file itself, a folder's files recursively (sorted)."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p])
    return files


def read_recipe_source(
    i: int, spec: SourceSpec, paths: list[Path], policy: ErrorPolicy, seed: int
) -> Iterator[Dialogue]:
    """Source ``i`` of a recipe read, validated and capped to ``max_dialogues``: what an engine worker runs."""
    stream = read_source(spec.reader, paths, split=spec.split, on_error=policy, options=spec.options)
    return capped(validated(stream, path=str(paths[0]), policy=policy, unique_ids=False), spec.max_dialogues, seed + i)
