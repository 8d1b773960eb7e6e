"""Retrieval metrics with VisDial's conventions: Recall@k (= Hits@k with one answer), MRR, mean rank, NDCG.

Ranks come from candidate scores by a stable descending sort (ties go to the lower candidate index,
as ``numpy.argsort(-scores, kind="stable")``), or are given directly (1 = best). NDCG follows the
VisDial v1.0 evaluation: the cutoff ``k`` is the number of candidates with non-zero relevance, and
``NDCG = DCG@k(ranked relevance) / DCG@k(ideal relevance)`` with ``DCG = sum rel_i / log2(i + 1)``.

Example:
    >>> r = retrieval_metrics(scores=[[0.1, 0.9, 0.3], [0.5, 0.2, 0.7]], gt_index=[1, 0], ks=(1, 2))
    >>> r["r@1"], r["r@2"], r["mrr"], r["mean_rank"]
    (0.5, 1.0, 0.75, 1.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmdial_metrics.core import format_signature


def scores_to_ranks(scores: Any) -> np.ndarray:
    """Rank (1 = best) of every candidate from scores of shape ``(n, candidates)``; stable ties."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (n, candidates), got {s.shape}")
    order = np.argsort(-s, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, s.shape[1] + 1)[None, :].repeat(len(s), 0), axis=1)
    return ranks


def ndcg(ranks: Any, relevance: Any) -> np.ndarray:
    """VisDial NDCG per round, given candidate ranks and dense relevance, both ``(n, candidates)``."""
    ranks = np.asarray(ranks)
    rel = np.asarray(relevance, dtype=np.float64)
    if ranks.shape != rel.shape:
        raise ValueError(f"ranks {ranks.shape} and relevance {rel.shape} must have the same shape")
    out = np.zeros(len(rel))
    for i in range(len(rel)):
        k = int((rel[i] > 0).sum())
        if k == 0:
            continue
        ranked = rel[i][np.argsort(ranks[i], kind="stable")][:k]
        ideal = np.sort(rel[i])[::-1][:k]
        disc = 1.0 / np.log2(np.arange(k) + 2)
        out[i] = float((ranked * disc).sum() / (ideal * disc).sum())
    return out


def retrieval_metrics(
    *,
    scores: Any = None,
    ranks: Any = None,
    gt_index: Sequence[int] | None = None,
    gt_rank: Sequence[int] | None = None,
    relevance: Any = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, Any]:
    """Recall@k, MRR and mean rank of the ground truth (and NDCG when ``relevance`` is given).

    Give either ``scores`` (or ``ranks``) with ``gt_index``, or ``gt_rank`` directly.
    """
    cand_ranks = None
    if scores is not None:
        cand_ranks = scores_to_ranks(scores)
    elif ranks is not None:
        cand_ranks = np.asarray(ranks)
    if gt_rank is None:
        if cand_ranks is None or gt_index is None:
            raise ValueError("give scores or ranks with gt_index, or gt_rank")
        gi = np.asarray(gt_index, dtype=np.int64)
        if len(gi) != len(cand_ranks):
            raise ValueError(f"{len(cand_ranks)} rounds of candidates but {len(gi)} gt_index values")
        if gi.min(initial=0) < 0 or gi.max(initial=0) >= cand_ranks.shape[1]:
            raise ValueError("gt_index out of range of the candidates")
        gr = cand_ranks[np.arange(len(gi)), gi].astype(np.float64)
    else:
        gr = np.asarray(gt_rank, dtype=np.float64)
        if (gr < 1).any():
            raise ValueError("ranks start at 1")
    if len(gr) == 0:
        raise ValueError("no rounds given")
    out: dict[str, Any] = {f"r@{k}": float((gr <= k).mean()) for k in ks}
    out["mrr"] = float((1.0 / gr).mean())
    out["mean_rank"] = float(gr.mean())
    if relevance is not None:
        if cand_ranks is None:
            raise ValueError("NDCG needs candidate scores or ranks")
        out["ndcg"] = float(ndcg(cand_ranks, relevance).mean())
    out["signature"] = format_signature(
        "retrieval", {"ties": "stable-index", "ndcg_cutoff": "nonzero-relevance", "ks": ",".join(map(str, ks))}
    )
    return out
