"""Stage 2 of IMAD: retrieve the top-N images of a replaceable utterance and keep the VQA argmax.

Images that cannot be read any more (vanished since indexing, corrupt) are reported skips: their score is
NaN and they cannot win; when no candidate image is readable the utterance is not replaced and the reason
is recorded. The optional ``min_confidence`` filter (off by default) leaves utterances whose best VQA score
is below it unreplaced.

Example:
    >>> import numpy as np
    >>> pick(np.array([-3.0, np.nan, -1.5]), min_confidence=None)
    (2, -1.5, None)
    >>> pick(np.array([-3.0, -2.0]), min_confidence=-1.0)
    (1, -2.0, 'best VQA score -2.0000 below min_confidence -1.0')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mmdial_augment.pool import ImagePool
from mmdial_augment.vqa import VQABackend


@dataclass
class Selection:
    """Stage-2 outcome of one utterance: rows are pool rows, best first by retrieval similarity."""

    rows: list[int]
    retrieval_scores: list[float]
    vqa_scores: list[float]
    chosen: int | None
    chosen_score: float | None
    replaced: bool
    reason: str | None = None
    skipped_images: list[str] = field(default_factory=list)


def pick(scores: np.ndarray, min_confidence: float | None) -> tuple[int | None, float | None, str | None]:
    """Index of the best finite score, its value, and why it is rejected (None when accepted)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return None, None, "no candidate image could be read"
    masked = np.where(finite, scores, -np.inf)
    i = int(np.argmax(masked))
    best = float(scores[i])
    if min_confidence is not None and best < min_confidence:
        return i, best, f"best VQA score {best:.4f} below min_confidence {min_confidence}"
    return i, best, None


def _readable(rows: list[int], pool: ImagePool) -> tuple[list[int], list[str]]:
    """Rows whose file opens, and a skip line for each that does not."""
    readable, skipped = [], []
    for r in rows:
        try:
            with open(pool.paths[r], "rb"):
                pass
            readable.append(r)
        except OSError as exc:
            skipped.append(f"{pool.image_ids[r]}: {exc.strerror or exc}")
    return readable, skipped


def _selection(
    rows: list[int],
    retrieval_scores: list[float],
    readable: list[int],
    vals: np.ndarray,
    skipped: list[str],
    min_confidence: float | None,
) -> Selection:
    scores = np.full(len(rows), np.nan)
    pos = {r: j for j, r in enumerate(rows)}
    for r, v in zip(readable, vals, strict=True):
        scores[pos[r]] = v
    i, best, reason = pick(scores, min_confidence)
    chosen = None if i is None else rows[i]
    return Selection(
        list(rows),
        list(retrieval_scores),
        scores.tolist(),
        chosen,
        best,
        replaced=chosen is not None and reason is None,
        reason=reason,
        skipped_images=skipped,
    )


def select_image(
    utterance: str,
    rows: list[int],
    retrieval_scores: list[float],
    pool: ImagePool,
    vqa: VQABackend,
    min_confidence: float | None = None,
) -> Selection:
    """Score ``rows`` with ``vqa`` and pick the argmax (unreadable images are skipped and reported)."""
    from mmdial_data.errors import MMDialDataError

    readable, skipped = _readable(rows, pool)
    vals = np.zeros(0)
    if readable:
        try:
            vals = vqa.score(utterance, pool, readable)
        except MMDialDataError:  # a file that exists but does not decode: score one by one to isolate it
            vals = np.full(len(readable), np.nan)
            for j, r in enumerate(readable):
                try:
                    vals[j] = vqa.score(utterance, pool, [r])[0]
                except MMDialDataError as exc:
                    skipped.append(f"{pool.image_ids[r]}: {exc.message}")
    return _selection(rows, retrieval_scores, readable, vals, skipped, min_confidence)


def select_images(
    requests: Sequence[tuple[str, list[int], list[float]]],
    pool: ImagePool,
    vqa: VQABackend,
    min_confidence: float | None = None,
) -> list[Selection]:
    """:func:`select_image` of many ``(utterance, rows, retrieval_scores)`` requests, scored together with
    :meth:`VQABackend.score_many` (one batched pass over every candidate for ``lm-caption``). The selections
    are those of :func:`select_image` request by request; when an image fails to decode, the requests are
    redone one by one so that the failing image is isolated."""
    from mmdial_data.errors import MMDialDataError

    checked = [_readable(rows, pool) for _, rows, _ in requests]
    todo = [k for k, (readable, _) in enumerate(checked) if readable]
    try:
        scored = vqa.score_many([(requests[k][0], checked[k][0]) for k in todo], pool) if todo else []
    except MMDialDataError:
        return [select_image(u, rows, sc, pool, vqa, min_confidence) for u, rows, sc in requests]
    vals = {k: v for k, v in zip(todo, scored, strict=True)}
    return [
        _selection(rows, sc, checked[k][0], vals.get(k, np.zeros(0)), checked[k][1], min_confidence)
        for k, (_, rows, sc) in enumerate(requests)
    ]
