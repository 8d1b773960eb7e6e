"""Exports of unified datasets: Hugging Face ``datasets`` (:mod:`.hf`) and instruction records (:mod:`.instructions`),
and the formats of dialogue toolkits: ConvLab-3 (:mod:`.convlab3`), DialogStudio (:mod:`.dialogstudio`) and ConvoKit
(:mod:`.convokit`), each the inverse of the reader of that name.

All read a build output folder (``DIR/data``), a Parquet shard folder, or one ``.parquet``/``.jsonl`` file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from mmdial_data.schema import Dialogue


def iter_input(path: str | os.PathLike[str]) -> Iterator[Dialogue]:
    """Dialogues of a build folder (its ``data/``), a shard folder, or a unified file.

    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, Turn, write_dialogues
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = write_dialogues([Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi")])], p)
    >>> [d.dialogue_id for d in iter_input(p)]
    ['x/train/1']
    """
    from mmdial_data.io import read_dialogues

    path = Path(path)
    if path.is_dir() and (path / "data").is_dir():
        path = path / "data"
    return read_dialogues(path)
