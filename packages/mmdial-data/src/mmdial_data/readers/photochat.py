"""PhotoChat reader (Zang et al., 2021; ``train/``, ``dev/``, ``test/`` folders of ``*_NN.json``).

Each file is a JSON list of ``{"dialogue": [turns], "dialogue_id", "photo_description", "photo_url"}`` (newer
versions add ``photo_id``); a turn is ``{"message", "share_photo", "user_id"}``. The ``share_photo`` turn
becomes an image turn: its text is the message (``""`` in the release) and it carries an :class:`ImageRef`
(level ``turn``, ``source="photochat"``, ``uri`` the photo URL, ``caption`` the photo description,
``image_id`` the ``photo_id`` or the URL's file stem), with ``extra["share_photo"] = True``. Users 0 and 1
are roles ``speaker_a``/``speaker_b``. The photo fields and the original id go to ``meta``. The split comes
from the folder (``dev`` is kept as ``dev``); ids are ``photochat/<split>/<file stem>/<dialogue_id>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import expect, infer_split, iter_json_array, json_files
from mmdial_data.schema import Annotations, Dialogue, ImageRef, Turn

SOURCE = "photochat"
_ROLES = {0: "speaker_a", 1: "speaker_b"}
_TURN_KEYS = {"message", "share_photo", "user_id"}
_DIALOGUE_KEYS = {"dialogue", "dialogue_id", "photo_description", "photo_url", "photo_id"}


def read_photochat(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield PhotoChat dialogues from a JSON file or a folder of them.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_photochat(demo_dir() / "photochat", split=None, policy=ErrorPolicy()))
        >>> shared = [t for t in d.turns if t.images][0]
        >>> shared.text, shared.images[0].caption
        ('', 'The photo has a golden retriever. Objects in the photo: Dog, Grass')
    """
    for file in json_files(path):
        split_name = split or infer_split(file)
        try:
            for index, raw in iter_json_array(file):
                record = f"item {index} (dialogue_id {raw.get('dialogue_id', '?') if isinstance(raw, dict) else '?'})"
                try:
                    yield _dialogue(raw, split_name, file, record)
                except SourceFormatError as exc:
                    policy.handle(exc)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    policy.handle(SourceFormatError(f"unexpected structure ({exc!r})", path=file, record=record))
        except SourceFormatError as exc:
            policy.handle(exc)


def _image_id(raw: dict[str, Any]) -> str:
    if raw.get("photo_id"):
        return str(raw["photo_id"])
    return PurePosixPath(urlparse(raw["photo_url"]).path).stem or raw["photo_url"]


def _dialogue(raw: dict[str, Any], split: str, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("dialogue"), list), "no 'dialogue' list", path=file, record=record
    )
    expect(bool(raw["dialogue"]), "empty dialogue", path=file, record=record)
    for key in ("dialogue_id", "photo_url", "photo_description"):
        expect(key in raw, f"missing {key!r}", path=file, record=record)
    turns = []
    shares = 0
    for i, t in enumerate(raw["dialogue"]):
        where = f"{record}, turn {i}"
        expect(t.get("user_id") in _ROLES, f"user_id {t.get('user_id')!r} is not 0 or 1", path=file, record=where)
        message = t.get("message")
        expect(isinstance(message, str), "message must be a string", path=file, record=where)
        extra: dict[str, Any] = {k: v for k, v in t.items() if k not in _TURN_KEYS}
        images = []
        if t.get("share_photo"):
            shares += 1
            extra["share_photo"] = True
            images.append(
                ImageRef(_image_id(raw), raw["photo_url"], SOURCE, caption=raw["photo_description"], level="turn")
            )
        else:
            expect(bool(message.strip()), "empty message on a turn that shares no photo", path=file, record=where)
        turns.append(
            Turn(
                i, str(t["user_id"]), _ROLES[t["user_id"]], message, images=images, annotations=Annotations(extra=extra)
            )
        )
    expect(shares >= 1, "no turn has share_photo: true", path=file, record=record)
    meta: dict[str, Any] = {
        "original_id": raw["dialogue_id"],
        "file": file.name,
        "photo_url": raw["photo_url"],
        "photo_description": raw["photo_description"],
    }
    if "photo_id" in raw:
        meta["photo_id"] = raw["photo_id"]
    rest = {k: v for k, v in raw.items() if k not in _DIALOGUE_KEYS}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{file.stem}/{raw['dialogue_id']}", SOURCE, split, turns, meta)
