"""Text->image retrieval evaluation: Recall@1/5/10 and MRR, captions as queries, exact (numpy) ranking.

A query's rank is 1 + the number of images scoring strictly higher than its own image.

Example:
    >>> import numpy as np
    >>> texts = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    >>> images = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    >>> s = retrieval_scores(texts, images, targets=[0, 1, 2])
    >>> s.ranks, s.recall_at_1, round(s.mrr, 4)
    ([1, 2, 2], 0.3333333333333333, 0.6667)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mmdial_retrieval.cache import EmbeddingCache
    from mmdial_retrieval.encoder import DualEncoder
    from mmdial_retrieval.pool import ImagePool


@dataclass
class RetrievalScores:
    """Recall@k (share of queries whose image ranks in the top k) and mean reciprocal rank."""

    queries: int
    images: int
    recall_at_1: float
    recall_at_5: float
    recall_at_10: float
    mrr: float
    ranks: list[int] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The scores without the per-query ranks."""
        d = asdict(self)
        d.pop("ranks")
        return d


def retrieval_scores(
    text_vectors: np.ndarray, image_vectors: np.ndarray, targets: Sequence[int], batch_size: int = 1024
) -> RetrievalScores:
    """Score queries ``text_vectors[i]`` whose correct image is row ``targets[i]`` of ``image_vectors``."""
    t = np.asarray(text_vectors, np.float32)
    im = np.asarray(image_vectors, np.float32)
    tg = np.asarray(targets, dtype=np.int64)
    if len(t) != len(tg):
        raise ValueError(f"{len(t)} queries but {len(tg)} targets")
    ranks: list[int] = []
    for i in range(0, len(t), batch_size):
        s = t[i : i + batch_size] @ im.T
        own = s[np.arange(len(s)), tg[i : i + batch_size]]
        ranks.extend((1 + (s > own[:, None]).sum(axis=1)).tolist())
    r = np.asarray(ranks, dtype=np.float64)
    n = max(len(r), 1)
    return RetrievalScores(
        len(r),
        len(im),
        float((r <= 1).sum() / n),
        float((r <= 5).sum() / n),
        float((r <= 10).sum() / n),
        float((1.0 / r).sum() / n) if len(r) else 0.0,
        ranks,
    )


def evaluate_pool(
    pool: ImagePool, encoder: DualEncoder, cache: EmbeddingCache | None = None, **embed_kwargs: Any
) -> RetrievalScores:
    """Embed ``pool`` and score text->image retrieval with each captioned image's caption as its query."""
    from mmdial_retrieval.embed import embed_pool

    result = embed_pool(pool, encoder, cache, **embed_kwargs)
    row = {image_id: i for i, image_id in enumerate(result.ids)}
    pairs = [(item.caption, row[item.image_id]) for item in pool if item.caption and item.image_id in row]
    if not pairs:
        raise ValueError(f"{pool.folder}: no captioned images to evaluate")
    texts = encoder.encode_text([c for c, _ in pairs])
    return retrieval_scores(texts, result.vectors, [r for _, r in pairs])


def rank_intervals(
    ranks: Sequence[int], *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, dict[str, float]]:
    """R@1/5/10 and MRR of per-query ranks, each with a percentile bootstrap interval (queries resampled).

    >>> iv = rank_intervals([1, 2, 20, 1], n_boot=200)
    >>> iv["recall_at_1"]["score"], iv["mrr"]["score"]
    (0.5, 0.6375)
    >>> iv["recall_at_1"]["low"] <= 0.5 <= iv["recall_at_1"]["high"]
    True
    """
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        raise ValueError("no ranks to score")
    stats = {"recall_at_1": r <= 1, "recall_at_5": r <= 5, "recall_at_10": r <= 10, "mrr": 1.0 / r}
    idx = np.random.default_rng(seed).integers(0, len(r), size=(n_boot, len(r)))
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {}
    for name, values in stats.items():
        v = values.astype(np.float64)
        boots = v[idx].mean(axis=1)
        out[name] = {
            "score": float(v.mean()),
            "low": float(np.percentile(boots, lo)),
            "high": float(np.percentile(boots, hi)),
        }
    return out


def chance_scores(n_images: int) -> dict[str, float]:
    """Expected R@k and MRR of a random ranking of ``n_images`` (one correct image per query).

    >>> chance_scores(10)["recall_at_10"], round(chance_scores(2)["mrr"], 3)
    (1.0, 0.75)
    """
    h = float(np.sum(1.0 / np.arange(1, n_images + 1)))
    return {
        "recall_at_1": min(1.0, 1 / n_images),
        "recall_at_5": min(1.0, 5 / n_images),
        "recall_at_10": min(1.0, 10 / n_images),
        "mrr": h / n_images,
    }


def category_geometry(vectors: np.ndarray, categories: Sequence[str]) -> dict[str, float]:
    """Mean cosine of image pairs in the same category and in different ones, and their gap.

    A collapsed encoder (every image near one point) has both means near 1 and a gap near 0.

    >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> category_geometry(v, ["a", "a", "b"])
    {'within': 1.0, 'between': 0.0, 'gap': 1.0}
    """
    x = np.asarray(vectors, np.float64)
    cats = np.asarray(categories)
    sims = x @ x.T
    same = cats[:, None] == cats[None, :]
    np.fill_diagonal(same, False)
    diff = cats[:, None] != cats[None, :]
    if not same.any() or not diff.any():
        raise ValueError("need two images of one category and two categories")
    within, between = float(sims[same].mean()), float(sims[diff].mean())
    return {"within": round(within, 6), "between": round(between, 6), "gap": round(within - between, 6)}
