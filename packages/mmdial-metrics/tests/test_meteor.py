"""METEOR (nltk variant) against nltk's meteor_score given the same local WordNet reader."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from mmdial_metrics.meteor import LEXNAMES, NLTKMeteor, WordNetUnavailable, lexnames_text, load_wordnet, nltk_meteor


@pytest.fixture(scope="module")
def wordnet():
    try:
        return load_wordnet()
    except WordNetUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"WordNet is required under CI: {exc}")
        pytest.skip(f"{exc}")


def _nltk(hyps, refs, wordnet):
    from nltk.translate.meteor_score import meteor_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            meteor_score([r.split() for r in g], h.split(), wordnet=wordnet) for h, g in zip(hyps, refs, strict=True)
        ]


def test_parity_real_text(real_pairs, wordnet):
    hyps, refs = real_pairs
    expected = _nltk(hyps, refs, wordnet)
    ours = nltk_meteor(hyps, refs, wordnet=wordnet)
    np.testing.assert_allclose(ours.item_scores, expected, rtol=0, atol=1e-12)
    assert ours.score == pytest.approx(float(np.mean(expected)), abs=1e-12)
    # the default reader (Debian's WordNet through load_wordnet) gives the same numbers
    assert nltk_meteor(hyps[:300], refs[:300]).item_scores == ours.item_scores[:300]
    assert sum(0 < e < 1 for e in expected) > 1000  # the pairs exercise partial matches


def test_synonym_and_stem_stages(wordnet):
    hyps = ["the car is fast", "he runs quickly", "the dog barked", "Grüße 世界 👍", "", "a", "x y", "the the the"]
    refs = [
        ["the automobile is fast"],
        ["he running quick"],
        ["a cat meowed", "the domestic dog barked"],
        ["grüße welt 👍"],
        ["something"],
        ["a"],
        [""],
        ["the"],
    ]
    expected = _nltk(hyps, refs, wordnet)
    ours = nltk_meteor(hyps, refs, wordnet=wordnet).item_scores
    assert ours == pytest.approx(expected, abs=1e-12)
    # WordNet synonyms match (sofa ~ couch) where an unrelated word does not; like nltk, synonyms are looked
    # up for the Porter *stems* left after the stem stage, so car ~ automobile ("automobil") does not match
    syn = nltk_meteor(
        ["he will sit on the sofa", "the car is fast"],
        [["he will sit on the couch"], ["the truck is fast"]],
        wordnet=wordnet,
    ).item_scores
    other = nltk_meteor(["he will sit on the zzz"], [["he will sit on the couch"]], wordnet=wordnet).score
    assert syn[0] > other and syn[1] == ours[0]
    assert ours[4] == 0.0 and ours[6] == 0.0


def test_options_and_signature(wordnet):
    from nltk.translate.meteor_score import meteor_score

    m = NLTKMeteor(alpha=0.8, beta=2.0, gamma=0.4, wordnet=wordnet)
    h, r = "the cat sat on a mat today", "a cat was sitting on the mat"
    assert m([h], [[r]]).score == pytest.approx(
        meteor_score([r.split()], h.split(), wordnet=wordnet, alpha=0.8, beta=2.0, gamma=0.4), abs=1e-12
    )
    assert m.signature(1).startswith("name:nltk_meteor|nrefs:1|alpha:0.8|beta:2|gamma:0.4|stem:porter|wordnet:3.0")
    with pytest.raises(ValueError, match="alpha"):
        NLTKMeteor(alpha=2)


def test_missing_wordnet_names_the_package(tmp_path):
    with pytest.raises(WordNetUnavailable, match="apt-get install wordnet-base"):
        load_wordnet(tmp_path)
    with pytest.raises(WordNetUnavailable, match="apt-get install wordnet-base"):
        nltk_meteor(["a"], [["a"]], wordnet=tmp_path)


def test_lexnames_file():
    lines = lexnames_text().splitlines()
    assert len(lines) == len(LEXNAMES) == 45
    assert lines[3] == "03\tnoun.Tops\t1" and lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"
