from __future__ import annotations

import pytest

from mmdial_fusion.evaluation import score_responses

HYPS = ["the cat sat on the mat", "i would love a cup of tea", "sure , where do you want to go", "no"]
REFS = ["the cat is on the mat", "i would love one", "where do you want to go ?", "no problem at all"]


def test_bleu_matches_nltk_corpus_bleu() -> None:
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    scores = score_responses(HYPS, REFS)
    refs = [[r.split()] for r in REFS]
    hyps = [h.split() for h in HYPS]
    for n in range(1, 5):
        expected = bleu.corpus_bleu(refs, hyps, weights=tuple([1.0 / n] * n))
        assert scores[f"bleu-{n}"] == pytest.approx(expected, abs=1e-12)


def test_rouge_l_matches_rouge_score() -> None:
    rouge = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge.RougeScorer(["rougeL"], tokenizer=_WhitespaceTokenizer())
    expected = sum(scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(HYPS, REFS, strict=True)) / len(HYPS)
    assert score_responses(HYPS, REFS)["rouge-l"] == pytest.approx(expected, abs=1e-12)


class _WhitespaceTokenizer:
    def tokenize(self, text: str) -> list[str]:
        return text.lower().split()


def test_distinct_f1_and_length_by_hand() -> None:
    s = score_responses(["a a b", "a c"], ["a b", "d"])
    assert s["distinct-1"] == pytest.approx(3 / 5)
    assert s["distinct-2"] == pytest.approx(3 / 3)
    # F1: (2*(2/3)*(2/2)/(2/3+1) + 0) / 2
    assert s["f1"] == pytest.approx((2 * (2 / 3) / (2 / 3 + 1)) / 2)
    assert s["avg_len"] == 2.5
    with pytest.raises(ValueError, match="2 responses but 1 references"):
        score_responses(["a", "b"], ["a"])
