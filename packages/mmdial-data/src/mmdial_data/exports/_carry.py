"""What the dialogue-format writers share: their input, and the ``mmdial`` record of what a format cannot carry.

Each writer (:mod:`.convlab3`, :mod:`.dialogstudio`, :mod:`.convokit`) maps a unified dialogue onto its format's
own fields as the exact inverse of that format's reader, then asks what the reader would make of the result. Any
field that would not come back equal goes, as the unified value, into an ``mmdial`` object in the format's own
extension point (a ConvLab-3 attribute, a DialogStudio side-information field, a ConvoKit ``meta`` entry). So a
dialogue read from the format is written back without any ``mmdial`` record, and one from another source loses
nothing: its values are either in the format's fields or in ``mmdial``.

``mmdial`` of a turn: ``speaker``, ``role``, ``text``, ``images`` (ImageRef rows), ``dialogue_acts`` (act rows),
``emotion``, ``intent``, ``state`` (``"<domain>-<slot>" -> values``), ``knowledge``, and ``extra`` (only the keys
that would not come back); of a dialogue: ``dialogue_id``, ``source`` and ``meta`` (the same way).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mmdial_data.schema import Dialogue, Turn

#: The key of the record of what a format does not carry.
CARRY_KEY = "mmdial"
_MISSING = object()
_ANNOTATION_FIELDS = ("dialogue_acts", "emotion", "intent", "state", "knowledge")


def iter_dialogues(data: Iterable[Dialogue] | str | os.PathLike[str]) -> Iterator[Dialogue]:
    """Dialogues of ``data``: an iterable of :class:`Dialogue`, or a build folder, shard folder or unified file.

    >>> from mmdial_data import Dialogue, Turn
    >>> [d.dialogue_id for d in iter_dialogues([Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi")])])]
    ['x/train/1']
    """
    if isinstance(data, (str, os.PathLike)):
        from mmdial_data.exports import iter_input

        path = Path(data)
        if not path.exists():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return iter_input(path)
    return iter(data)


def annotation_value(turn: Turn, name: str) -> Any:
    """A turn's field as plain JSON (acts and images as rows)."""
    if name in ("speaker", "role", "text"):
        return getattr(turn, name)
    if name == "images":
        return [i.to_dict() for i in turn.images]
    value = getattr(turn.annotations, name)
    if name == "dialogue_acts":
        return [a.to_dict() for a in value]
    if name in ("state", "knowledge"):
        return dict(value) if name == "state" else list(value)
    return value


def full_turn(turn: Turn) -> dict[str, Any]:
    """Everything of a turn as plain JSON (for a turn the format cannot hold as a turn of its own)."""
    out = {name: annotation_value(turn, name) for name in ("speaker", "role", "text", "images", *_ANNOTATION_FIELDS)}
    out["extra"] = dict(turn.annotations.extra)
    return out


def turn_loss(original: Turn, got: Turn | None) -> dict[str, Any]:
    """What of ``original`` does not come back in ``got`` (what the format's reader makes of the written turn):
    ``{field: original value}``, ``extra`` only with the keys that differ. ``got`` None: the whole turn."""
    if got is None:
        return full_turn(original)
    lost: dict[str, Any] = {}
    for name in ("speaker", "role", "text", "images", *_ANNOTATION_FIELDS):
        mine = annotation_value(original, name)
        if mine != annotation_value(got, name):
            lost[name] = mine
    extra = {k: v for k, v in original.annotations.extra.items() if got.annotations.extra.get(k, _MISSING) != v}
    if extra:
        lost["extra"] = extra
    return lost


def meta_loss(meta: dict[str, Any], view: dict[str, Any], *, ignore: Iterable[str] = ()) -> dict[str, Any]:
    """The entries of ``meta`` that the reader's ``view`` of the written dialogue does not hold equal."""
    skip = set(ignore)
    return {k: v for k, v in meta.items() if k not in skip and view.get(k, _MISSING) != v}


def dialogue_loss(dialogue: Dialogue, got_id: str, got_source: str, meta_lost: dict[str, Any]) -> dict[str, Any]:
    """The ``mmdial`` record of a dialogue: its id and source where the format's own differ, and lost meta."""
    lost: dict[str, Any] = {}
    if got_id != dialogue.dialogue_id:
        lost["dialogue_id"] = dialogue.dialogue_id
    if got_source != dialogue.source:
        lost["source"] = dialogue.source
    if meta_lost:
        lost["meta"] = meta_lost
    return lost


def original_id(dialogue: Dialogue) -> str:
    """The dialogue's id without its ``<source>/<split>/`` prefix (the whole id where it has none).

    >>> from mmdial_data import Dialogue, Turn
    >>> original_id(Dialogue("multiwoz22/train/SSNG0007", "multiwoz22", "train", [Turn(0, "A", "user", "hi")]))
    'SSNG0007'
    """
    prefix = f"{dialogue.source}/{dialogue.split}/"
    return dialogue.dialogue_id[len(prefix) :] if dialogue.dialogue_id.startswith(prefix) else dialogue.dialogue_id
