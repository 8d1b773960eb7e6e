"""Embedding Average / Greedy Matching / Vector Extrema against naive re-implementations of the two scripts.

The naive references below follow, loop by loop, Liu et al. 2016's ``embedding_metrics.py`` (unknown words
skipped, its skip/zero rules, its extrema rule) and nlg-eval's ``word2vec/evaluate.py`` (unknown -> mean
vector, ``sum/||sum||``, its per-dimension extrema lambda, sklearn ``cosine_similarity``, greedy as the mean
of the two directions, max over references), on seeded random vectors and real dialogue text.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from mmdial_metrics import get_metric
from mmdial_metrics.embedding import EmbeddingMetric, embedding_average, greedy_matching, vector_extrema


@pytest.fixture(scope="module")
def vectors(real_pairs):
    """Seeded random 16-d vectors for about 70% of the words of the pairs (the rest are unknown)."""
    hyps, refs = real_pairs
    vocab = sorted({w for t in hyps + [r for g in refs for r in g] for w in t.split()})
    rng = np.random.default_rng(0)
    known = [w for w in vocab if rng.random() < 0.7]
    return {w: rng.normal(size=16) for w in known}


# ---- naive Liu et al. 2016 (one reference per call, as the script) ----------------------------------------
def liu_greedy_one(a, b, w2v):
    y = [w2v[t] for t in b if t in w2v]
    o, n = 0.0, 0
    for t in a:
        if t in w2v:
            x = w2v[t]
            o += max(float(np.dot(x, v) / np.linalg.norm(x) / np.linalg.norm(v)) for v in y) if y else 0.0
            n += 1
    if n < 1 or not y:
        return 0.0
    return o / n


def liu_item(kind, hyp, ref, w2v):
    h, r = hyp.split(), ref.split()
    if kind == "greedy":
        return (liu_greedy_one(r, h, w2v) + liu_greedy_one(h, r, w2v)) / 2
    x = [w2v[t] for t in r if t in w2v]  # ground truth
    y = [w2v[t] for t in h if t in w2v]  # response
    if kind == "average":
        xs, ys = np.sum(x, axis=0) if x else np.zeros(16), np.sum(y, axis=0) if y else np.zeros(16)
        if np.linalg.norm(xs) < 1e-11:
            return None
        if np.linalg.norm(ys) < 1e-11:
            return 0.0
        return float(np.dot(xs, ys) / np.linalg.norm(xs) / np.linalg.norm(ys))
    if np.linalg.norm(x) < 1e-11:
        return None
    if np.linalg.norm(y) < 1e-11:
        return 0.0

    def xtrema(m):
        mx, mn = np.max(m, 0), np.min(m, 0)
        return np.array([mn[i] if np.abs(mn[i]) > mx[i] else mx[i] for i in range(len(mx))])

    a, b = xtrema(x), xtrema(y)
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


# ---- naive nlg-eval ---------------------------------------------------------------------------------------
def nlgeval_item(kind, hyp, refs, w2v, unk):
    def embs(text):
        return [w2v.get(w, unk) for w in text.split()]

    def avg(e):
        return np.sum(e, axis=0) / np.linalg.norm(np.sum(e, axis=0))

    def extreme(e):
        maxemb, minemb = np.max(e, axis=0), np.min(e, axis=0)
        return list(
            map(lambda x, y: x if ((x > y or x < -y) and y > 0) or ((x < y or x > -y) and y < 0) else y, maxemb, minemb)
        )

    eh = embs(hyp)
    out = []
    for ref in refs:
        er = embs(ref)
        if not eh or not er:
            out.append(0.0)
        elif kind == "average":
            out.append(cosine_similarity([avg(er)], [avg(eh)])[0, 0])
        elif kind == "extrema":
            out.append(cosine_similarity([extreme(er)], [extreme(eh)])[0, 0])
        else:
            sim = cosine_similarity(er, eh)
            out.append((sim.max(axis=0).mean() + sim.max(axis=1).mean()) / 2)
    return float(max(out))


@pytest.mark.parametrize("kind", ["average", "greedy", "extrema"])
def test_liu2016_parity(real_pairs, vectors, kind):
    hyps, refs = real_pairs
    hyps, refs = hyps[:1000], refs[:1000]
    expected = []
    for h, g in zip(hyps, refs, strict=True):
        vals = [v for v in (liu_item(kind, h, r, vectors) for r in g) if v is not None]
        expected.append(max(vals) if vals else None)
    result = EmbeddingMetric(kind=kind, vectors=vectors).score(hyps, refs)
    counted = [e for e in expected if e is not None]
    ours = [s for s, e in zip(result.item_scores, expected, strict=True) if e is not None]
    np.testing.assert_allclose(ours, counted, rtol=0, atol=1e-12)
    assert result.score == pytest.approx(float(np.mean(counted)), abs=1e-12)
    assert result.details["left_out"] == expected.count(None)


@pytest.mark.parametrize("kind", ["average", "greedy", "extrema"])
def test_nlgeval_parity(real_pairs, vectors, kind):
    hyps, refs = real_pairs
    hyps, refs = hyps[:1000], refs[:1000]
    unk = np.mean(np.asarray(list(vectors.values())), axis=0)
    expected = [nlgeval_item(kind, h, g, vectors, unk) for h, g in zip(hyps, refs, strict=True)]
    result = EmbeddingMetric(kind=kind, vectors=vectors, convention="nlgeval").score(hyps, refs)
    np.testing.assert_allclose(result.item_scores, expected, rtol=0, atol=1e-12)
    assert result.score == pytest.approx(float(np.mean(expected)), abs=1e-12)
    assert result.details["left_out"] == 0


def test_nlgeval_extrema_rule_edges():
    from mmdial_metrics.embedding import extrema_liu, extrema_nlgeval

    m = np.array([[0.5, -0.5, 0.0, 2.0, -3.0], [-0.5, 0.2, 0.7, 1.0, 1.0]])
    # nlg-eval: tie |min| == max -> min; min == 0 -> 0; Liu: tie -> max, min == 0 -> max
    np.testing.assert_array_equal(extrema_nlgeval(m), [-0.5, -0.5, 0.0, 2.0, -3.0])
    np.testing.assert_array_equal(extrema_liu(m), [0.5, -0.5, 0.7, 2.0, -3.0])


def test_callable_vectors_and_options(vectors):
    preds, refs = ["hello there friend"], [["hi there", "good bye"]]
    vecs = {"hello": [1.0, 0.0], "hi": [0.8, 0.3], "there": [0.0, 1.0], "good": [-1.0, 0.1], "bye": [-0.5, -0.5]}
    by_map = greedy_matching(preds, refs, vectors=vecs)
    by_fn = greedy_matching(preds, refs, vectors=vecs.get)
    assert by_map.score == by_fn.score
    unk = np.mean(np.asarray(list(vecs.values())), axis=0)
    assert (
        vector_extrema(preds, refs, vectors=vecs.get, convention="nlgeval", unk=unk).score
        == vector_extrema(preds, refs, vectors=vecs, convention="nlgeval").score
    )
    with pytest.raises(ValueError, match="unk="):
        vector_extrema(preds, refs, vectors=vecs.get, convention="nlgeval")
    with pytest.raises(TypeError, match="vectors are required"):
        embedding_average(preds, refs)
    with pytest.raises(ValueError, match="convention"):
        EmbeddingMetric(vectors=vecs, convention="other")
    m = get_metric("vector_extrema", vectors=vecs, convention="nlgeval", vectors_name="toy2d")
    assert m.signature(1).startswith("name:vector_extrema|nrefs:1|conv:nlgeval|vectors:toy2d|tok:whitespace")
    assert embedding_average([""], [["hi"]], vectors=vecs).score == 0.0
    # Liu et al.: a reference with no known word leaves the item out (average/extrema), greedy scores it 0
    r = vector_extrema(["hi", "hi"], [["zzz"], ["hi"]], vectors=vecs)
    assert (r.score, r.details["left_out"]) == (pytest.approx(1.0), 1)
    assert greedy_matching(["hi", "hi"], [["zzz"], ["hi"]], vectors=vecs).score == pytest.approx(0.5)
