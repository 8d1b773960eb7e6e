"""Validation of unified dialogues: the schema's rules, with errors naming the file and record.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> bad = Dialogue("demo/train/1", "demo", "train", [Turn(0, "A", "user", "")])
    >>> validate_dialogue(bad, path="demo.jsonl")
    Traceback (most recent call last):
    ...
    mmdial_data.errors.ValidationError: demo.jsonl, dialogue demo/train/1: turn 0 has no text and no image
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from mmdial_data.errors import ErrorPolicy, ValidationError
from mmdial_data.images import URL_PATTERN as URL_PATTERN  # re-exported: their home was here
from mmdial_data.images import URL_PREFIXES as URL_PREFIXES
from mmdial_data.images import check_image_uri as check_image_uri
from mmdial_data.schema import IMAGE_LEVELS, SCHEMA_VERSION, Dialogue, dump_json
from mmdial_data.tasks import CHOICES, DOC_IDS, DOCUMENTS, check_tasks


@cache
def _utf8_json_encoder() -> Callable[[Any], bytes] | None:
    """msgspec's JSON encoder (UTF-8 out, so it rejects lone surrogates; faster than :func:`dump_json` on the
    metas of MultiWOZ and VisDial), or None without msgspec (the ``stream`` extra)."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.encode


def not_utf8(value: Any) -> bool:
    """Whether a string in ``value`` (a str, or dicts, lists and tuples holding them, keys included) cannot be
    stored as UTF-8: a lone surrogate, which a JSON ``\\ud800`` escape decodes to.

    >>> not_utf8({"a": ["ok", "é"]}), not_utf8({"a": ["\\ud800"]}), not_utf8(3)
    (False, True, False)
    """
    if isinstance(value, str):
        if value.isascii():  # O(1) in CPython
            return False
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict | list | tuple):
        encode = _utf8_json_encoder()
        try:  # one C call instead of a walk in Python
            if encode is None:
                return not_utf8(dump_json(value))
            encode(value)  # raises UnicodeEncodeError on a lone surrogate
            return False
        except UnicodeEncodeError:
            return True
        except (TypeError, ValueError, OverflowError):  # not JSON the encoder takes (a set, a NaN, ...): walk it
            pass
    if isinstance(value, dict):
        return any(not_utf8(k) or not_utf8(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(map(not_utf8, value))
    return False


def _not_utf8_field(d: Dialogue) -> str | None:
    """The first field of ``d`` holding a string that is not valid Unicode (:func:`not_utf8`), or None."""
    encode = _utf8_json_encoder()
    if encode is not None:
        try:
            encode(d)  # the whole dialogue (dataclasses, dicts, lists) in one C call
            return None
        except (UnicodeEncodeError, TypeError, ValueError, OverflowError):
            pass  # a lone surrogate (which field: the walk below), or something the encoder does not take
    for name in ("dialogue_id", "source", "split", "schema_version", "meta"):
        if not_utf8(getattr(d, name)):
            return name
    for i, t in enumerate(d.turns):
        a = t.annotations
        for name, value in (("speaker", t.speaker), ("role", t.role), ("text", t.text), ("emotion", a.emotion),
                            ("intent", a.intent), ("state", a.state), ("knowledge", a.knowledge),
                            ("extra", a.extra)):  # fmt: skip
            if not_utf8(value):
                return f"turn {i} {name}"
        for act in a.dialogue_acts:
            if not_utf8([act.act, act.domain, act.slot, act.values]):
                return f"turn {i} dialogue act"
        for image in t.images:
            if not_utf8([image.image_id, image.uri, image.source, image.caption, image.level, image.entity]):
                return f"turn {i} image"
    return None if encode is None else "a field"  # the encoder failed on something the walk does not reach


#: The meta key of the turns :func:`drop_empty_turns` took out of a dialogue.
EMPTY_TURNS = "empty_turns"


def drop_empty_turns(d: Dialogue, *, path: str | None = None) -> int:
    """The schema's rule for empty turns, applied by every reader (through ``read_source``) to what it read.

    A turn whose text is empty or only whitespace and that has no image says nothing (SGD's test files end
    some dialogues with a SYSTEM GOODBYE of empty utterance, say): it leaves ``d.turns``, the turns after it
    are renumbered, and it is kept whole in ``d.meta["empty_turns"]`` (a list of turn rows, each with its
    original ``turn_index`` and annotations), so nothing is lost and the dialogue itself is kept. A dialogue
    left with no turn at all raises :class:`ValidationError` (its record is skipped under ``on_error="skip"``).
    Returns how many turns were taken out (builds count them per source in ``card.md``; ``mmdial convert``
    prints the total).

    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("s/train/1", "s", "train", [Turn(0, "A", "user", "hi"), Turn(1, "B", "system", " "),
    ...                                          Turn(2, "A", "user", "bye")])
    >>> drop_empty_turns(d), [(t.turn_index, t.text) for t in d.turns], d.meta["empty_turns"][0]["turn_index"]
    (1, [(0, 'hi'), (1, 'bye')], 1)
    >>> drop_empty_turns(Dialogue("s/train/2", "s", "train", [Turn(0, "A", "user", "")]))
    Traceback (most recent call last):
    ...
    mmdial_data.errors.ValidationError: dialogue s/train/2: every turn is empty (no text, no image)
    """
    turns = d.turns
    if all(t.images or (t.text and not t.text.isspace()) for t in turns):  # the common case: nothing to do
        return 0
    kept, dropped = [], []
    for t in turns:
        if t.images or t.text.strip():
            kept.append(t)
            continue
        row = t.to_dict()
        row["annotations"]["extra"] = t.annotations.extra
        dropped.append(row)
    if not kept:
        raise ValidationError("every turn is empty (no text, no image)", path=path, record=f"dialogue {d.dialogue_id}")
    for i, t in enumerate(kept):
        t.turn_index = i
    d.turns = kept
    d.meta = {**d.meta, EMPTY_TURNS: [*d.meta.get(EMPTY_TURNS, []), *dropped]}
    return len(dropped)


def validate_dialogue(d: Dialogue, *, path: str | None = None) -> None:
    """Raise :class:`ValidationError` if ``d`` breaks a rule of the unified schema.

    Rules: id ``<source>/<split>/<original id>``; turns numbered 0..n-1; each turn has text or an image;
    image levels known; image URIs relative (not escaping the root) or URLs; scores finite; every string valid
    Unicode (storable as UTF-8); options, answers and knowledge documents (``meta["choices"]``,
    ``meta["documents"]``, a turn's ``extra["doc_ids"]``) as :func:`mmdial_data.tasks.check_tasks` wants them,
    checked only where those keys are.
    """
    record = f"dialogue {(ascii(d.dialogue_id) if not_utf8(d.dialogue_id) else d.dialogue_id) or '?'}"

    def fail(message: str) -> None:
        raise ValidationError(message, path=path, record=record)

    if not d.dialogue_id or not d.source or not d.split:
        fail("dialogue_id, source and split must be non-empty")
    if not d.dialogue_id.startswith(f"{d.source}/{d.split}/") or d.dialogue_id == f"{d.source}/{d.split}/":
        fail(f"dialogue_id must look like '{d.source}/{d.split}/<original id>'")
    if d.schema_version != SCHEMA_VERSION:
        fail(f"schema_version {d.schema_version!r} is not {SCHEMA_VERSION!r}")
    if not d.turns:
        fail("dialogue has no turns")
    grounded = False
    for i, turn in enumerate(d.turns):
        grounded = grounded or DOC_IDS in turn.annotations.extra
        if turn.turn_index != i:
            fail(f"turn at position {i} has turn_index {turn.turn_index}")
        if not turn.role:
            fail(f"turn {i} has no role")
        if not turn.text.strip() and not turn.images:
            fail(f"turn {i} has no text and no image")
        for image in turn.images:
            if image.level not in IMAGE_LEVELS:
                fail(f"turn {i}: image {image.image_id!r} has level {image.level!r}, not one of {IMAGE_LEVELS}")
            problem = check_image_uri(image.uri)
            if problem:
                fail(f"turn {i}: image {image.image_id!r}: {problem}")
            if image.score is not None and not math.isfinite(image.score):
                fail(f"turn {i}: image {image.image_id!r} has a non-finite score")
    if grounded or CHOICES in d.meta or DOCUMENTS in d.meta:
        problem = check_tasks(d)
        if problem:
            fail(problem)
    bad = _not_utf8_field(d)
    if bad is not None:
        fail(f"{bad}: a string is not valid Unicode (a lone surrogate, e.g. a JSON \\ud800 escape)")


def validated(
    dialogues: Iterable[Dialogue],
    *,
    path: str | None = None,
    policy: ErrorPolicy | None = None,
    unique_ids: bool = True,
) -> Iterator[Dialogue]:
    """Yield ``dialogues`` that pass :func:`validate_dialogue` (and have unique ids); others go to ``policy``."""
    policy = policy or ErrorPolicy()
    seen: set[str] = set()
    for d in dialogues:
        try:
            validate_dialogue(d, path=path)
            if unique_ids:
                if d.dialogue_id in seen:
                    raise ValidationError("duplicate dialogue_id", path=path, record=f"dialogue {d.dialogue_id}")
                seen.add(d.dialogue_id)
        except ValidationError as exc:
            policy.handle(exc)
            continue
        yield d
