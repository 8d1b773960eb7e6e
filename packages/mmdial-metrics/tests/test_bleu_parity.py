"""BLEU parity with sacrebleu, nltk and pycocoevalcap on real dialogue text and edge cases."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

from mmdial_metrics.bleu_coco import coco_bleu
from mmdial_metrics.bleu_nltk import nltk_bleu, nltk_sentence_bleu
from mmdial_metrics.bleu_sacrebleu import BLEU, bleu, sentence_bleu

sacrebleu = pytest.importorskip("sacrebleu")
nltk_bleu_mod = pytest.importorskip("nltk.translate.bleu_score")

EDGE = [
    ("", ["the cat sat on the mat"]),
    ("the cat sat", [""]),
    ("hello", ["hello"]),
    ("hello", ["world"]),
    ("Grüße, 世界! ça va? 👍 3.5-4", ["Grüße, Welt! ça va? 👍 3.5 - 4"]),
    ("the the the the", ["the cat", "the the dog"]),
    ("a b c d e f", ["a b c", "d e f", "a b c d e f g"]),
]


def _streams(groups: list[list[str]]) -> list[list[str | None]]:
    width = max(len(g) for g in groups)
    return [[g[i] if i < len(g) else None for g in groups] for i in range(width)]


@pytest.mark.samples
@pytest.mark.parametrize("tokenize", ["13a", "intl", "none"])
@pytest.mark.parametrize("smooth", ["exp", "floor", "add-k", "none"])
def test_corpus_bleu_matches_sacrebleu(real_pairs, tokenize, smooth):
    hyps, refs = real_pairs
    ours = bleu(hyps, refs, tokenize=tokenize, smooth_method=smooth)
    ref = sacrebleu.corpus_bleu(hyps, _streams(refs), tokenize=tokenize, smooth_method=smooth, force=True)
    assert ours.score == pytest.approx(ref.score, abs=1e-9)
    if smooth != "add-k":  # sacrebleu adds k to its own counts in place
        assert ours.details["counts"] == ref.counts
        assert ours.details["totals"] == ref.totals
    assert ours.details["sys_len"] == ref.sys_len and ours.details["ref_len"] == ref.ref_len


@pytest.mark.samples
@pytest.mark.parametrize("lowercase", [False, True])
def test_corpus_bleu_lowercase_and_orders(single_ref_pairs, lowercase):
    hyps, refs = single_ref_pairs
    for order in (1, 2, 3):
        ours = bleu(hyps, refs, lowercase=lowercase, max_ngram_order=order)
        ref = sacrebleu.metrics.BLEU(lowercase=lowercase, max_ngram_order=order, force=True).corpus_score(
            hyps, _streams(refs)
        )
        assert ours.score == pytest.approx(ref.score, abs=1e-9)


@pytest.mark.samples
def test_sentence_bleu_matches_sacrebleu(real_pairs):
    hyps, refs = real_pairs
    hyps, refs = hyps[:1000], refs[:1000]
    metric = sacrebleu.metrics.BLEU(effective_order=True)
    expected = [metric.sentence_score(h, r).score for h, r in zip(hyps, refs, strict=True)]
    ours = sentence_bleu(hyps, refs)
    np.testing.assert_allclose(ours.item_scores, expected, rtol=0, atol=1e-9)
    assert ours.score == pytest.approx(float(np.mean(expected)), abs=1e-9)


def _nltk_tokens(hyps, refs):
    return [h.split() for h in hyps], [[r.split() for r in g] for g in refs]


@pytest.mark.samples
@pytest.mark.parametrize("method", range(8))
def test_nltk_corpus_bleu(real_pairs, method):
    hyps, refs = real_pairs
    h, r = _nltk_tokens(hyps, refs)
    sf = getattr(nltk_bleu_mod.SmoothingFunction(), f"method{method}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = nltk_bleu_mod.corpus_bleu(r, h, smoothing_function=sf)
    assert nltk_bleu(hyps, refs, smoothing=method).score == pytest.approx(expected, abs=1e-9)


@pytest.mark.samples
@pytest.mark.parametrize("method", [0, 1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("weights", [(0.25, 0.25, 0.25, 0.25), (0.5, 0.5), (0, 0, 0, 1)])
def test_nltk_sentence_bleu(real_pairs, method, weights):
    hyps, refs = real_pairs
    hyps, refs = hyps[:300], refs[:300]
    h, r = _nltk_tokens(hyps, refs)
    sf = getattr(nltk_bleu_mod.SmoothingFunction(), f"method{method}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [
            nltk_bleu_mod.sentence_bleu(rr, hh, weights, smoothing_function=sf) for hh, rr in zip(h, r, strict=True)
        ]
    ours = nltk_sentence_bleu(hyps, refs, smoothing=method, weights=weights)
    np.testing.assert_allclose(ours.item_scores, expected, rtol=0, atol=1e-9)


def test_nltk_auto_reweigh():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = nltk_bleu_mod.sentence_bleu([["a", "b", "c"]], ["a", "b"], auto_reweigh=True)
    assert nltk_sentence_bleu(["a b"], [["a b c"]], auto_reweigh=True).score == pytest.approx(expected, abs=1e-12)


@pytest.mark.samples
def test_coco_bleu(real_pairs):
    from pycocoevalcap.bleu.bleu import Bleu

    hyps, refs = real_pairs
    gts = {i: g for i, g in enumerate(refs)}
    res = {i: [h] for i, h in enumerate(hyps)}
    with contextlib.redirect_stdout(io.StringIO()):
        score, scores = Bleu(4).compute_score(gts, res)
    for n in range(1, 5):
        ours = coco_bleu(hyps, refs, n=n)
        assert ours.score == pytest.approx(score[n - 1], abs=1e-12)
        np.testing.assert_allclose(ours.item_scores, scores[n - 1], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("hyp", "refs"), EDGE)
def test_edge_cases_all_bleus(hyp, refs):
    from pycocoevalcap.bleu.bleu import Bleu

    assert bleu([hyp], [refs]).score == pytest.approx(sacrebleu.corpus_bleu([hyp], [[r] for r in refs]).score, abs=1e-9)
    assert sentence_bleu([hyp], [refs]).score == pytest.approx(
        sacrebleu.metrics.BLEU(effective_order=True).sentence_score(hyp, refs).score, abs=1e-9
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = nltk_bleu_mod.sentence_bleu(
            [r.split() for r in refs], hyp.split(), smoothing_function=nltk_bleu_mod.SmoothingFunction().method1
        )
    assert nltk_sentence_bleu([hyp], [refs], smoothing=1).score == pytest.approx(expected, abs=1e-12)
    if hyp and all(refs):  # pycocoevalcap handles empty strings like any other (0 tokens)
        with contextlib.redirect_stdout(io.StringIO()):
            score, _ = Bleu(4).compute_score({0: refs}, {0: [hyp]})
        assert coco_bleu([hyp], [refs]).score == pytest.approx(score[3], abs=1e-12)


def test_accumulator_equals_functional(real_pairs):
    hyps, refs = real_pairs
    acc = BLEU()
    for i in range(0, len(hyps), 700):
        acc.update(hyps[i : i + 700], refs[i : i + 700])
    whole = bleu(hyps, refs)
    got = acc.compute()
    assert got.score == whole.score
    assert got.signature == whole.signature == "name:bleu|nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:0.1.0"
    assert acc.reset() is acc and len(acc) == 0


def test_signature_like_sacrebleu():
    ours = bleu(["a b"], [["a b"]], smooth_method="floor", lowercase=True)
    sig = sacrebleu.metrics.BLEU(smooth_method="floor", lowercase=True)
    sig.corpus_score(["a b"], [["a b"]])
    theirs = str(sig.get_signature()).rsplit("|", 1)[0]  # drop sacrebleu's version
    assert ours.signature.removeprefix("name:bleu|").rsplit("|", 1)[0] == theirs


@pytest.mark.samples
def test_13a_batch_equals_sacrebleu_tokenizer(real_pairs):
    """The batched 13a tokenizer equals sacrebleu's per-line Tokenizer13a, real text and random punctuation."""
    import random

    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    from mmdial_metrics.tokenize import tokenize_13a_batch

    hyps, refs = real_pairs
    rng = random.Random(0)
    noise = ["".join(rng.choice('ab1,.- &;<>"quotamp9$%/\n') for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    lines = hyps + [r for g in refs for r in g] + noise + ["<skipped>a.b", "x&amp;lt;y", "1.,2", "a..", "-"]
    reference = Tokenizer13a()
    assert tokenize_13a_batch(lines) == [reference(x).split() for x in lines]


# Small data where BLEU-2..4 have no match at some order: unsmoothed nltk returns floor values (1e-155, 1e-231).
FLOOR_HYPS = ["the cat sat on a mat", "hello there friend", "a dog ran away"]
FLOOR_REFS = [["the cat is on the mat"], ["hello my friend"], ["the dog ran off"]]


def _nltk_floor_case(n: int, method: int, level: str) -> list[float]:
    h, r = _nltk_tokens(FLOOR_HYPS, FLOOR_REFS)
    sf = getattr(nltk_bleu_mod.SmoothingFunction(), f"method{method}")
    weights = (1.0 / n,) * n
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if level == "corpus":
            return [nltk_bleu_mod.corpus_bleu(r, h, weights=weights, smoothing_function=sf)]
        return [
            nltk_bleu_mod.sentence_bleu(rr, hh, weights, smoothing_function=sf) for hh, rr in zip(h, r, strict=True)
        ]


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("method", [1, 2, 3, 4, 7])
def test_nltk_smoothed_small_data_exact(n, method):
    """Smoothed nltk BLEU-n on three sentences equals nltk's own function with the same smoothing, exactly."""
    weights = (1.0 / n,) * n
    ours = nltk_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights, smoothing=method)
    assert ours.score == _nltk_floor_case(n, method, "corpus")[0]
    assert f"smooth:method{method}" in ours.signature and "floor:" not in ours.signature
    sent = nltk_sentence_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights, smoothing=method)
    assert sent.item_scores == pytest.approx(_nltk_floor_case(n, method, "sentence"), rel=1e-12, abs=0)


@pytest.mark.parametrize("n", [3, 4])
def test_nltk_unsmoothed_floor_is_zero_with_reason(n):
    """Unsmoothed BLEU-n with no n-gram match is 0 with a reason; floor='nltk' gives nltk's floor value exactly."""
    weights = (1.0 / n,) * n
    expected = _nltk_floor_case(n, 0, "corpus")[0]
    assert 0 < expected < 1e-50  # nltk's floor, the artefact the report showed
    ours = nltk_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights)
    assert ours.score == 0.0
    assert ours.details["zero_matches"] == list(range(3, n + 1))  # bigrams match, trigrams do not
    assert "floor='nltk'" in ours.details["note"]
    assert ours.signature.endswith("|floor:zero|version:0.1.0")
    raw = nltk_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights, floor="nltk")
    assert raw.score == expected
    assert "|floor:nltk|" in raw.signature
    items = _nltk_floor_case(n, 0, "sentence")
    sent = nltk_sentence_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights)
    assert sent.item_scores == [0.0 if x < 1e-50 else pytest.approx(x, rel=1e-12) for x in items]
    assert sent.details["floored_items"] == sum(0 < x < 1e-50 for x in items)
    raw_sent = nltk_sentence_bleu(FLOOR_HYPS, FLOOR_REFS, weights=weights, floor="nltk")
    assert raw_sent.item_scores == pytest.approx(items, rel=1e-12, abs=0)


def test_nltk_floor_option_checked():
    with pytest.raises(ValueError, match="floor"):
        nltk_bleu(["a"], [["a"]], floor="tiny")
