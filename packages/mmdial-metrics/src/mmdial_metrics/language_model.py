"""Perplexity from token log-probabilities (natural log), in its two reported forms.

- ``corpus``: ``exp(-sum of all log-probs / number of tokens)`` (token-weighted, the usual LM number).
- ``mean_per_text``: mean over texts of ``exp(-mean log-prob of the text)``.

Example:
    >>> import math
    >>> lp = [[math.log(0.5), math.log(0.25)], [math.log(0.5)]]
    >>> round(perplexity(lp).score, 6), round(perplexity(lp, mode="mean_per_text").score, 6)
    (2.519842, 2.414214)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mmdial_metrics.core import MetricResult, format_signature


def perplexity(logprobs: Sequence[Sequence[float]], *, mode: str = "corpus") -> MetricResult:
    """Perplexity of texts given each text's token log-probs (natural log, one value per token)."""
    if mode not in ("corpus", "mean_per_text"):
        raise ValueError(f"perplexity: mode must be 'corpus' or 'mean_per_text', got {mode!r}")
    if logprobs is None or isinstance(logprobs, (str, bytes)):
        raise TypeError("perplexity: logprobs must be a list of lists of floats")
    rows = []
    for i, row in enumerate(logprobs):
        vals = [float(x) for x in row]
        if not vals:
            raise ValueError(f"perplexity: text {i} has no tokens")
        if any(v > 0 or math.isnan(v) for v in vals):
            raise ValueError(f"perplexity: text {i} has log-probs > 0 or NaN (natural-log probabilities expected)")
        rows.append(vals)
    if not rows:
        raise ValueError("perplexity: no texts given")
    items = [math.exp(-math.fsum(r) / len(r)) for r in rows]
    if mode == "corpus":
        total = sum(len(r) for r in rows)
        score = math.exp(-math.fsum(v for r in rows for v in r) / total)
    else:
        score = sum(items) / len(items)
    return MetricResult(
        name=f"perplexity_{mode}",
        score=score,
        signature=format_signature(f"perplexity_{mode}", {"log": "e"}),
        item_scores=items,
        higher_is_better=False,
    )
