"""Retrieval metrics: Recall@k (= Hits@k with one answer), MRR, mean rank, NDCG; VisDial's evaluator.

Two entry points:

- :func:`visdial_metrics` / :class:`VisDialMetrics` reproduce the official VisDial v1.0 evaluator
  (``visdialch/metrics.py`` of batra-mlp-lab/visdial-challenge-starter-pytorch: ``scores_to_ranks``,
  ``SparseGTMetrics``, ``NDCG``). Ties default to ``ties="official"``: the candidate order of
  ``torch.Tensor.sort(descending=True)`` on CPU, which is *not* stable for more than 16 candidates
  (libstdc++ ``std::sort``: introsort, insertion sort below 16, NaN first), reproduced here without torch.
  ``"optimistic"`` (the ground truth before its ties), ``"pessimistic"`` (after them), ``"mean"``
  (expectation over a uniformly random order of tied candidates) and ``"stable"`` (lower index first)
  are the alternatives. NDCG uses the official cutoff ``k = #candidates with relevance != 0`` (negative
  relevance counts; ``ndcg_cutoff="positive"`` counts ``> 0`` only) and its ``0/0``: a round whose ideal
  DCG@k is 0 (no candidate with relevance > 0, e.g. all relevance 0) is NaN (``-inf`` when its DCG is
  negative), and with ``nan_policy="propagate"`` (default, as the official mean) the corpus NDCG is then
  NaN; ``nan_policy="omit"`` averages the finite rounds and ``details`` counts the others.
- :func:`retrieval_metrics` is the generic form (scores, ranks or ground-truth ranks), ``ties="stable"``
  by default (as ``numpy.argsort(-scores, kind="stable")``).

The official code computes in float32 (``torch.mean`` of float32 ranks, float32 DCG sums accumulated
batch by batch); here everything is float64, so values agree with it to about 1e-7 and do not depend on
how the rounds are batched.

Example:
    >>> r = retrieval_metrics(scores=[[0.1, 0.9, 0.3], [0.5, 0.2, 0.7]], gt_index=[1, 0], ks=(1, 2))
    >>> r["r@1"], r["r@2"], r["mrr"], r["mean_rank"]
    (0.5, 1.0, 0.75, 1.5)
    >>> v = visdial_metrics([[1.0, 2.0, 2.0, 0.0]], gt_index=[2], relevance=[[0, 1, 0.5, 0]], ties="mean")
    >>> v["r@1"], v["mean_rank"], round(v["ndcg"], 6)
    (0.5, 1.5, 0.929859)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmdial_metrics.core import format_signature
from mmdial_metrics.torch_sort import torch_sort_order as torch_sort_order

TIE_RULES = ("official", "stable", "optimistic", "pessimistic", "mean")
NDCG_CUTOFFS = ("nonzero", "positive")
NAN_POLICIES = ("propagate", "omit")


def _as_rows(x: Any, name: str, dtype: Any = None) -> np.ndarray:
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim < 2:
        raise ValueError(f"{name} must have shape (rounds, candidates) or (batch, rounds, candidates), got {arr.shape}")
    return arr.reshape(-1, arr.shape[-1])


def candidate_order(scores: Any, ties: str = "stable") -> np.ndarray:
    """Candidate indices best first, per row of ``scores``; ``ties`` is ``stable`` or ``official``."""
    s = _as_rows(scores, "scores")
    if not np.issubdtype(s.dtype, np.number):
        raise ValueError(f"scores must be numeric, got {s.dtype}")
    if ties == "stable":
        if np.isnan(s).any():
            raise ValueError("scores hold NaN (only ties='official' defines their rank, as torch: first)")
        return np.argsort(-s, axis=1, kind="stable")
    if ties != "official":
        raise ValueError(f"a candidate order needs ties='stable' or 'official', got {ties!r}")
    order = np.argsort(-s, axis=1, kind="stable")
    srt = np.sort(s, axis=1)
    special = (np.diff(srt, axis=1) == 0).any(axis=1) | np.isnan(s).any(axis=1)
    for i in np.flatnonzero(special):  # without ties or NaN every sort gives the same order
        order[i] = torch_sort_order(s[i].tolist())
    return order


def scores_to_ranks(scores: Any, ties: str = "stable") -> np.ndarray:
    """Rank (1 = best) of every candidate from scores of shape ``(n, candidates)``.

    ``ties="stable"``: lower index first; ``ties="official"``: VisDial's ``scores_to_ranks`` (CPU torch sort).
    """
    order = candidate_order(scores, ties)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, order.shape[1] + 1)[None, :].repeat(len(order), 0), axis=1)
    return ranks


def _cutoff(rel: np.ndarray, cutoff: str) -> np.ndarray:
    if cutoff not in NDCG_CUTOFFS:
        raise ValueError(f"ndcg_cutoff must be one of {NDCG_CUTOFFS}, got {cutoff!r}")
    return np.asarray(((rel != 0) if cutoff == "nonzero" else (rel > 0)).sum(axis=1))


def _ideal_dcg(rel: np.ndarray, k: int) -> float:
    ideal = np.sort(rel)[::-1][:k]
    return float((ideal / np.log2(np.arange(k) + 2)).sum())


def _ratio(dcg: float, best: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(dcg) / np.float64(best))


def ndcg(ranks: Any, relevance: Any, *, cutoff: str = "nonzero") -> np.ndarray:
    """VisDial NDCG per round, given candidate ranks (a permutation of 1..n) and dense relevance.

    ``k`` = number of candidates with relevance != 0 (``cutoff="positive"``: > 0); a round whose ideal
    DCG@k is 0 gives NaN (``-inf`` if its DCG is negative), as the official ``dcg / best_dcg``.
    """
    ranks = np.asarray(ranks)
    rel = np.asarray(relevance, dtype=np.float64)
    if ranks.shape != rel.shape or rel.ndim != 2:
        raise ValueError(f"ranks {ranks.shape} and relevance {rel.shape} must have the same (n, candidates) shape")
    ks = _cutoff(rel, cutoff)
    out = np.empty(len(rel))
    for i in range(len(rel)):
        k = int(ks[i])
        ranked = rel[i][np.argsort(ranks[i], kind="stable")][:k]
        out[i] = _ratio(float((ranked / np.log2(np.arange(k) + 2)).sum()), _ideal_dcg(rel[i], k))
    return out


def _harmonic(n: int) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1))])


def _gt_stats(s: np.ndarray, gi: np.ndarray, ties: str, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-round rank, reciprocal rank and hits@k of the ground truth (expected values for ``mean``)."""
    rows = np.arange(len(s))
    if ties in ("official", "stable"):
        rank = scores_to_ranks(s, ties)[rows, gi].astype(np.float64)
        out = {"rank": rank, "rr": 1.0 / rank}
        out.update({f"r@{k}": (rank <= k).astype(np.float64) for k in ks})
        return out
    if np.isnan(s).any():
        raise ValueError("scores hold NaN (only ties='official' defines their rank, as torch: first)")
    sg = s[rows, gi][:, None]
    g = (s > sg).sum(axis=1).astype(np.float64)
    t = (s == sg).sum(axis=1).astype(np.float64)
    if ties == "optimistic":
        rank = g + 1
    elif ties == "pessimistic":
        rank = g + t
    else:  # mean: uniformly random order among the t tied candidates, ranks g+1..g+t
        h = _harmonic(s.shape[1])
        gi_, ti_ = g.astype(np.int64), t.astype(np.int64)
        out = {"rank": g + (t + 1) / 2, "rr": (h[gi_ + ti_] - h[gi_]) / t}
        out.update({f"r@{k}": np.clip((k - g) / t, 0.0, 1.0) for k in ks})
        return out
    out = {"rank": rank, "rr": 1.0 / rank}
    out.update({f"r@{k}": (rank <= k).astype(np.float64) for k in ks})
    return out


def _ndcg_rounds(s: np.ndarray, rel: np.ndarray, ties: str, cutoff: str) -> np.ndarray:
    ks = _cutoff(rel, cutoff)
    if ties in ("official", "stable"):
        order = candidate_order(s, ties)
    else:
        if np.isnan(s).any():
            raise ValueError("scores hold NaN (only ties='official' defines their rank, as torch: first)")
        # ties broken by relevance: best case (optimistic) or worst case (pessimistic); mean uses groups
        tie_key = {"optimistic": -rel, "pessimistic": rel, "mean": np.zeros_like(rel)}[ties]
        order = np.lexsort((tie_key, -s), axis=1)
    out = np.empty(len(s))
    n = s.shape[1]
    for i in range(len(s)):
        k = int(ks[i])
        r = rel[i][order[i]]
        disc = np.zeros(n)
        disc[:k] = 1.0 / np.log2(np.arange(k) + 2)
        if ties == "mean":  # expected discount of a tied group = mean discount of its positions
            v = s[i][order[i]]
            starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
            sums = np.add.reduceat(disc, starts)
            sizes = np.diff(np.r_[starts, n])
            disc = np.repeat(sums / sizes, sizes)
            dcg = float((r * disc).sum())
        else:
            dcg = float((r[:k] / np.log2(np.arange(k) + 2)).sum())
        out[i] = _ratio(dcg, _ideal_dcg(rel[i], k))
    return out


class VisDialMetrics:
    """Accumulator of the VisDial v1.0 evaluation: R@k, MRR, mean rank (sparse) and NDCG (dense).

    ``update(scores, gt_index=..., relevance=...)`` takes scores of shape ``(rounds, candidates)`` or
    ``(batch, rounds, candidates)`` (flattened as the official code does) with the 0-based index of the
    ground-truth answer per round (``SparseGTMetrics``) and/or dense relevance per round (``NDCG``; the
    official code scores only the densely annotated round of each dialogue, so the rounds may differ
    between calls). Per-round values are kept and averaged once in ``compute``: any batching gives the
    same numbers bit for bit.

    Args:
        ties: ``official`` (default: CPU ``torch.sort(descending=True)``, see :func:`torch_sort_order`),
            ``stable``, ``optimistic``, ``pessimistic`` or ``mean`` (see the module docstring).
        ks: The cutoffs of R@k.
        ndcg_cutoff: ``nonzero`` (official) or ``positive``.
        nan_policy: ``propagate`` (official: one NaN round makes NDCG NaN) or ``omit`` (mean of the finite
            rounds).
    """

    def __init__(
        self,
        *,
        ties: str = "official",
        ks: Sequence[int] = (1, 5, 10),
        ndcg_cutoff: str = "nonzero",
        nan_policy: str = "propagate",
    ) -> None:
        if ties not in TIE_RULES:
            raise ValueError(f"ties must be one of {TIE_RULES}, got {ties!r}")
        if ndcg_cutoff not in NDCG_CUTOFFS:
            raise ValueError(f"ndcg_cutoff must be one of {NDCG_CUTOFFS}, got {ndcg_cutoff!r}")
        if nan_policy not in NAN_POLICIES:
            raise ValueError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
        self.ties, self.ks, self.ndcg_cutoff, self.nan_policy = ties, tuple(int(k) for k in ks), ndcg_cutoff, nan_policy
        self.reset()

    def reset(self) -> VisDialMetrics:
        self._sparse: list[dict[str, np.ndarray]] = []
        self._ndcg: list[np.ndarray] = []
        return self

    def signature(self) -> str:
        return format_signature(
            "visdial",
            {
                "ties": self.ties,
                "ks": ",".join(map(str, self.ks)),
                "ndcg_cutoff": self.ndcg_cutoff,
                "nan": self.nan_policy,
                "ref": "visdialch.metrics",
            },
        )

    def update(self, scores: Any, gt_index: Any = None, relevance: Any = None) -> VisDialMetrics:
        s = _as_rows(scores, "scores")
        if not np.issubdtype(s.dtype, np.number):
            raise ValueError(f"scores must be numeric, got {s.dtype}")
        if gt_index is None and relevance is None:
            raise ValueError("give gt_index and/or relevance")
        if gt_index is not None:
            gi = np.asarray(gt_index).reshape(-1)
            if not np.issubdtype(gi.dtype, np.integer):
                raise ValueError(f"gt_index must be integers, got {gi.dtype}")
            if len(gi) != len(s):
                raise ValueError(f"{len(s)} rounds of scores but {len(gi)} gt_index values")
            if len(gi) and (gi.min() < 0 or gi.max() >= s.shape[1]):
                raise ValueError("gt_index out of range of the candidates")
            self._sparse.append(_gt_stats(s, gi.astype(np.int64), self.ties, self.ks))
        if relevance is not None:
            rel = _as_rows(relevance, "relevance", np.float64)
            if rel.shape != s.shape:
                raise ValueError(f"relevance {rel.shape} and scores {s.shape} must have the same shape")
            if np.isnan(rel).any():
                raise ValueError("relevance holds NaN")
            self._ndcg.append(_ndcg_rounds(s, rel, self.ties, self.ndcg_cutoff))
        return self

    def compute(self) -> dict[str, Any]:
        """``r@k``, ``mrr``, ``mean_rank``, ``rounds`` and/or ``ndcg``, ``ndcg_rounds``, ``ndcg_per_round``,
        ``ndcg_nonfinite_rounds``; ``signature``."""
        out: dict[str, Any] = {}
        if self._sparse:
            cat = {key: np.concatenate([c[key] for c in self._sparse]) for key in self._sparse[0]}
            if len(cat["rank"]) == 0:
                raise ValueError("no rounds given")
            out.update({f"r@{k}": float(cat[f"r@{k}"].mean()) for k in self.ks})
            out["mrr"] = float(cat["rr"].mean())
            out["mean_rank"] = float(cat["rank"].mean())
            out["rounds"] = len(cat["rank"])
        if self._ndcg:
            v = np.concatenate(self._ndcg)
            finite = np.isfinite(v)
            if self.nan_policy == "omit":
                out["ndcg"] = float(v[finite].mean()) if finite.any() else float("nan")
            else:
                out["ndcg"] = float(v.mean()) if len(v) else float("nan")
            out["ndcg_rounds"] = len(v)
            out["ndcg_nonfinite_rounds"] = int((~finite).sum())
            out["ndcg_per_round"] = v.tolist()
        if not out:
            raise ValueError("visdial: compute() called before any update()")
        out["signature"] = self.signature()
        return out


def visdial_metrics(scores: Any, gt_index: Any = None, relevance: Any = None, **options: Any) -> dict[str, Any]:
    """The official VisDial evaluation of one set of rounds; options as :class:`VisDialMetrics`."""
    return VisDialMetrics(**options).update(scores, gt_index=gt_index, relevance=relevance).compute()


def retrieval_metrics(
    *,
    scores: Any = None,
    ranks: Any = None,
    gt_index: Sequence[int] | None = None,
    gt_rank: Sequence[int] | None = None,
    relevance: Any = None,
    ks: Sequence[int] = (1, 5, 10),
    ties: str = "stable",
) -> dict[str, Any]:
    """Recall@k, MRR and mean rank of the ground truth (and NDCG when ``relevance`` is given).

    Give either ``scores`` (or ``ranks``) with ``gt_index``, or ``gt_rank`` directly. Ties among
    ``scores``: ``stable`` (lower index first, default) or ``official`` (VisDial's torch sort; the other
    rules and the official evaluator as a whole are :func:`visdial_metrics`).
    """
    cand_ranks = None
    if scores is not None:
        cand_ranks = scores_to_ranks(scores, ties)
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
        "retrieval", {"ties": ties, "ndcg_cutoff": "nonzero", "nan": "propagate", "ks": ",".join(map(str, ks))}
    )
    return out
