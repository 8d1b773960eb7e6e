from __future__ import annotations

import re

import pytest

from mmdial_fusion.evaluation import SCORE_NAMES, metric_signatures, score_report, score_responses, table_row

HYPS = ["The cat sat on the mat", "i would love a cup of tea", "sure , where do you want to go", "no"]
REFS = ["the cat is on the mat", "I would love one", "where do you want to go ?", "no problem at all"]


def test_bleu_matches_nltk_corpus_bleu_cumulative_weights() -> None:
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    scores = score_responses(HYPS, REFS)
    unsmoothed = score_responses(HYPS, REFS, smoothing=0)
    refs = [[r.lower().split()] for r in REFS]
    hyps = [h.lower().split() for h in HYPS]
    for n in range(1, 5):
        weights = tuple([1.0 / n] * n)
        expected = bleu.corpus_bleu(refs, hyps, weights=weights, smoothing_function=bleu.SmoothingFunction().method1)
        assert 0.0 < expected < 1.0
        assert scores[f"bleu-{n}"] == expected
        assert unsmoothed[f"bleu-{n}"] == pytest.approx(bleu.corpus_bleu(refs, hyps, weights=weights), abs=1e-12)


def test_bleu_on_few_responses_is_smoothed_not_a_floor() -> None:
    """Two responses with no shared trigram: smoothed BLEU-3/4 are nltk's method1 values, never 1e-231."""
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    import warnings

    hyps, refs = ["the cat sat here", "hello my friend"], ["the cat is here", "hello there friend"]
    toks_h, toks_r = [h.split() for h in hyps], [[r.split()] for r in refs]
    report = score_report(hyps, refs)
    raw = score_report(hyps, refs, smoothing=0)
    for n in (3, 4):
        weights = tuple([1.0 / n] * n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            smoothed = bleu.corpus_bleu(toks_r, toks_h, weights, smoothing_function=bleu.SmoothingFunction().method1)
            floor = bleu.corpus_bleu(toks_r, toks_h, weights)
        assert 0 < floor < 1e-50  # what the report used to show
        assert report["scores"][f"bleu-{n}"] == smoothed > 1e-3
        assert "smooth:method1|" in report["signatures"][f"bleu-{n}"]
        assert raw["scores"][f"bleu-{n}"] == 0.0 and "floor='nltk'" in raw["notes"][f"bleu-{n}"]
        assert "smooth:method0|" in raw["signatures"][f"bleu-{n}"]
    assert report["notes"] == {} and report["n"] == 2


def test_rouge_l_matches_rouge_score() -> None:
    rouge = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge.RougeScorer(["rougeL"], use_stemmer=False)
    expected = sum(scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(HYPS, REFS, strict=True)) / len(HYPS)
    assert score_responses(HYPS, REFS)["rouge-l"] == pytest.approx(expected, abs=1e-12)


def _parlai_normalize(text: str) -> list[str]:
    # ParlAI's normalize_answer: lowercase, drop punctuation, drop articles, collapse whitespace
    text = re.sub(r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]", " ", text.lower())
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def _f1(h: list[str], r: list[str]) -> float:
    from collections import Counter

    common = sum((Counter(h) & Counter(r)).values())
    return 0.0 if common == 0 else 2 * common / (len(h) + len(r))


def test_f1_uses_parlai_normalization() -> None:
    expected = sum(_f1(_parlai_normalize(h), _parlai_normalize(r)) for h, r in zip(HYPS, REFS, strict=True)) / 4
    assert score_responses(HYPS, REFS)["f1"] == pytest.approx(expected, abs=1e-12)
    # articles and punctuation do not count: "the cat !" vs "a cat" is a perfect match
    assert score_responses(["the cat !"], ["a cat"])["f1"] == 1.0


def test_distinct_and_length_by_hand() -> None:
    s = score_responses(["A a b", "a c"], ["a b", "d"])
    assert s["distinct-1"] == pytest.approx(3 / 5)  # lowercased: a, b, c of 5 unigrams
    assert s["distinct-2"] == pytest.approx(3 / 3)
    assert s["avg_len"] == 2.5
    with pytest.raises(ValueError, match="2 responses but 1 references"):
        score_responses(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no responses"):
        score_responses([], [])


def test_report_records_every_signature() -> None:
    report = score_report(HYPS, REFS)
    assert report["n"] == 4 and list(report["scores"]) == list(SCORE_NAMES)
    assert report["signatures"] == metric_signatures()
    sig = report["signatures"]
    assert sig["bleu-3"].startswith("name:nltk_bleu|nrefs:1|weights:0.333333,0.333333,0.333333|smooth:method1")
    assert "case:lc" in sig["bleu-1"] and "mode:inter" in sig["distinct-2"]
    assert sig["rouge-l"].startswith("name:rougeL|") and "stem:no" in sig["rouge-l"]
    assert "norm:parlai" in sig["f1"] and sig["avg_len"].startswith("name:avg_length")


def test_table_row_is_flat() -> None:
    row = table_row("full", score_responses(HYPS, REFS))
    assert list(row) == [
        "system",
        "BLEU-1",
        "BLEU-2",
        "BLEU-3",
        "BLEU-4",
        "ROUGE-L",
        "Distinct-1",
        "Distinct-2",
        "F1",
        "avg_len",
    ]
    assert all(isinstance(v, float) for k, v in row.items() if k != "system")


def test_report_intervals_bracket_the_scores() -> None:
    hyps = ["the cat sat", "a dog", "hello there friend", "no idea", "sure thing"] * 8
    refs = ["the cat sat down", "a dog ran", "hi friend", "i have no idea", "sure"] * 8
    report = score_report(hyps, refs, n_bootstrap=200, seed=1)
    assert set(report["intervals"]) == set(SCORE_NAMES)
    for name, ci in report["intervals"].items():
        assert ci["low"] <= report["scores"][name] <= ci["high"], name
        assert ci["n_samples"] == 200 and ci["seed"] == 1
    assert report["intervals"]["distinct-1"]["method"] == "half-sampling"
    assert report["intervals"]["f1"]["method"] == "percentile"
    assert "intervals" not in score_report(hyps, refs)
    assert score_report(hyps, refs, n_bootstrap=200, seed=1) == report
