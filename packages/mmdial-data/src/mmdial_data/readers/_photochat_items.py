"""A PhotoChat release item as a :class:`~mmdial_data.schema.Dialogue`, one at a time (the object path of
:mod:`mmdial_data.readers.photochat`): the item's rules, its roles and its image id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn
from urllib.parse import urlparse

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.schema import Annotations, Dialogue, ImageRef, Turn

SOURCE = "photochat"
_ROLES = {0: "speaker_a", 1: "speaker_b"}
_TURN_KEYS = {"message", "share_photo", "user_id"}
_DIALOGUE_KEYS = {"dialogue", "dialogue_id", "photo_description", "photo_url", "photo_id"}


def _dialogues(items: list[tuple[int, Any]], split: str, file: Path, policy: ErrorPolicy) -> Iterator[Dialogue]:
    for index, raw in items:
        try:
            yield _dialogue(raw, split, file, index)
        except SourceFormatError as exc:
            policy.handle(exc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            message = f"unexpected structure ({exc!r})"
            policy.handle(SourceFormatError(message, path=file, record=_record(raw, index)))


def _record(raw: Any, index: int) -> str:
    return f"item {index} (dialogue_id {raw.get('dialogue_id', '?') if isinstance(raw, dict) else '?'})"


def _image_id(raw: dict[str, Any]) -> str:
    if raw.get("photo_id"):
        return str(raw["photo_id"])
    return PurePosixPath(urlparse(raw["photo_url"]).path).stem or raw["photo_url"]


def _dialogue(raw: dict[str, Any], split: str, file: Path, index: int) -> Dialogue:
    # The hot path of large builds: checks are inlined, the error record is formatted only on failure.
    def fail(message: str, turn: int | None = None) -> NoReturn:
        record = _record(raw, index)
        raise SourceFormatError(message, path=file, record=record if turn is None else f"{record}, turn {turn}")

    if not (isinstance(raw, dict) and isinstance(raw.get("dialogue"), list)):
        fail("no 'dialogue' list")
    if not raw["dialogue"]:
        fail("empty dialogue")
    for key in ("dialogue_id", "photo_url", "photo_description"):
        if key not in raw:
            fail(f"missing {key!r}")
    turns = []
    shares = 0
    image_id: str | None = None
    for i, t in enumerate(raw["dialogue"]):
        user = t.get("user_id")
        if user not in _ROLES:
            fail(f"user_id {user!r} is not 0 or 1", i)
        message = t.get("message")
        if not isinstance(message, str):
            fail("message must be a string", i)
        extra: dict[str, Any] = {} if t.keys() <= _TURN_KEYS else {k: v for k, v in t.items() if k not in _TURN_KEYS}
        images = []
        if t.get("share_photo"):
            shares += 1
            extra["share_photo"] = True
            if image_id is None:
                image_id = _image_id(raw)
            images.append(ImageRef(image_id, raw["photo_url"], SOURCE, caption=raw["photo_description"], level="turn"))
        turns.append(Turn(i, str(user), _ROLES[user], message, images, Annotations(extra=extra)))
    if shares < 1:
        fail("no turn has share_photo: true")
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
