"""Stage 1's human labels from PhotoChat (:func:`label_dialogues`): ``intent`` (the sharer's last non-empty turn
before a photo-share turn) and ``content`` (the utterance names an object of the photo, :class:`ObjectMatcher`);
the rules are in :mod:`mmdial_augment.stage1`'s docs, which re-exports these names.

Example:
    >>> photo_objects("The photo has a man. Objects in the photo: Clothing, Ice cream")
    ['Clothing', 'Ice cream']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmdial_data import Dialogue

#: The marker before the object list in PhotoChat's ``photo_description``.
OBJECTS_MARKER = "Objects in the photo:"


def photo_objects(description: str | None) -> list[str]:
    """The objects after ``"Objects in the photo:"`` (empty when the marker is absent)."""
    if not description or OBJECTS_MARKER not in description:
        return []
    tail = description.split(OBJECTS_MARKER, 1)[1]
    return [o.strip() for o in tail.split(",") if o.strip()]


def is_share_turn(turn: Any) -> bool:
    """An image turn with no text (PhotoChat's share turn: ``extra["share_photo"]``, or any empty image turn)."""
    extra = turn.annotations.extra or {}
    return bool((extra.get("share_photo") or turn.images) and not turn.text.strip())


class ObjectMatcher:
    """The ``content`` rule of the module docs: does a text name one of the given objects?

    Args:
        nlp: A spaCy pipeline (default: :func:`mmdial_retrieval.entities.load_spacy`, the one of
            ``extract_nouns``).
    """

    def __init__(self, nlp: Any = None) -> None:
        if nlp is None:
            from mmdial_retrieval.entities import load_spacy

            nlp = load_spacy()
        self.nlp = nlp
        self._objects: dict[str, list[set[str]]] = {}

    @staticmethod
    def _tokens(doc: Any) -> list[tuple[set[str], str]]:
        return [({t.lemma_.lower(), t.text.lower()}, t.pos_) for t in doc if not (t.is_punct or t.is_space)]

    def object_keys(self, obj: str) -> list[set[str]]:
        """The object's tokens as key sets (cached)."""
        if obj not in self._objects:
            self._objects[obj] = [keys for keys, _ in self._tokens(self.nlp(obj.lower()))]
        return self._objects[obj]

    def matches(self, text: str, objects: Sequence[str], doc: Any = None) -> list[str]:
        """The objects ``text`` names, in the order given."""
        toks = self._tokens(doc if doc is not None else self.nlp(text.replace("’", "'")))
        found = []
        for obj in objects:
            keys = self.object_keys(obj)
            k = len(keys)
            if not k:
                continue
            for i in range(len(toks) - k + 1):
                window = toks[i : i + k]
                if window[-1][1] in ("NOUN", "PROPN") and all(w[0] & o for w, o in zip(window, keys, strict=True)):
                    found.append(obj)
                    break
        return found


@dataclass(frozen=True)
class LabeledUtterance:
    """One non-empty turn with its two labels and the photo objects it names."""

    dialogue_id: str
    turn_index: int
    speaker: str
    text: str
    intent: int
    content: int
    matched: tuple[str, ...] = ()


def dialogue_objects(dialogue: Dialogue) -> list[str]:
    """Photo objects of a dialogue: from its share turns' captions, else ``meta["photo_description"]``."""
    objects: list[str] = []
    for t in dialogue.turns:
        if is_share_turn(t):
            for ref in t.images:
                objects += [o for o in photo_objects(ref.caption) if o not in objects]
    if not objects:
        meta = dialogue.meta if isinstance(dialogue.meta, Mapping) else {}
        objects = photo_objects(meta.get("photo_description"))
    return objects


def label_dialogues(dialogues: Iterable[Dialogue], matcher: ObjectMatcher | None = None) -> list[LabeledUtterance]:
    """``intent`` and ``content`` labels of every non-empty turn (see the module docs), in turn order."""
    matcher = matcher or ObjectMatcher()
    out: list[LabeledUtterance] = []
    for d in dialogues:
        objects = dialogue_objects(d)
        intent_turns: set[int] = set()
        for pos, t in enumerate(d.turns):
            if not is_share_turn(t):
                continue
            for earlier in reversed(d.turns[:pos]):
                if earlier.text.strip() and earlier.speaker == t.speaker:
                    intent_turns.add(earlier.turn_index)
                    break
        texts = [(t, t.text.strip()) for t in d.turns if t.text.strip()]
        docs = list(matcher.nlp.pipe([s.replace("’", "'") for _, s in texts]))
        for (t, s), doc in zip(texts, docs, strict=True):
            named = matcher.matches(s, objects, doc=doc)
            out.append(
                LabeledUtterance(
                    d.dialogue_id,
                    t.turn_index,
                    t.speaker,
                    s,
                    int(t.turn_index in intent_turns),
                    int(bool(named)),
                    tuple(named),
                )
            )
    return out
