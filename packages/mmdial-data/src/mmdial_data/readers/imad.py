"""IMAD reader (Moskvoretskii et al., 2023; the ``VityaVitalich/IMAD`` release ``train.json``/``test.json``).

Each record is a dialogue context plus one utterance that was replaced by an Unsplash image: ``image_id``
(id in the full Unsplash dataset), ``source_data`` (the dialogue dataset it came from), ``utter`` (the
replaced utterance), ``context`` (the preceding utterances, a list of strings, or one string with turns
separated by newlines). Any further field (assessor labels ...) is kept in ``meta``. The file may be a JSON
list of records, JSON Lines, or a column-oriented object (``{"image_id": {"0": ...}, ...}`` or
``{"image_id": [...], ...}``, as pandas writes it).

Mapping: the context turns alternate ``speaker_a``/``speaker_b`` (ending with the speaker before the image);
the last turn is the replaced utterance with an :class:`ImageRef` of level ``replacement``
(``source="unsplash"``, ``uri = "unsplash/<image_id>.jpg"``): its text is the utterance the image stands for,
the target of IMAD's task. ``extra["replaced"]`` marks it. Ids are ``imad/<split>/<record index>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import (
    _first_char,
    build_or_report,
    expect,
    infer_split,
    iter_json_array,
    iter_lines,
    json_files,
)
from mmdial_data.schema import Dialogue, ImageRef, Turn

SOURCE = "imad"
LICENSE = "CC BY-NC 4.0 (VityaVitalich/IMAD dataset card)"
CITATION = "Moskvoretskii et al. 2023, IMAD: IMage-Augmented multi-modal Dialogue, arXiv:2305.10512"
REQUIRED = ("image_id", "utter", "context")


def read_imad(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield IMAD dialogues from a release file (JSON records, JSON Lines or columns) or a folder of them.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_imad(demo_dir() / "imad" / "test.json", split=None, policy=ErrorPolicy()))
        >>> d.turns[-1].text, d.turns[-1].images[0].level, d.meta["source_data"]
        ('I just adopted a puppy!', 'replacement', 'dailydialog')
    """
    files = json_files(path, "*.json*")
    for file in files:
        split_name = split or infer_split(file)
        try:
            for index, raw in _records(file):
                record = f"record {index}"
                dialogue = build_or_report(
                    partial(_dialogue, raw, index, split_name, file, record), policy, path=file, record=record
                )
                if dialogue is not None:
                    yield dialogue
        except SourceFormatError as exc:
            policy.handle(exc)


def _records(file: Path) -> Iterator[tuple[int, Any]]:
    if file.suffix in (".jsonl", ".ndjson"):
        index = 0
        for lineno, line in iter_lines(file):
            if line.strip():
                try:
                    yield index, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceFormatError(
                        f"malformed JSON line ({exc.msg})", path=file, record=f"line {lineno}"
                    ) from exc
                index += 1
        return
    if _first_char(file) == "[":
        yield from iter_json_array(file)
        return
    from mmdial_data.readers._common import load_json

    columns = load_json(file)
    expect(isinstance(columns, dict), "expected records or columns", path=file, record="top level")
    lists = {k: (list(v.values()) if isinstance(v, dict) else v) for k, v in columns.items()}
    lengths = {len(v) for v in lists.values() if isinstance(v, list)}
    expect(len(lengths) == 1, "columns have different lengths", path=file, record="top level")
    for i in range(lengths.pop()):
        yield i, {k: v[i] for k, v in lists.items()}


def _dialogue(raw: dict[str, Any], index: int, split: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(raw, dict), "record is not an object", path=file, record=record)
    for key in REQUIRED:
        expect(key in raw, f"missing {key!r}", path=file, record=record)
    context = raw["context"]
    if isinstance(context, str):
        context = [c for c in context.split("\n") if c.strip()]
    expect(
        isinstance(context, list) and all(isinstance(c, str) for c in context),
        "context must be a list of strings",
        path=file,
        record=record,
    )
    utter = raw["utter"]
    expect(isinstance(utter, str) and bool(utter.strip()), "empty utter", path=file, record=record)
    n = len(context) + 1
    turns = []
    for i, text in enumerate([*context, utter]):
        speaker = "AB"[(n - 1 - i) % 2]  # the replaced utterance is by speaker A
        turns.append(Turn(i, speaker, f"speaker_{speaker.lower()}", text.strip()))
    image_id = str(raw["image_id"])
    turns[-1].images = [ImageRef(image_id, f"unsplash/{image_id}.jpg", "unsplash", level="replacement")]
    turns[-1].annotations.extra = {"replaced": True}
    for i, t in enumerate(turns[:-1]):
        expect(bool(t.text), f"context utterance {i} is empty", path=file, record=record)
    meta = {k: v for k, v in raw.items() if k not in ("context", "utter")}
    meta["index"] = index
    return Dialogue(f"{SOURCE}/{split}/{index}", SOURCE, split, turns, meta)
