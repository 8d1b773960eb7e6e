"""Retrieval (VisDial conventions), task-oriented metrics, perplexity and the bootstrap."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from mmdial_metrics import get_metric
from mmdial_metrics.bootstrap import bootstrap_ci
from mmdial_metrics.dst import (
    inform_success,
    intent_accuracy,
    joint_goal_accuracy,
    requested_slot_f1,
    slot_scores,
    token_sort_ratio,
)
from mmdial_metrics.language_model import perplexity
from mmdial_metrics.retrieval import ndcg, retrieval_metrics, scores_to_ranks


def test_ranks_ties_stable_and_metrics_against_loop():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(200, 100)).astype(float)  # many ties
    gt = rng.integers(0, 100, size=200)
    ranks = scores_to_ranks(scores)
    for i in range(5):
        order = sorted(range(100), key=lambda j: (-scores[i, j], j))
        assert [int(ranks[i, j]) for j in order] == list(range(1, 101))
    gr = np.array([ranks[i, gt[i]] for i in range(200)], dtype=float)
    r = retrieval_metrics(scores=scores, gt_index=gt)
    assert r["r@5"] == float(np.mean(gr <= 5)) and r["mrr"] == pytest.approx(float(np.mean(1 / gr)))
    assert r["mean_rank"] == pytest.approx(float(gr.mean()))


def test_visdial_ndcg_definition():
    rel = np.array([[0, 1.0, 0.5, 0, 0]])
    ranks = np.array([[1, 3, 2, 4, 5]])  # candidate 2 (0.5) ranked before candidate 1 (1.0)
    k = 2
    dcg = 0 / math.log2(2) + 0.5 / math.log2(3)
    idcg = 1.0 / math.log2(2) + 0.5 / math.log2(3)
    assert ndcg(ranks, rel)[0] == pytest.approx(dcg / idcg)
    assert k == 2


def test_retrieval_bad_input():
    with pytest.raises(ValueError):
        retrieval_metrics(scores=[[1, 2]], gt_index=[5])
    with pytest.raises(ValueError):
        retrieval_metrics(gt_rank=[0])


def test_jga_and_slots():
    pred = [{"a": "x", "b": "none"}, {"a": ["y"]}, {}]
    gold = [{"a": "X"}, {"a": "z"}, {}]
    assert joint_goal_accuracy(pred, gold).item_scores == [1.0, 0.0, 1.0]
    s = slot_scores([{"a": "x", "b": "y"}], [{"a": "x", "c": "z"}])
    assert (s["tp"], s["fp"], s["fn"]) == (1, 1, 1) and s["f1"] == 0.5
    with pytest.raises(ValueError):
        joint_goal_accuracy([{}], [])
    with pytest.raises(TypeError):
        joint_goal_accuracy([None], [{}])
    assert requested_slot_f1([["a", "b"], []], [["a"], []]).item_scores == [pytest.approx(2 / 3), 1.0]
    assert intent_accuracy(["x", None], ["x", "y"]).score == 0.5


def test_fuzzy_matches_fuzzywuzzy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fuzz = pytest.importorskip("fuzzywuzzy.fuzz")
    pairs = [
        ("The Golden Gate", "golden gate the"),
        ("7 pm", "7:00 pm"),
        ("Café Rouge", "cafe rouge"),
        ("san jose", "San Jose, CA"),
        ("", "x"),
        ("abc", "abd"),
    ]
    for a, b in pairs:
        assert token_sort_ratio(a, b) == fuzz.token_sort_ratio(a, b) / 100.0
    fuzzy = joint_goal_accuracy([{"r": "golden gate the"}], [{"r": "The Golden Gate"}], matching="fuzzy")
    assert fuzzy.score == 1.0


def test_inform_success():
    dialogues = [
        {
            "goal": {"hotel": {"constraints": {"area": "north"}, "requested": ["phone"]}},
            "offered": {"hotel": {"area": "north"}},
            "provided": {"hotel": ["phone"]},
        },
        {
            "goal": {"hotel": {"constraints": {"area": "north"}, "requested": ["phone"]}},
            "offered": {"hotel": {"area": "north"}},
            "provided": {},
        },
        {"goal": {"hotel": {"constraints": {"area": "north"}}}, "offered": {"hotel": {"area": "south"}}},
    ]

    def match(domain, entity, constraints):
        return all(entity.get(k) == v for k, v in constraints.items())

    assert inform_success(dialogues, match) == {"inform": pytest.approx(2 / 3), "success": pytest.approx(1 / 3)}


def test_perplexity_forms():
    lp = [[math.log(0.5)] * 3, [math.log(0.1)]]
    assert perplexity(lp).score == pytest.approx(math.exp(-(3 * math.log(0.5) + math.log(0.1)) / 4))
    assert perplexity(lp, mode="mean_per_text").score == pytest.approx((2 + 10) / 2)
    with pytest.raises(ValueError):
        perplexity([[]])
    with pytest.raises(ValueError):
        perplexity([[0.5]])


def test_bootstrap_corpus_metric(real_pairs):
    hyps, refs = real_pairs
    metric = get_metric("bleu")
    ci = bootstrap_ci(metric, hyps[:500], refs[:500], n_samples=50, seed=1)
    assert ci["low"] < ci["score"] < ci["high"]
    assert ci == bootstrap_ci(get_metric("bleu"), hyps[:500], refs[:500], n_samples=50, seed=1)
