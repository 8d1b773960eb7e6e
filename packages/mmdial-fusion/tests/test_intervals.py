"""mmdial_fusion.intervals: token-weighted held-out loss with bootstrap intervals, paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from mmdial_fusion.intervals import loss_interval, paired_difference


def _data(n: int = 60, seed: int = 3) -> tuple[list[float], list[int]]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, 12, n)
    nll = tokens * rng.uniform(1.0, 4.0, n)
    return nll.tolist(), tokens.tolist()


def test_loss_interval_is_the_naive_bootstrap() -> None:
    nll, tokens = _data()
    r = loss_interval(nll, tokens, n_bootstrap=300, seed=5)
    assert r["loss"] == pytest.approx(sum(nll) / sum(tokens), rel=1e-12) and r["n"] == 60 and r["tokens"] == sum(tokens)
    rng = np.random.default_rng(5)  # the same draws, one resample at a time
    idx = rng.integers(0, 60, size=(300, 60))
    means = sorted(sum(nll[j] for j in row) / sum(tokens[j] for j in row) for row in idx)
    assert r["low"] == pytest.approx(float(np.quantile(means, 0.025)), rel=1e-12)
    assert r["high"] == pytest.approx(float(np.quantile(means, 0.975)), rel=1e-12)
    assert r["low"] < r["loss"] < r["high"]
    assert loss_interval(nll, tokens, n_bootstrap=300, seed=5) == r  # seeded


def test_paired_difference_sees_a_shift_the_unpaired_intervals_miss() -> None:
    nll, tokens = _data()
    better = [x - 0.05 * t for x, t in zip(nll, tokens, strict=True)]  # 0.05 nats per token lower everywhere
    d = paired_difference(better, nll, tokens, n_bootstrap=300, seed=0)
    assert d["difference"] == pytest.approx(-0.05, abs=1e-12) and d["outside_noise"]
    assert d["low"] == pytest.approx(-0.05, abs=1e-9) and d["high"] == pytest.approx(-0.05, abs=1e-9)
    a, b = loss_interval(better, tokens), loss_interval(nll, tokens)
    assert a["high"] > b["low"]  # the single-system intervals overlap: only the paired test separates them
    same = paired_difference(nll, nll, tokens, n_bootstrap=100, seed=0)
    assert same["difference"] == 0 and not same["outside_noise"]
    rng = np.random.default_rng(1)
    noisy = (np.asarray(nll) + rng.normal(0, 2.0, 60)).tolist()  # unrelated noise, no shift: inside noise
    assert not paired_difference(noisy, nll, tokens, n_bootstrap=500, seed=0)["outside_noise"]


def test_bad_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="2 losses but 1 token counts"):
        loss_interval([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="no held-out response tokens"):
        loss_interval([], [])
    with pytest.raises(ValueError, match="n_bootstrap must be positive"):
        paired_difference([1.0], [1.0], [1], n_bootstrap=0)
