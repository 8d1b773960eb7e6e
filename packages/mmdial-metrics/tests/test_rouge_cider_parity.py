"""ROUGE (rouge-score, pycocoevalcap) and CIDEr-D (pycocoevalcap) parity on real dialogue text."""

from __future__ import annotations

import numpy as np
import pytest

from mmdial_metrics.cider_scores import CIDErD, cider_d
from mmdial_metrics.rouge_scores import coco_rouge_l, rouge

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

EDGE = [
    ("", ["the cat sat on the mat"]),
    ("the cat sat", [""]),
    ("hello", ["hello"]),
    ("Grüße, 世界! ça va? 👍", ["Grüße, Welt! ça va? 👍"]),
    ("the the the the", ["the cat", "the the dog"]),
    ("a b c.\nd e f", ["a b c", "d e f.\na b c d e f g"]),
]


@pytest.mark.samples
@pytest.mark.parametrize("rouge_type", ["rouge1", "rouge2", "rouge4", "rougeL", "rougeLsum"])
@pytest.mark.parametrize("stem", [False, True])
def test_rouge_score_parity(real_pairs, rouge_type, stem):
    hyps, refs = real_pairs
    hyps = [h.replace(" . ", " .\n") for h in hyps[:1500]]
    refs = [[r.replace(". ", ".\n") for r in g] for g in refs[:1500]]
    scorer = rouge_scorer.RougeScorer([rouge_type], use_stemmer=stem)
    expected = [scorer.score_multi(g, h)[rouge_type] for h, g in zip(hyps, refs, strict=True)]
    ours = rouge(hyps, refs, rouge_type=rouge_type, use_stemmer=stem)
    np.testing.assert_allclose(ours.item_scores, [s.fmeasure for s in expected], rtol=0, atol=1e-12)
    assert ours.details["precision"] == pytest.approx(np.mean([s.precision for s in expected]), abs=1e-12)
    assert ours.details["recall"] == pytest.approx(np.mean([s.recall for s in expected]), abs=1e-12)


@pytest.mark.parametrize(("hyp", "refs"), EDGE)
def test_rouge_edge_cases(hyp, refs):
    for t in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        expected = rouge_scorer.RougeScorer([t]).score_multi(refs, hyp)[t].fmeasure
        assert rouge([hyp], [refs], rouge_type=t).score == pytest.approx(expected, abs=1e-12)


@pytest.mark.samples
def test_coco_rouge_parity(real_pairs):
    from pycocoevalcap.rouge.rouge import Rouge

    hyps, refs = real_pairs
    keep = [i for i, h in enumerate(hyps) if h]  # pycocoevalcap divides by zero on empty hypotheses' LCS=0 refs
    hyps = [hyps[i] for i in keep]
    refs = [refs[i] for i in keep]
    score, scores = Rouge().compute_score({i: g for i, g in enumerate(refs)}, {i: [h] for i, h in enumerate(hyps)})
    ours = coco_rouge_l(hyps, refs)
    assert ours.score == pytest.approx(score, abs=1e-12)
    np.testing.assert_allclose(ours.item_scores, scores, rtol=0, atol=1e-12)


@pytest.mark.samples
def test_cider_d_parity(real_pairs):
    from pycocoevalcap.cider.cider import Cider

    hyps, refs = real_pairs
    score, scores = Cider().compute_score({i: g for i, g in enumerate(refs)}, {i: [h] for i, h in enumerate(hyps)})
    ours = cider_d(hyps, refs)
    assert ours.score == pytest.approx(float(score), abs=1e-9)
    np.testing.assert_allclose(ours.item_scores, scores, rtol=0, atol=1e-9)
    acc = CIDErD().update(hyps[:1000], refs[:1000]).update(hyps[1000:], refs[1000:])
    assert acc.compute().score == pytest.approx(ours.score, abs=1e-12)


def test_cider_edge_cases():
    from pycocoevalcap.cider.cider import Cider

    hyps = ["", "hello", "Grüße 世界 👍", "the the the the", "a b c d e f"]
    refs = [["the cat sat"], ["hello"], ["Grüße Welt 👍", "世界"], ["the cat", "the the dog"], ["a b c", "d e f"]]
    _score, scores = Cider().compute_score({i: g for i, g in enumerate(refs)}, {i: [h] for i, h in enumerate(hyps)})
    ours = cider_d(hyps, refs)
    np.testing.assert_allclose(ours.item_scores, scores, rtol=0, atol=1e-12)


@pytest.mark.samples
def test_cider_select_equals_direct(real_pairs):
    """Bootstrap resampling of CIDEr-D's encoded statistics equals scoring the resampled items."""
    hyps, refs = real_pairs[0][:300], real_pairs[1][:300]
    metric = CIDErD()
    stats = metric.item_stats(hyps, refs)
    idx = np.random.default_rng(0).integers(0, 300, 300)
    direct = cider_d([hyps[i] for i in idx], [refs[i] for i in idx])
    assert metric.reduce_score(metric._select(stats, idx)) == pytest.approx(direct.score, abs=1e-12)
