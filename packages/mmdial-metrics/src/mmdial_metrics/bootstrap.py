"""Confidence intervals for any registered metric, by resampling items and recomputing the corpus score.

Most metrics: the percentile bootstrap (``n`` items drawn with replacement).

Metrics flagged ``resampling_sensitive`` (corpus Distinct-n, n-gram entropy, Self-BLEU, CIDEr-D) depend
on *which distinct items* the corpus holds: a bootstrap sample repeats about a third of the items, and a
repeated response looks like a lack of diversity (or, for CIDEr-D, changes document frequencies), so the
bootstrap distribution sits below the point estimate and its percentile interval can exclude it (seen:
Distinct-1 0.556 with interval [0.325, 0.447]). For these, the interval comes from **half-sampling
without replacement** (``m = n // 2`` distinct items per draw, no duplicates): the deviations of the
half-sample scores from their own mean, scaled by ``sqrt(m / (n - m))`` (= 1 for even ``n``: a
mean-like statistic of ``m`` of ``n`` items drawn without replacement has variance
``sigma^2 (n - m) / (m n)``, the full corpus ``sigma^2 / n``), are added to the point estimate:
``[score + s * (q_lo - mean), score + s * (q_hi - mean)]``. Centering on the half-sample mean removes
the systematic effect of corpus *size* (Distinct falls as a corpus grows), which is not sampling error.
With fewer than 4 items no interval is given (``low``/``high`` are None, ``note`` says why).

Example:
    >>> from mmdial_metrics import get_metric
    >>> ci = bootstrap_ci(get_metric("f1"), ["a b", "c", "a"], [["a b"], ["d"], ["a"]], n_samples=200, seed=0)
    >>> ci["low"] <= ci["score"] <= ci["high"], ci["method"]
    (True, 'percentile')
    >>> preds = ["i do not know", "i like cats", "me too", "i do not know", "sure", "why not"]
    >>> ci = bootstrap_ci(get_metric("distinct_1"), preds, n_samples=200, seed=0)
    >>> ci["low"] <= ci["score"] <= ci["high"], ci["method"]
    (True, 'half-sampling')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmdial_metrics.core import Metric

#: Fewest items for which a half-sampling interval is reported.
MIN_HALF_SAMPLING_ITEMS = 4


def bootstrap_ci(
    metric: Metric,
    predictions: Sequence[str],
    references: Sequence[Any] | None = None,
    *,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Interval for the metric's corpus score: ``{"score", "low", "high", "n_samples", "seed", "method"}``.

    ``method`` is ``percentile`` (bootstrap with replacement) or ``half-sampling`` (for
    ``metric.resampling_sensitive``; see the module docs). ``low``/``high`` are None, with a ``note``,
    when no interval can be given.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    stats = metric.item_stats(predictions, references)
    n = len(predictions)
    score = metric.reduce_score(stats)
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    out: dict[str, Any] = {"score": score, "n_samples": n_samples, "seed": seed}
    if not getattr(metric, "resampling_sensitive", False):
        values = np.array([metric.reduce_score(metric._select(stats, rng.integers(0, n, n))) for _ in range(n_samples)])
        low, high = np.quantile(values, [alpha, 1 - alpha])
        return {**out, "low": float(low), "high": float(high), "method": "percentile"}
    m = n // 2
    if n < MIN_HALF_SAMPLING_ITEMS:
        note = f"{metric.name} is resampling-sensitive; half-sampling needs >= {MIN_HALF_SAMPLING_ITEMS} items, got {n}"
        return {**out, "low": None, "high": None, "method": "half-sampling", "note": note}
    values = np.array(
        [metric.reduce_score(metric._select(stats, np.sort(rng.choice(n, m, replace=False)))) for _ in range(n_samples)]
    )
    scale = math.sqrt(m / (n - m))
    q_low, q_high = np.quantile(values, [alpha, 1 - alpha])
    center = float(values.mean())
    return {
        **out,
        "low": score + scale * (float(q_low) - center),
        "high": score + scale * (float(q_high) - center),
        "method": "half-sampling",
    }
