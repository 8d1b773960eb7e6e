"""Counts over a unified dataset file: dialogues, turns and images, overall and per source/split.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, Turn, write_dialogues
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
    >>> _ = write_dialogues([Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi there")])], path)
    >>> dataset_stats(path)["total"]
    {'dialogues': 1, 'turns': 1, 'images': 0, 'words': 2}
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

from mmdial_data.io import read_dialogues


def dataset_stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Dialogues, turns, images and whitespace words, in total and per source and per ``source/split``."""

    def zero() -> dict[str, int]:
        return {"dialogues": 0, "turns": 0, "images": 0, "words": 0}

    total = zero()
    per_source: dict[str, dict[str, int]] = defaultdict(zero)
    per_split: dict[str, dict[str, int]] = defaultdict(zero)
    for d in read_dialogues(path):
        n_images = sum(len(t.images) for t in d.turns)
        n_words = sum(len(t.text.split()) for t in d.turns)
        for bucket in (total, per_source[d.source], per_split[f"{d.source}/{d.split}"]):
            bucket["dialogues"] += 1
            bucket["turns"] += len(d.turns)
            bucket["images"] += n_images
            bucket["words"] += n_words
    return {
        "file": str(path),
        "total": total,
        "per_source": dict(sorted(per_source.items())),
        "per_split": dict(sorted(per_split.items())),
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A fixed-width table of :func:`dataset_stats`."""
    rows: list[tuple[str, ...]] = [("source/split", "dialogues", "turns", "images", "words")]
    for name, s in stats["per_split"].items():
        rows.append((name, *(str(s[k]) for k in ("dialogues", "turns", "images", "words"))))
    rows.append(("total", *(str(stats["total"][k]) for k in ("dialogues", "turns", "images", "words"))))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    )
