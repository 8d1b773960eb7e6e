"""What a pool holds and reports: :class:`PoolItem` (one image), :class:`PoolProblem` (a file left out or flagged),
:class:`AddReport` (what one ``add`` did) and :class:`Candidate` (a file a source format lists, before checking).

Example:
    >>> AddReport("stamps", added=2, problems=[PoolProblem("a.png", "unreadable", "empty file")]).summary()
    'stamps: 2 added, 1 problems (1 unreadable)'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PoolItem:
    """One image of a pool.

    Attributes:
        image_id: Content hash (see :func:`mmdial_retrieval.images.content_id`).
        source: Name of the root the image was added from.
        uri: Path relative to that root (POSIX separators).
        caption: Caption, if the source has one.
        width: Pixel width.
        height: Pixel height.
        extra_captions: Further captions (COCO has several per image).
    """

    image_id: str
    source: str
    uri: str
    caption: str | None = None
    width: int = 0
    height: int = 0
    extra_captions: list[str] = field(default_factory=list)

    def to_image_ref(self, level: str = "turn", score: float | None = None, entity: str | None = None) -> Any:
        """This image as an :class:`mmdial_data.ImageRef` of the unified schema."""
        from mmdial_data.schema import ImageRef

        return ImageRef(
            image_id=self.image_id,
            uri=self.uri,
            source=self.source,
            caption=self.caption,
            level=level,
            entity=entity,
            score=score,
        )


@dataclass
class PoolProblem:
    """A file left out of (or flagged in) the pool, and why.

    ``kind`` is ``unreadable`` (left out), ``format-mismatch`` (kept), ``duplicate`` (left out: same content
    as ``duplicate_of``), ``no-caption`` (left out of a captioned source), or ``missing`` (listed but absent).
    """

    path: str
    kind: str
    reason: str
    duplicate_of: str | None = None


@dataclass
class AddReport:
    """What one ``add_*`` call did."""

    source: str
    added: int = 0
    problems: list[PoolProblem] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``source: N added, M problems (kinds)``."""
        kinds: dict[str, int] = {}
        for p in self.problems:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        detail = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        return f"{self.source}: {self.added} added, {len(self.problems)} problems" + (f" ({detail})" if detail else "")


@dataclass
class Candidate:
    """A file a source format lists for the pool, with its uri (relative to the source's root) and captions."""

    path: Path
    uri: str
    caption: str | None
    extra_captions: list[str] = field(default_factory=list)
