"""Export to a Hugging Face ``datasets.DatasetDict`` saved with ``save_to_disk`` (one split per dataset split).

Columns: the unified schema (``turns`` nested, ``meta`` JSON text) plus ``images`` (``Sequence(datasets.Image())``,
the image files that resolve under ``image_root``, embedded as bytes) and ``image_ids`` (their ids, aligned).
Images that are URLs or missing stay as :class:`~mmdial_data.schema.ImageRef` in ``turns`` only. Rows are
streamed through ``Dataset.from_generator``, so memory stays bounded. Needs ``pip install "mmdial-data[hf]"``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmdial_data.errors import ImagePathError
from mmdial_data.exports import iter_input


def _datasets() -> Any:
    try:
        import datasets
    except ImportError as exc:
        from mmdial_data.errors import MissingExtraError

        raise MissingExtraError("datasets", "hf", "`mmdial export hf`") from exc
    return datasets


def hf_features() -> Any:
    """The ``datasets.Features`` of an exported row.

    >>> list(hf_features())  # doctest: +SKIP
    ['dialogue_id', 'source', 'split', 'turns', 'meta', 'schema_version', 'images', 'image_ids']
    """
    datasets = _datasets()
    from mmdial_data.arrow import arrow_schema

    features = datasets.Features.from_arrow_schema(arrow_schema())
    features["images"] = datasets.Sequence(datasets.Image())
    features["image_ids"] = datasets.Sequence(datasets.Value("string"))
    return features


def _rows(data: str, split: str, image_root: str | None) -> Iterator[dict[str, Any]]:
    from mmdial_data.images import resolve_image_path

    for d in iter_input(data):
        if d.split != split:
            continue
        row = d.to_dict()
        images, ids = [], []
        if image_root is not None:
            for image in d.images:
                try:
                    path = resolve_image_path(image.uri, image_root)
                except ImagePathError:
                    continue
                images.append({"bytes": path.read_bytes(), "path": image.uri})
                ids.append(image.image_id)
        row["images"], row["image_ids"] = images, ids
        yield row


def export_hf(
    data: str | os.PathLike[str], out: str | os.PathLike[str], *, image_root: str | os.PathLike[str] | None = None
) -> dict[str, int]:
    """Write ``data`` as a ``DatasetDict`` to ``out``; returns rows per split.

    Example:
        >>> import tempfile, pathlib
        >>> from mmdial_data import Dialogue, Turn, write_dialogues
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> _ = write_dialogues([Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi")])], tmp / "d.jsonl")
        >>> export_hf(tmp / "d.jsonl", tmp / "hf")  # doctest: +SKIP
        {'train': 1}
    """
    datasets = _datasets()
    out = Path(out)
    splits = sorted({d.split for d in iter_input(data)})
    features = hf_features()
    cache = Path(tempfile.mkdtemp(prefix="mmdial-hf-"))
    try:
        parts = {}
        for split in splits:
            parts[split] = datasets.Dataset.from_generator(
                _rows,
                features=features,
                gen_kwargs={
                    "data": str(data),
                    "split": split,
                    "image_root": None if image_root is None else str(image_root),
                },
                cache_dir=str(cache),
                keep_in_memory=False,
            )
        if out.exists():
            shutil.rmtree(out)
        datasets.DatasetDict(parts).save_to_disk(str(out))
        return {k: len(v) for k, v in parts.items()}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
