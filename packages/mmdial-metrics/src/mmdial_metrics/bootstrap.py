"""Bootstrap confidence intervals for any registered metric (resampling items, recomputing the corpus score).

Example:
    >>> from mmdial_metrics import get_metric
    >>> ci = bootstrap_ci(get_metric("f1"), ["a b", "c", "a"], [["a b"], ["d"], ["a"]], n_samples=200, seed=0)
    >>> ci["low"] <= ci["score"] <= ci["high"]
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmdial_metrics.core import Metric


def bootstrap_ci(
    metric: Metric, predictions: Sequence[str], references: Sequence[Any] | None = None, *,
    n_samples: int = 1000, confidence: float = 0.95, seed: int = 0,
) -> dict[str, float]:
    """Percentile bootstrap of the metric's corpus score: ``{"score", "low", "high", "n_samples"}``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    stats = metric.item_stats(predictions, references)
    n = len(predictions)
    score = metric.reduce_score(stats)
    rng = np.random.default_rng(seed)
    values = np.array([metric.reduce_score(metric._select(stats, rng.integers(0, n, n))) for _ in range(n_samples)])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return {"score": score, "low": float(low), "high": float(high), "n_samples": n_samples, "seed": seed}
