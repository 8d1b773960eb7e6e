"""Bootstrap intervals for held-out loss: one system, and paired differences between two systems.

The held-out loss of a system is token-weighted: ``sum(nll_i) / sum(tokens_i)`` over the held-out samples ``i``
(``nll_i`` the summed response cross-entropy of sample ``i`` in nats, ``tokens_i`` its response tokens, from
:func:`mmdial_fusion.runs.sample_losses`). The bootstrap resamples samples with replacement (percentile
interval); for a paired difference both systems are resampled with the same indices, so what the samples have
in common (some responses are harder than others) cancels. A difference is *outside noise* when its interval
excludes 0.

Example:
    >>> nll, tokens = [2.0, 4.0, 3.0, 6.0], [1, 2, 1, 2]
    >>> r = loss_interval(nll, tokens, n_bootstrap=200, seed=0)
    >>> r["loss"], r["n"], r["low"] <= r["loss"] <= r["high"]
    (2.5, 4, True)
    >>> d = paired_difference([x + 1.0 for x in nll], nll, tokens, n_bootstrap=200, seed=0)
    >>> round(d["difference"], 6), d["outside_noise"]
    (0.666667, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Bootstrap settings of :func:`loss_interval` and :func:`paired_difference` unless a caller says otherwise.
N_BOOTSTRAP = 1000
CONFIDENCE = 0.95


def _arrays(nll: Sequence[float], tokens: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    a, t = np.asarray(nll, dtype=np.float64), np.asarray(tokens, dtype=np.float64)
    if a.shape != t.shape or a.ndim != 1:
        raise ValueError(f"{a.shape[0] if a.ndim else 0} losses but {t.shape[0] if t.ndim else 0} token counts")
    if a.size == 0 or t.sum() <= 0:
        raise ValueError("no held-out response tokens to score")
    return a, t


def _indices(n: int, n_bootstrap: int, seed: int) -> np.ndarray:
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be positive, got {n_bootstrap}")
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def _quantiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def loss_interval(
    nll: Sequence[float],
    tokens: Sequence[int],
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> dict[str, Any]:
    """``{"loss", "low", "high", "n", "tokens", "n_bootstrap", "confidence", "seed", "method"}``: the
    token-weighted loss and its percentile bootstrap interval over samples."""
    a, t = _arrays(nll, tokens)
    idx = _indices(a.size, n_bootstrap, seed)
    low, high = _quantiles(a[idx].sum(axis=1) / t[idx].sum(axis=1), confidence)
    return {
        "loss": float(a.sum() / t.sum()),
        "low": low,
        "high": high,
        "n": int(a.size),
        "tokens": int(t.sum()),
        "n_bootstrap": n_bootstrap,
        "confidence": confidence,
        "seed": seed,
        "method": "percentile bootstrap over samples",
    }


def paired_difference(
    nll_a: Sequence[float],
    nll_b: Sequence[float],
    tokens: Sequence[int],
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> dict[str, Any]:
    """Loss of system a minus loss of system b on the same samples (the same response tokens), with a paired
    percentile bootstrap interval: ``{"difference", "low", "high", "outside_noise", "n", ...}``. Negative: a has
    the lower (better) loss; ``outside_noise``: the interval excludes 0."""
    a, t = _arrays(nll_a, tokens)
    b, _ = _arrays(nll_b, tokens)
    idx = _indices(a.size, n_bootstrap, seed)
    diffs = (a[idx].sum(axis=1) - b[idx].sum(axis=1)) / t[idx].sum(axis=1)
    low, high = _quantiles(diffs, confidence)
    return {
        "difference": float((a.sum() - b.sum()) / t.sum()),
        "low": low,
        "high": high,
        "outside_noise": bool(low > 0 or high < 0),
        "n": int(a.size),
        "n_bootstrap": n_bootstrap,
        "confidence": confidence,
        "seed": seed,
        "method": "paired percentile bootstrap over samples",
    }
