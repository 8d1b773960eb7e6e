"""Parity of ``visdial_metrics`` and the ParlAI presets with the official evaluators (golden values).

VisDial golden values: the official ``visdialch/metrics.py`` (batra-mlp-lab/visdial-challenge-starter-pytorch
at 5844f3d, fetched into /tmp, not committed) run once with torch 2.14.1 on CPU against ``_visdial_arrays()``
below, by this script (/tmp/vd/golden.py; ``arrays.py`` holds a copy of ``_visdial_arrays``)::

    from visdialch_metrics import NDCG, SparseGTMetrics, scores_to_ranks
    scores, gt, rel = visdial_arrays(); S = torch.from_numpy(scores)
    ranks = scores_to_ranks(S[None])[0]
    gt_ranks = [int(ranks[i, gt[i]]) for i in range(24)]; rank_rows = [ranks[i].tolist() for i in (0, 8, 12)]
    m = SparseGTMetrics(); m.observe(S.view(4, 6, 100), torch.from_numpy(gt).view(4, 6)); sparse = m.retrieve()
    for i in range(12):  # per round: the round twice (the official NDCG.observe fails on a batch of one)
        n = NDCG(); n.observe(S[[i, i]], torch.from_numpy(rel[[i, i]])); per.append(n.retrieve()["ndcg"])
    n = NDCG(); n.observe(S[:10], torch.from_numpy(rel[:10])); first10 = n.retrieve()  # and S[:12] -> nan

The official code computes in float32, so means agree to about 1e-7 (tolerance 1e-6); ranks exactly.

ParlAI golden values: ParlAI is heavy, so its ``normalize_answer`` (with ``re_art``/``re_punc``),
``BleuMetric.compute`` and ``F1Metric.compute`` (parlai/core/metrics.py at a29567f7c) were re-typed in a
throwaway script (/tmp/vd/pgold.py) calling nltk 3.10.4 exactly as ParlAI does:
``sentence_bleu([normalize_answer(a).split(" ") for a in answers], normalize_answer(guess).split(" "),
smoothing_function=SmoothingFunction(epsilon=1e-12).method1, weights=[1 / k for _ in range(k)])`` for k = 1..4
and ``max(_prec_recall_f1_score(normalize_answer(guess).split(), normalize_answer(a).split()))`` over ``PAIRS``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from mmdial_metrics import get_metric
from mmdial_metrics.retrieval import VisDialMetrics, scores_to_ranks, torch_sort_order, visdial_metrics

NAN = float("nan")


def _visdial_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(22)
    scores = rng.normal(size=(24, 100)).astype(np.float32)
    scores[:8] = rng.integers(0, 4, size=(8, 100))  # heavy ties
    scores[8:12] = np.round(scores[8:12], 1)  # moderate ties
    scores[12] = 0.5  # all candidates tied
    gt = rng.integers(0, 100, size=24)
    rel = np.zeros((12, 100), np.float32)
    for i in range(12):
        idx = rng.choice(100, size=int(rng.integers(1, 12)), replace=False)
        rel[i, idx] = rng.choice([0.25, 0.5, 0.75, 1.0], size=len(idx))
    rel[3, rng.choice(100, 3, replace=False)] = -0.5  # negatives count toward the official cutoff
    rel[7, rng.choice(100, 2, replace=False)] = -1.0
    rel[10] = 0  # no relevant candidate: 0/0 -> NaN
    rel[11] = 0
    rel[11, [0, 1]] = -0.5  # only negatives: ideal DCG 0 -> NaN or -inf
    for i in range(0, 12, 2):
        scores[i, gt[i]] = scores[i].max()  # ground truth tied with the best candidates
    top = np.arange(13, 24, 2)
    scores[top, gt[top]] += 3.0  # ground truth alone at the top
    for i in range(6):
        scores[i, rel[i] > 0] = scores[i].max()  # relevant candidates tied at the top
    return scores, gt, rel


# fmt: off
GT_RANKS = [26, 79, 30, 52, 9, 24, 7, 83, 2, 30, 3, 46, 11, 2, 42, 26, 14, 1, 39, 3, 48, 23, 93, 34]
RANK_ROWS = [  # official ranks of rounds 0, 8, 12
    [
        32, 59, 21, 45, 46, 47, 26, 27, 87, 31, 61, 29, 28, 60, 24, 52, 94, 57, 22, 20, 97, 56, 2, 51, 92, 5, 50, 7,
        82, 44, 8, 79, 49, 1, 75, 100, 72, 71, 15, 86, 48, 69, 67, 65, 19, 68, 80, 18, 70, 85, 17, 16, 14, 13, 66,
        93, 96, 35, 77, 76, 12, 10, 74, 9, 37, 73, 53, 54, 81, 38, 55, 6, 4, 3, 11, 99, 98, 43, 41, 95, 40, 58, 23,
        91, 90, 89, 78, 88, 39, 30, 36, 62, 25, 84, 83, 34, 63, 33, 64, 42
    ],
    [
        70, 49, 81, 31, 35, 21, 1, 64, 52, 86, 6, 72, 26, 90, 66, 29, 32, 67, 18, 46, 14, 59, 24, 74, 12, 53, 50,
        76, 17, 44, 62, 11, 79, 16, 8, 96, 20, 28, 43, 33, 89, 30, 40, 94, 61, 88, 47, 83, 48, 91, 75, 73, 57, 15,
        3, 95, 23, 69, 65, 68, 60, 56, 22, 13, 38, 51, 27, 34, 5, 82, 92, 63, 39, 58, 41, 100, 80, 77, 93, 78, 2,
        36, 84, 97, 37, 4, 54, 55, 87, 45, 9, 98, 19, 99, 10, 25, 71, 42, 7, 85
    ],
    [
        89, 75, 74, 73, 72, 71, 70, 69, 68, 67, 66, 65, 51, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 64, 100,
        99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 76, 88, 87, 86, 85, 84, 83, 82, 81, 80, 79, 78, 77, 39, 25, 24, 23,
        22, 21, 20, 19, 18, 17, 16, 15, 1, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 14, 50, 49, 48, 47, 46, 45, 44,
        43, 42, 41, 40, 26, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27
    ],
]
SPARSE = {
    "r@1": 0.0416666679084301,
    "r@5": 0.2083333283662796,
    "r@10": 0.2916666567325592,
    "mean": 30.29166603088379,
    "mrr": 0.14532633125782013,
}
NDCG_PER_ROUND = [
    0.1798436939716339, 0.28895753622055054, 0.2341330647468567, 0.0, 0.0, 0.27814918756484985, 0.19484876096248627,
    0.049863897264003754, 0.0, 0.0, NAN, NAN
]
NDCG_FIRST10 = 0.12257961183786392
# fmt: on


def test_official_ranks_exactly() -> None:
    scores, gt, _ = _visdial_arrays()
    ranks = scores_to_ranks(scores, ties="official")
    assert [int(ranks[i, gt[i]]) for i in range(24)] == GT_RANKS
    assert [ranks[i].tolist() for i in (0, 8, 12)] == RANK_ROWS
    assert scores_to_ranks(scores, ties="stable")[0].tolist() != RANK_ROWS[0]  # the tie rule matters here


def test_official_sparse_metrics() -> None:
    scores, gt, _ = _visdial_arrays()
    r = visdial_metrics(scores.reshape(4, 6, 100), gt_index=gt.reshape(4, 6))
    for ours, theirs in [("r@1", "r@1"), ("r@5", "r@5"), ("r@10", "r@10"), ("mrr", "mrr"), ("mean_rank", "mean")]:
        assert r[ours] == pytest.approx(SPARSE[theirs], rel=1e-6, abs=1e-7)
    assert r["rounds"] == 24 and "ties:official" in r["signature"]


def test_official_ndcg_negatives_and_nan() -> None:
    scores, _, rel = _visdial_arrays()
    r = visdial_metrics(scores[:12], relevance=rel)
    np.testing.assert_allclose(r["ndcg_per_round"], NDCG_PER_ROUND, rtol=1e-6, atol=1e-7)  # NaN == NaN here
    assert math.isnan(r["ndcg"]) and r["ndcg_nonfinite_rounds"] == 2  # official: one NaN round -> NaN
    assert visdial_metrics(scores[:10], relevance=rel[:10])["ndcg"] == pytest.approx(NDCG_FIRST10, rel=1e-6)
    omit = visdial_metrics(scores[:12], relevance=rel, nan_policy="omit")
    assert omit["ndcg"] == pytest.approx(NDCG_FIRST10, rel=1e-6) and "nan:omit" in omit["signature"]
    # negatives count toward the official cutoff k (2 here: relevance -1 and 1), and a negative DCG stays negative
    small = ([[4.0, 3.0, 2.0, 1.0]], [[0.0, -1.0, 1.0, 0.0]])
    assert visdial_metrics(small[0], relevance=small[1])["ndcg"] == pytest.approx(-1 / math.log2(3), abs=1e-15)
    assert visdial_metrics(small[0], relevance=small[1], ndcg_cutoff="positive")["ndcg"] == 0.0


def test_torch_sort_order_small_cases() -> None:
    assert torch_sort_order([1.0, 1.0, 1.0, 2.0, 2.0, 0.0]) == [3, 4, 0, 1, 2, 5]  # <= 16: stable
    assert torch_sort_order([1.0, float("nan"), 3.0]) == [1, 2, 0]  # NaN first, as torch
    assert sorted(torch_sort_order([0.0] * 100)) == list(range(100))


def test_batching_is_bit_identical() -> None:
    scores, gt, rel = _visdial_arrays()
    scores, gt = scores[:12], gt[:12]
    for ties in ("official", "stable", "optimistic", "pessimistic", "mean"):
        whole = visdial_metrics(scores, gt_index=gt[:12], relevance=rel, ties=ties, nan_policy="omit")
        for size in (1, 5, 7):
            acc = VisDialMetrics(ties=ties, nan_policy="omit")
            for i in range(0, 12, size):
                acc.update(scores[i : i + size], gt_index=gt[i : i + size], relevance=rel[i : i + size])
            got = acc.compute()
            assert {k: v for k, v in got.items() if k != "ndcg_per_round"} == {
                k: v for k, v in whole.items() if k != "ndcg_per_round"
            }


def _brute_force(s: list[float], gt: int, rel: list[float]) -> list[tuple[float, float, float, float]]:
    """(rank, 1/rank, hit@2, NDCG) of the ground truth over every order consistent with the scores."""
    n, k = len(s), sum(1 for x in rel if x != 0)
    ideal = sum(x / math.log2(i + 2) for i, x in enumerate(sorted(rel, reverse=True)[:k]))
    out = []
    for perm in itertools.permutations(range(n)):
        if any(s[perm[i]] < s[perm[i + 1]] for i in range(n - 1)):
            continue
        rank = perm.index(gt) + 1
        dcg = sum(rel[c] / math.log2(i + 2) for i, c in enumerate(perm[:k]))
        out.append((float(rank), 1.0 / rank, float(rank <= 2), dcg / ideal))
    return out


def test_tie_rules_against_enumerated_orders() -> None:
    s = [0.3, 0.9, 0.3, 0.3, 0.1, 0.9]
    rel = [1.0, 0.0, 0.5, 0.0, 0.25, 0.75]
    for gt in (0, 1, 4):
        orders = _brute_force(s, gt, rel)
        cols = list(zip(*orders, strict=True))
        expect = {
            "mean": [sum(c) / len(c) for c in cols],
            "optimistic": [min(cols[0]), max(cols[1]), max(cols[2]), max(cols[3])],
            "pessimistic": [max(cols[0]), min(cols[1]), min(cols[2]), min(cols[3])],
        }
        for ties, (rank, rr, hit, nd) in expect.items():
            r = visdial_metrics([s], gt_index=[gt], relevance=[rel], ties=ties, ks=(2,))
            assert r["mean_rank"] == pytest.approx(rank, abs=1e-12), ties
            assert r["mrr"] == pytest.approx(rr, abs=1e-12), ties
            assert r["r@2"] == pytest.approx(hit, abs=1e-12), ties
            assert r["ndcg"] == pytest.approx(nd, abs=1e-12), ties


def test_visdial_bad_input() -> None:
    with pytest.raises(ValueError):
        visdial_metrics([[1.0, 2.0]], gt_index=[2])
    with pytest.raises(ValueError):
        VisDialMetrics(ties="random")
    with pytest.raises(ValueError):
        visdial_metrics([[1.0, float("nan")]], gt_index=[0], ties="mean")
    with pytest.raises(ValueError):
        visdial_metrics([[1.0, 2.0]])


PAIRS = [
    ("The cat sat on the mat!", ["a cat sat on a mat"]),
    ("i like green apples, don't you?", ["I like red apples.", "do you like green apples"]),
    ("", ["hello there"]),
    ("", [""]),
    ("hello", [""]),
    ("The the a an", ["an apple"]),
    ("yes", ["yes"]),
    ("well i think it is going to rain today in the city", ["it is going to rain in the city today i think"]),
    ("Café au lait — très bien", ["café au lait très bien"]),
    ("no no no no", ["no", "no no"]),
    ("what's up_doc?", ["whats up doc"]),
    ("a b c d e f", ["a b c d e f g h", "b c d"]),
]

# fmt: off
PARLAI_BLEU = {
    1: [1.0, 0.7142857142857143, 0, 1.0, 0, 0, 1.0, 0.9090909090909091, 0.8333333333333334, 0.5, 0.5, 1.0],
    2: [
        1.0, 0.5976143046671969, 0, 1.0000000000000004e-06, 0, 0, 1.0000000000000004e-06, 0.7385489458759964,
        0.7071067811865476, 0.408248290463863, 0.408248290463863, 1.0
    ],
    3: [
        1.0, 0.4149132666831218, 0, 1.0000000000000018e-08, 0, 0, 1.0000000000000018e-08, 0.5665163349427047, 0.5,
        4.3679023236814965e-05, 4.3679023236814965e-05, 1.0
    ],
    4: [
        1.0, 0.0003655552228545124, 0, 1.0000000000000007e-09, 0, 0, 1.0000000000000007e-09, 0.4617366309441026,
        0.0004518010018049226, 5.372849659117711e-07, 5.372849659117711e-07, 1.0
    ],
}
PARLAI_F1 = [
    1.0, 0.6666666666666666, 0, 0, 0, 0, 1.0, 0.9523809523809523, 0.9090909090909091, 0.6666666666666666,
    0.5714285714285715, 0.8333333333333333
]
# fmt: on


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_parlai_bleu_golden(k: int) -> None:
    preds = [p for p, _ in PAIRS]
    refs = [r for _, r in PAIRS]
    metric = get_metric("parlai_bleu") if k == 4 else get_metric("parlai_bleu", k=k)
    r = metric(preds, refs)
    np.testing.assert_allclose(np.asarray(r.item_scores), np.asarray(PARLAI_BLEU[k]), rtol=1e-12, atol=1e-300)
    assert r.score == pytest.approx(sum(PARLAI_BLEU[k]) / len(PAIRS), rel=1e-12)
    assert f"k:{k}|norm:parlai" in r.signature and "smooth:method1" in r.signature and "epsilon:1e-12" in r.signature


def test_parlai_f1_golden() -> None:
    r = get_metric("parlai_f1")([p for p, _ in PAIRS], [r for _, r in PAIRS])
    np.testing.assert_allclose(np.asarray(r.item_scores), np.asarray(PARLAI_F1), rtol=1e-12, atol=0)
    assert r.name == "parlai_f1" and "norm:parlai" in r.signature
