"""The per-dialogue steps of a recipe in :mod:`mmdial_data.build`: near/exact fingerprints for dedup
(:func:`dialogue_fingerprints`), the language filter, source weights and resplitting.
"""

from __future__ import annotations

from mmdial_data.recipe import assign_split, normalize_text, stable_fraction
from mmdial_data.schema import Dialogue


def dialogue_fingerprints(d: Dialogue) -> tuple[str, str]:
    """``(exact, near)`` hashes of a dialogue's content: turn texts and image URIs, raw and normalized.

    >>> from mmdial_data import Dialogue, Turn
    >>> a = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "Hi, there!")])
    >>> b = Dialogue("y/test/9", "y", "test", [Turn(0, "B", "system", "hi there")])
    >>> ea, na = dialogue_fingerprints(a); eb, nb = dialogue_fingerprints(b)
    >>> ea == eb, na == nb
    (False, True)
    """
    import hashlib

    exact = hashlib.sha1()
    near = hashlib.sha1()
    for t in d.turns:
        images = "\x01".join(i.uri for i in t.images)
        exact.update(f"{t.text}\x00{images}\x02".encode())
        near.update(f"{normalize_text(t.text)}\x00{images}\x02".encode())
    return exact.hexdigest(), near.hexdigest()


def _language(d: Dialogue) -> str:
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError as exc:
        from mmdial_data.errors import MissingExtraError

        raise MissingExtraError("langdetect", "lang", 'the recipe filter "languages"') from exc
    DetectorFactory.seed = 0
    text = " ".join(t.text for t in d.turns)[:2000]
    try:
        return str(detect(text))
    except LangDetectException:
        return "unknown"


def _weighted(d: Dialogue, weight: float | None, seed: int) -> list[Dialogue]:
    """The copies of ``d`` a source weight asks for: ``floor(w)`` plus one more with probability ``w - floor(w)``."""
    if weight is None or weight == 1:
        return [d]
    whole = int(weight)
    n = whole + (1 if stable_fraction(d.dialogue_id, seed) < weight - whole else 0)
    copies = []
    for k in range(n):
        if k == 0:
            copies.append(d)
        else:
            copy = Dialogue.from_dict(d.to_dict())
            copy.dialogue_id = f"{d.dialogue_id}#{k}"
            copy.meta = {**copy.meta, "copy_of": d.dialogue_id}
            copies.append(copy)
    return copies


def _resplit(d: Dialogue, splits: dict[str, float] | None, seed: int) -> Dialogue:
    if splits is None:
        return d
    base = d.meta.get("copy_of", d.dialogue_id)
    new = assign_split(base, splits, seed)
    original = d.dialogue_id[len(d.source) + 1 :]  # "<old split>/<original id>"
    d.meta = {**d.meta, "original_split": d.split}
    d.dialogue_id, d.split = f"{d.source}/{new}/{original}", new
    return d
