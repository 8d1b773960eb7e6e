"""VisDial v1.0 reader (``visdial_1.0_<split>.json``).

``{"version", "data": {"dialogs", "answers", "questions"}, "split"}``: all text is stored by index into the
shared ``questions``/``answers`` pools. The pools are read first, then the dialogs one at a time (both
incrementally with ``ijson`` when installed).

Each dialog becomes: turn 0, the COCO caption (speaker/role ``caption``), carrying the image as a
``shared`` :class:`ImageRef` (``source="coco"``, ``uri`` the official file name
``VisualDialog_<split>_<image_id padded to 12>.jpg`` for val2018/test2018, ``COCO_train2014_...`` for train);
then per round a ``questioner`` turn (the question as stored, without ``?``) and an ``answerer`` turn. The
answerer turn's ``extra`` holds the round, the pool indices, ``gt_index``, the 100 ``answer_options``
indices and their texts; the question turn's holds the round and question index (and, in the test split,
the options of the unanswered last round). The image id, caption, version and the file's split go to
``meta``; splits are named ``train``/``val``/``test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, iter_json_array, json_files, json_value
from mmdial_data.schema import Annotations, Dialogue, ImageRef, Turn

SOURCE = "visdial"
LICENSE = "CC BY 4.0"
CITATION = "Das et al. 2017, Visual Dialog, CVPR"
_SPLITS = {"val2018": "val", "test2018": "test", "train": "train", "val": "val", "test": "test"}


def image_file_name(image_id: int, visdial_split: str) -> str:
    """The file name of a VisDial image in the official image zips.

    >>> image_file_name(185565, "val2018")
    'VisualDialog_val2018_000000185565.jpg'
    >>> image_file_name(378466, "train")
    'COCO_train2014_000000378466.jpg'
    """
    if visdial_split == "train":
        return f"COCO_train2014_{image_id:012d}.jpg"
    return f"VisualDialog_{visdial_split}_{image_id:012d}.jpg"


def read_visdial(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield VisDial dialogs from ``visdial_1.0_*.json`` (a file or a folder of them).

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_visdial(demo_dir() / "visdial", split=None, policy=ErrorPolicy()))
        >>> d.turns[0].images[0].uri, d.turns[1].text, d.turns[2].text
        ('VisualDialog_val2018_000000000042.jpg', 'is the cat awake', 'yes')
    """
    for file in json_files(path, "visdial_*.json"):
        yield from _read_file(file, split, policy)


def _pool(file: Path, name: str) -> list[str]:
    pool = [v for _, v in iter_json_array(file, f"data.{name}.item")]
    expect(all(isinstance(v, str) for v in pool), f"data.{name} must be a list of strings", path=file, record=name)
    return pool


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    try:
        questions, answers = _pool(file, "questions"), _pool(file, "answers")
        vsplit = str(json_value(file, "split") or file.stem.rsplit("_", 1)[-1])
        version = json_value(file, "version")
    except SourceFormatError as exc:
        policy.handle(exc)
        return
    split_name = split or _SPLITS.get(vsplit, vsplit)
    try:
        for index, raw in iter_json_array(file, "data.dialogs.item"):
            record = f"dialog {index} (image_id {raw.get('image_id', '?') if isinstance(raw, dict) else '?'})"
            dialogue = build_or_report(
                partial(_dialogue, raw, questions, answers, split_name, vsplit, version, file, record),
                policy,
                path=file,
                record=record,
            )
            if dialogue is not None:
                yield dialogue
    except SourceFormatError as exc:
        policy.handle(exc)


def _lookup(pool: list[str], index: Any, what: str, file: Path, record: str) -> str:
    expect(
        isinstance(index, int) and 0 <= index < len(pool),
        f"{what} index {index!r} out of range",
        path=file,
        record=record,
    )
    text = str(pool[index])
    expect(bool(text.strip()), f"{what} index {index} points to an empty pool entry", path=file, record=record)
    return text


def _dialogue(
    raw: dict[str, Any],
    questions: list[str],
    answers: list[str],
    split: str,
    vsplit: str,
    version: Any,
    file: Path,
    record: str,
) -> Dialogue:
    image_id = raw["image_id"]
    expect(isinstance(image_id, int), "image_id must be an integer", path=file, record=record)
    caption = raw["caption"]
    expect(isinstance(caption, str) and bool(caption.strip()), "empty caption", path=file, record=record)
    image = ImageRef(str(image_id), image_file_name(image_id, vsplit), "coco", caption=caption, level="shared")
    turns = [Turn(0, "caption", "caption", caption, images=[image], annotations=Annotations(extra={"round": None}))]
    for r, rnd in enumerate(raw["dialog"]):
        where = f"{record}, round {r}"
        q = rnd["question"]
        q_extra: dict[str, Any] = {"round": r, "question_index": q}
        a_extra: dict[str, Any] = {"round": r}
        options = rnd.get("answer_options")
        option_fields: dict[str, Any] = {}
        if options is not None:
            expect(isinstance(options, list), "answer_options must be a list", path=file, record=where)
            option_fields = {
                "answer_options": options,
                "answer_option_texts": [_lookup(answers, o, "answer option", file, where) for o in options],
            }
        if "gt_index" in rnd:
            expect(
                options is not None and 0 <= rnd["gt_index"] < len(options),
                "gt_index out of range",
                path=file,
                record=where,
            )
            option_fields["gt_index"] = rnd["gt_index"]
        turns.append(Turn(len(turns), "questioner", "questioner", _lookup(questions, q, "question", file, where)))
        if "answer" in rnd:
            a = rnd["answer"]
            a_text = _lookup(answers, a, "answer", file, where)
            if "gt_index" in rnd:
                expect(options[rnd["gt_index"]] == a, "answer_options[gt_index] != answer", path=file, record=where)
            a_extra.update({"answer_index": a, **option_fields})
            turns[-1].annotations.extra = q_extra
            turns.append(Turn(len(turns), "answerer", "answerer", a_text, annotations=Annotations(extra=a_extra)))
        else:  # test split: the last round is unanswered, its options belong to the question
            turns[-1].annotations.extra = {**q_extra, **option_fields}
        rest = {k: v for k, v in rnd.items() if k not in ("question", "answer", "answer_options", "gt_index")}
        if rest:
            turns[-1].annotations.extra["source_fields"] = rest
    meta: dict[str, Any] = {
        "image_id": image_id,
        "caption": caption,
        "version": version,
        "visdial_split": vsplit,
        "rounds": len(raw["dialog"]),
    }
    rest = {k: v for k, v in raw.items() if k not in ("image_id", "caption", "dialog")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{image_id}", SOURCE, split, turns, meta)
