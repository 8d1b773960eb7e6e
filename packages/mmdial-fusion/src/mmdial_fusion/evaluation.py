"""Response scores through mmdial-metrics: BLEU-1..4, ROUGE-L, Distinct-1/2, unigram F1 and average length.

Every number comes from a configured :mod:`mmdial_metrics` metric (see :func:`response_metrics`); its
``signature`` records each choice that changes the number, and :func:`score_report` returns the signatures
next to the scores. The variants (the usual ones in dialogue papers, ReSee's included):

- ``bleu-n``: nltk ``corpus_bleu`` with cumulative uniform weights ``(1/n, ..., 1/n)``, smoothed with
  ``SmoothingFunction().method1`` (epsilon 0.1 for an order without any match), lowercased whitespace tokens
  (``mmdial_metrics.NLTKBLEU``). Without smoothing a few responses rarely share a 3- or 4-gram and nltk then
  returns a floor value (``1e-155``...``1e-231``), not a score. ``smoothing=0`` (any of the functions below)
  gives the unsmoothed variant, reported as 0 with the reason in ``score_report(...)["notes"]``;
  ``mmdial_metrics.NLTKBLEU(smoothing=0, floor="nltk")`` returns nltk's floor value itself.
- ``rouge-l``: rouge-score ROUGE-L F-measure, its own tokenizer (lowercase, alphanumeric), no stemmer, mean
  over responses (``mmdial_metrics.ROUGE``).
- ``distinct-1/2``: corpus-level (inter) distinct n-grams / all n-grams, lowercased whitespace tokens.
- ``f1``: unigram F1 with ParlAI normalization (lowercase, no punctuation or articles), mean over responses.
- ``avg_len``: mean whitespace tokens per response.

Scores are in [0, 1] except ``avg_len`` (tokens).

Example:
    >>> s = score_responses(["the cat sat", "a dog"], ["the cat sat down", "a dog ran"])
    >>> round(s["bleu-1"], 4), round(s["distinct-1"], 3), s["avg_len"]
    (0.6703, 1.0, 2.5)
    >>> metric_signatures()["bleu-2"]
    'name:nltk_bleu|nrefs:1|weights:0.5,0.5|smooth:method1|tok:whitespace|case:lc|epsilon:0.1|version:0.1.0'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmdial_metrics import Metric

#: Score names, in report order.
SCORE_NAMES = ("bleu-1", "bleu-2", "bleu-3", "bleu-4", "rouge-l", "distinct-1", "distinct-2", "f1", "avg_len")

#: Column names of the scores in tables (papers' spelling).
DISPLAY_NAMES = {
    "bleu-1": "BLEU-1",
    "bleu-2": "BLEU-2",
    "bleu-3": "BLEU-3",
    "bleu-4": "BLEU-4",
    "rouge-l": "ROUGE-L",
    "distinct-1": "Distinct-1",
    "distinct-2": "Distinct-2",
    "f1": "F1",
    "avg_len": "avg_len",
}


#: nltk ``SmoothingFunction`` method of the BLEU scores (recorded in their signatures as ``smooth:methodN``).
BLEU_SMOOTHING = 1


def response_metrics(*, smoothing: int = BLEU_SMOOTHING) -> dict[str, Metric]:
    """The configured mmdial-metrics metric behind each score name (fresh objects, in :data:`SCORE_NAMES` order).

    ``smoothing`` is the nltk ``SmoothingFunction`` method (0..7) of BLEU-1..4; 0 is unsmoothed.
    """
    import mmdial_metrics as mm

    metrics: dict[str, Metric] = {
        f"bleu-{n}": mm.NLTKBLEU(weights=(1.0 / n,) * n, smoothing=smoothing, tokenize="whitespace", lowercase=True)
        for n in range(1, 5)
    }
    metrics["rouge-l"] = mm.ROUGE(rouge_type="rougeL", use_stemmer=False, measure="fmeasure")
    metrics["distinct-1"] = mm.Distinct(n=1, mode="inter", lowercase=True)
    metrics["distinct-2"] = mm.Distinct(n=2, mode="inter", lowercase=True)
    metrics["f1"] = mm.UnigramF1(normalize="parlai")
    metrics["avg_len"] = mm.AverageLength()
    return metrics


def metric_signatures(*, smoothing: int = BLEU_SMOOTHING) -> dict[str, str]:
    """Score name -> the mmdial-metrics signature of its variant (one reference per response)."""
    return {name: metric.signature(nrefs=1) for name, metric in response_metrics(smoothing=smoothing).items()}


def _check(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} responses but {len(refs)} references")
    if not hyps:
        raise ValueError("no responses to score")


def score_report(
    hyps: Sequence[str],
    refs: Sequence[str],
    *,
    smoothing: int = BLEU_SMOOTHING,
    n_bootstrap: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Scores with their provenance: ``{"n", "scores", "signatures", "notes"}`` (and ``"intervals"``).

    ``n`` is the number of responses scored (print it next to the scores); ``notes`` maps a score name to why its
    value is what it is when a metric says so (e.g. unsmoothed BLEU reported as 0), and is empty otherwise.
    With ``n_bootstrap > 0``, ``intervals`` maps each score name to the 95% interval of
    :func:`mmdial_metrics.bootstrap_ci` (``{"low", "high", "method", "n_samples", "seed"}``; percentile bootstrap
    over responses, half-sampling for the resampling-sensitive corpus diversity scores).

    Example:
        >>> r = score_report(["hello there"], ["hello"])
        >>> r["n"], r["scores"]["f1"], r["signatures"]["f1"]
        (1, 0.6666666666666666, 'name:f1|nrefs:1|norm:parlai|multi:max|scale:1|version:0.1.0')
    """
    _check(hyps, refs)
    preds = list(hyps)
    references = [[r] for r in refs]
    scores: dict[str, float] = {}
    signatures: dict[str, str] = {}
    notes: dict[str, str] = {}
    intervals: dict[str, dict[str, Any]] = {}
    for name, metric in response_metrics(smoothing=smoothing).items():
        result = metric.score(preds, references)
        scores[name] = float(result.score)
        signatures[name] = result.signature
        if result.details.get("note"):
            notes[name] = str(result.details["note"])
        if n_bootstrap > 0:
            import mmdial_metrics as mm

            ci = mm.bootstrap_ci(metric, preds, references, n_samples=n_bootstrap, seed=seed)
            intervals[name] = {k: ci.get(k) for k in ("low", "high", "method", "n_samples", "seed")}
    report: dict[str, Any] = {"n": len(preds), "scores": scores, "signatures": signatures, "notes": notes}
    if n_bootstrap > 0:
        report["intervals"] = intervals
    return report


def score_responses(hyps: Sequence[str], refs: Sequence[str], *, smoothing: int = BLEU_SMOOTHING) -> dict[str, float]:
    """Score generated responses against one reference each; keys are :data:`SCORE_NAMES`.

    The variants are those of :func:`response_metrics`; :func:`score_report` adds their signatures.
    """
    return score_report(hyps, refs, smoothing=smoothing)["scores"]


def table_row(system: str, scores: dict[str, float]) -> dict[str, Any]:
    """A flat table row: ``{"system": ..., "BLEU-1": ..., ..., "avg_len": ...}`` (keys in report order).

    Example:
        >>> list(table_row("text_only", dict.fromkeys(SCORE_NAMES, 0.0)))[:3]
        ['system', 'BLEU-1', 'BLEU-2']
    """
    return {"system": system, **{DISPLAY_NAMES[n]: float(scores[n]) for n in SCORE_NAMES}}
