"""Distinct/entropy/Self-BLEU against plain-Python definitions; F1/EM against ParlAI and SQuAD code."""

from __future__ import annotations

import math
import re
import string
import warnings
from collections import Counter

import pytest

from mmdial_metrics.diversity import avg_length, distinct, entropy, self_bleu
from mmdial_metrics.f1 import exact_match, unigram_f1


def _ngrams(tokens, n):
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


@pytest.mark.samples
@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_distinct_definitions(real_pairs, n):
    hyps, _ = real_pairs
    toks = [h.split() for h in hyps]
    grams = [g for t in toks for g in _ngrams(t, n)]
    assert distinct(hyps, n=n).score == len(set(grams)) / len(grams)
    assert distinct(hyps, n=n, mode="token").score == len(set(grams)) / sum(map(len, toks))
    intra = [len(set(_ngrams(t, n))) / len(_ngrams(t, n)) if _ngrams(t, n) else 0.0 for t in toks]
    assert distinct(hyps, n=n, mode="intra").score == pytest.approx(sum(intra) / len(intra), abs=1e-12)
    counts = Counter(grams)
    total = sum(counts.values())
    h = -sum(c / total * math.log(c / total) for c in counts.values())
    assert entropy(hyps, n=n).score == pytest.approx(h, abs=1e-9)
    assert entropy(hyps, n=n, base=2).score == pytest.approx(h / math.log(2), abs=1e-9)


def test_distinct_edge_cases():
    assert distinct(["", ""], n=1).score == 0.0
    assert distinct(["a"], n=2).score == 0.0
    assert distinct(["Ça ça 👍 👍"], n=1).score == 0.75
    assert distinct(["A a"], n=1, lowercase=True).score == 0.5
    assert avg_length(["a b", ""]).score == 1.0


def test_self_bleu_against_nltk():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    preds = ["i do not know", "i do not know what you mean", "i like cats", "cats like me", "what do you mean"]
    expected = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, p in enumerate(preds):
            refs = [q.split() for j, q in enumerate(preds) if j != i]
            expected.append(sentence_bleu(refs, p.split(), smoothing_function=SmoothingFunction().method1))
    assert self_bleu(preds).score == pytest.approx(sum(expected) / len(expected), abs=1e-12)


# --- reference code, copied verbatim (modulo names) from ParlAI (parlai/core/metrics.py) and the
# --- SQuAD v1.1 evaluation script, so the parity check does not need those projects installed.
re_art = re.compile(r"\b(a|an|the)\b")
re_punc = re.compile(r"[!\"#$%&()*+,-./:;<=>?@\[\]\\^`{|}~_\']")


def parlai_normalize_answer(s):
    s = s.lower()
    s = re_punc.sub(" ", s)
    s = re_art.sub(" ", s)
    s = " ".join(s.split())
    return s


def parlai_prec_recall_f1_score(pred_items, gold_items):
    common = Counter(gold_items) & Counter(pred_items)
    num_same = sum(common.values())
    if num_same == 0:
        return 0, 0, 0
    precision = 1.0 * num_same / len(pred_items)
    recall = 1.0 * num_same / len(gold_items)
    f1 = (2 * precision * recall) / (precision + recall)
    return precision, recall, f1


def parlai_f1(guess, answers):
    g_tokens = parlai_normalize_answer(guess).split()
    scores = [parlai_prec_recall_f1_score(g_tokens, parlai_normalize_answer(a).split()) for a in answers]
    return max(f1 for p, r, f1 in scores)


def squad_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def squad_f1_score(prediction, ground_truth):
    prediction_tokens = squad_normalize_answer(prediction).split()
    ground_truth_tokens = squad_normalize_answer(ground_truth).split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)


@pytest.mark.samples
def test_f1_parity(real_pairs):
    hyps, refs = real_pairs
    parl = [parlai_f1(h, g) for h, g in zip(hyps, refs, strict=True)]
    ours = unigram_f1(hyps, refs)
    assert ours.item_scores == pytest.approx(parl, abs=1e-12)
    squad = [100.0 * max(squad_f1_score(h, r) for r in g) for h, g in zip(hyps, refs, strict=True)]
    assert unigram_f1(hyps, refs, normalize="squad").item_scores == pytest.approx(squad, abs=1e-9)
    em = [
        100.0 * max(squad_normalize_answer(h) == squad_normalize_answer(r) for r in g)
        for h, g in zip(hyps, refs, strict=True)
    ]
    assert exact_match(hyps, refs).item_scores == em


def test_f1_edge_cases():
    assert unigram_f1([""], [["a cat"]]).score == 0.0
    assert unigram_f1(["the"], [["a"]]).score == 0.0
    assert unigram_f1(["Ça va"], [["ça va!"]]).score == 1.0
    assert unigram_f1(["b"], [["x", "b c"]]).score == pytest.approx(2 / 3)


@pytest.mark.parametrize("dense_limit", [1 << 26, 0])
def test_distinct_count_paths_agree(monkeypatch, dense_limit):
    """Flag table, uint32 sort, int64 sort and the re-ranking fallback (keys over 62 bits) give the
    set-of-tuples count (``dense_limit`` 0 turns the table off)."""
    import numpy as np

    from mmdial_metrics import diversity
    from mmdial_metrics.ngrams import encode_ids

    monkeypatch.setattr(diversity, "_DENSE_LIMIT", dense_limit)
    rng = np.random.default_rng(0)
    seqs = [tuple(int(x) for x in rng.integers(0, 9000, size=rng.integers(0, 12))) for _ in range(3000)]
    seqs += [(7, 8, 9), (7, 8, 9), (4_999_999, 1)]
    enc = encode_ids(seqs)
    for n in (1, 2, 3, 5):  # about 7,500 distinct ids: n=2 table or uint32, n=3 int64, n=5 over 62 bits
        expected = len({s[i : i + n] for s in seqs for i in range(len(s) - n + 1)})
        assert diversity._count_distinct(enc, n) == expected
