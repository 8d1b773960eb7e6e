"""Response scores: BLEU-1..4, ROUGE-L, Distinct-1/2, unigram F1 and average length.

All scores go through :func:`score_responses`, the one place that talks to a metrics backend: mmdial-metrics
when it provides the metric (``mmdial_metrics.get_metric``), else the small reference implementations below
(lowercased whitespace tokens; BLEU-n = corpus BLEU with uniform weights over 1..n-grams and the brevity
penalty, as ``nltk.translate.bleu_score.corpus_bleu``; ROUGE-L = mean sentence LCS F-measure (beta=1);
Distinct-n = unique n-grams / all n-grams over the corpus; F1 = mean unigram F1 (ParlAI style, without
punctuation/article normalisation)). Scores are in [0, 1] except ``avg_len`` (tokens).

Example:
    >>> s = score_responses(["the cat sat", "a dog"], ["the cat sat down", "a dog ran"])
    >>> round(s["bleu-1"], 4), round(s["distinct-1"], 3), s["avg_len"]
    (0.6703, 1.0, 2.5)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

#: Score names, in report order.
SCORE_NAMES = ("bleu-1", "bleu-2", "bleu-3", "bleu-4", "rouge-l", "distinct-1", "distinct-2", "f1", "avg_len")


def _tokens(text: str) -> list[str]:
    return text.lower().split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hyps: Sequence[list[str]], refs: Sequence[list[str]], max_n: int) -> float:
    """Corpus BLEU with uniform weights over 1..``max_n``-grams (one reference per hypothesis)."""
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for h, r in zip(hyps, refs, strict=True):
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, max_n + 1):
            hc, rc = _ngrams(h, n), _ngrams(r, n)
            matches[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            totals[n - 1] += max(1, len(h) - n + 1)  # as nltk: a too-short hypothesis still counts one
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(log_p)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(hyps: Sequence[list[str]], refs: Sequence[list[str]]) -> float:
    """Mean sentence-level ROUGE-L F-measure."""
    scores = []
    for h, r in zip(hyps, refs, strict=True):
        lcs = _lcs(h, r)
        if lcs == 0:
            scores.append(0.0)
            continue
        p, rec = lcs / len(h), lcs / len(r)
        scores.append(2 * p * rec / (p + rec))
    return sum(scores) / len(scores) if scores else 0.0


def distinct(hyps: Sequence[list[str]], n: int) -> float:
    """Unique n-grams / all n-grams over all hypotheses."""
    grams: Counter[tuple[str, ...]] = Counter()
    for h in hyps:
        grams.update(_ngrams(h, n))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def unigram_f1(hyps: Sequence[list[str]], refs: Sequence[list[str]]) -> float:
    """Mean unigram F1 between hypothesis and reference tokens."""
    scores = []
    for h, r in zip(hyps, refs, strict=True):
        common = sum((Counter(h) & Counter(r)).values())
        if common == 0:
            scores.append(0.0)
            continue
        p, rec = common / len(h), common / len(r)
        scores.append(2 * p * rec / (p + rec))
    return sum(scores) / len(scores) if scores else 0.0


def _local_scores(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    h = [_tokens(x) for x in hyps]
    r = [_tokens(x) for x in refs]
    out = {f"bleu-{n}": corpus_bleu(h, r, n) for n in range(1, 5)}
    out["rouge-l"] = rouge_l(h, r)
    out["distinct-1"] = distinct(h, 1)
    out["distinct-2"] = distinct(h, 2)
    out["f1"] = unigram_f1(h, r)
    out["avg_len"] = sum(len(x) for x in h) / len(h) if h else 0.0
    return out


def score_responses(hyps: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Score generated responses against one reference each; keys are :data:`SCORE_NAMES`."""
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} responses but {len(refs)} references")
    if not hyps:
        raise ValueError("no responses to score")
    return _local_scores(hyps, refs)
