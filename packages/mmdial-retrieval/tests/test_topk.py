"""top_k_stable equals a stable full sort, ties and all."""

from __future__ import annotations

import numpy as np
import pytest

from mmdial_retrieval.topk import top_k_stable


@pytest.mark.parametrize("k", [1, 5, 37, 200])
def test_top_k_stable_equals_stable_argsort(k: int) -> None:
    rng = np.random.default_rng(0)
    # coarse values force many ties inside and at the k-th boundary
    scores = rng.integers(0, 7, size=(50, 200)).astype(np.float32) / 7
    scores[3] = 0.5  # a row that is all ties
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    got = top_k_stable(scores, k)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)


def test_top_k_stable_continuous_scores_and_edges() -> None:
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((33, 5000)).astype(np.float32)
    np.testing.assert_array_equal(top_k_stable(scores, 5), np.argsort(-scores, axis=1, kind="stable")[:, :5])
    assert top_k_stable(scores, 10_000).shape == (33, 5000)
    assert top_k_stable(np.zeros((0, 100), np.float32), 5).shape == (0, 5)
    assert top_k_stable(scores, 0).shape == (33, 0)
