"""Threshold calibration: the vectorized search equals a brute-force loop; captions never see their own image;
the end-to-end calibration runs on tiny models and reports held-out figures."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from mmdial_augment.calibrate import (
    calibrate,
    candidate_cutoffs,
    caption_features,
    rule_scores,
    search_thresholds,
)
from mmdial_augment.captioners import get_captioner
from mmdial_augment.features import FeatureExtractor
from mmdial_augment.nouns import NounExtractor
from mmdial_augment.thresholds import Thresholds
from mmdial_data.testing import FLOAT32_UNIT_ATOL


def brute_force(pos, neg, grid, balanced):
    w = len(pos) / len(neg) if balanced else 1.0
    both = np.concatenate([pos, neg])
    cuts = [candidate_cutoffs(both[:, j], grid) for j in range(3)]
    best = (-1.0, 0)
    for t in itertools.product(*cuts):
        s = rule_scores(Thresholds(*t), pos, neg)
        tp = round(s["recall"] * len(pos))
        fp = round(s["utterances_flagged"] * len(neg))
        f1 = 2 * tp / (2 * tp + w * fp + (len(pos) - tp)) if tp else 0.0
        if (f1, -fp) > best:
            best = (f1, -fp)
    return best


@pytest.mark.parametrize(("seed", "balanced"), [(0, True), (1, True), (2, False)])
def test_search_equals_brute_force(seed, balanced):
    rng = np.random.default_rng(seed)
    pos = rng.normal(0.5, 0.2, (40, 3))
    neg = rng.normal(0.3, 0.2, (60, 3))
    found, f1 = search_thresholds(pos, neg, grid=7, balanced=balanced)
    want_f1, want_neg_fp = brute_force(pos, neg, 7, balanced)
    w = len(pos) / len(neg) if balanced else 1.0
    assert f1 == pytest.approx(want_f1, abs=1e-12)
    fp = int(found.flag(neg[:, 0], neg[:, 1], neg[:, 2]).sum())
    assert -fp == want_neg_fp
    tp = int(found.flag(pos[:, 0], pos[:, 1], pos[:, 2]).sum())
    assert 2 * tp / (2 * tp + w * fp + len(pos) - tp) == pytest.approx(f1, abs=1e-12)
    assert 0.5 < f1 < 1.0  # overlapping classes: a real trade-off, not a degenerate answer


def test_search_needs_positives():
    with pytest.raises(ValueError, match="positive"):
        search_thresholds(np.zeros((0, 3)), np.ones((3, 3)))


def test_captions_are_scored_without_their_own_image(encoder, pool):
    def extractor(p):
        return FeatureExtractor(
            encoder, p, encoder, get_captioner("pool-caption"), NounExtractor(), Thresholds(-1, -1, -1)
        )

    rows, got = caption_features(pool, extractor, folds=len(pool), seed=0)  # leave one out
    assert rows == list(range(len(pool)))
    text = encoder.encode_text(pool.captions).astype(np.float64)
    sims = text @ pool.embeddings.astype(np.float64).T
    for i in rows:
        others = [j for j in range(len(pool)) if j != i]
        assert got[i, 1] == pytest.approx(max(sims[i, j] for j in others), abs=FLOAT32_UNIT_ATOL)
    own_best = sims.max(axis=1)
    assert (got[:, 1] <= own_best + 1e-6).all()
    with pytest.raises(ValueError, match="captioned"):
        caption_features(pool, extractor, folds=len(pool) + 1)


def test_calibrate_end_to_end_on_tiny_models(tmp_path, dialogue, image_dir, encoder, tiny_lm):
    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.pipeline import AugmentPipeline
    from mmdial_data import write_dialogues

    texts = [
        ("Hi.", "My dog chased a red ball.", "The cat slept."),
        ("Hello.", "I like a blue car."),
        ("Hey.", "A green tree and an apple.", "Yes."),
        ("Morning.", "The sky is blue."),
    ]
    path = tmp_path / "in.jsonl"
    write_dialogues([dialogue(f"t/train/{i}", *t) for i, t in enumerate(texts)], path)
    cfg = AugmentConfig.from_dict(
        {
            "inputs": [{"unified": str(path)}],
            "pool": {"path": str(image_dir / "captions.jsonl"), "kind": "captions"},
            "output_dir": str(tmp_path / "run"),
            "encoder": "openclip:mmdial-tiny",
            "sentence_encoder": "openclip:mmdial-tiny",
        }
    )
    res = calibrate(
        cfg,
        test_fraction=0.5,
        folds=3,
        grid=5,
        encoder=encoder,
        sentence_encoder=encoder,
        table_out=tmp_path / "table.parquet",
    )
    assert res.encoder == encoder.encoder_id
    assert set(res.thresholds) == {"max_entity_score", "image_score", "sent_sim"}
    assert res.train["positives"] + res.test["positives"] == 6
    assert res.train["negatives"] + res.test["negatives"] == sum(len(t) - 1 for t in texts)
    assert res.train["f1"] > 0
    assert res.previous["thresholds"] == AugmentPipeline(cfg, encoder=encoder).thresholds.to_dict()
    saved = json.loads(res.save(tmp_path / "cal.json").read_text())
    assert saved["setup"]["folds"] == 3 and saved["test"] == res.test
    # the labeled table feeds fit-classifier directly
    from mmdial_augment.classifier import fit_classifier, read_labels

    X, y = read_labels(tmp_path / "table.parquet")
    assert X.shape == (6 + res.train["negatives"] + res.test["negatives"], 5) and y.sum() == 6
    assert fit_classifier(X, y, kind="logistic_regression").predict_proba(X).min() >= 0.0


def test_resume_key_changes_with_the_encoders_thresholds(tmp_path, monkeypatch):
    from mmdial_augment import thresholds as th
    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.pipeline import AugmentPipeline

    cfg = AugmentConfig.from_dict({"pool": {"path": "p"}, "encoder": "offline", "output_dir": str(tmp_path)})
    before = AugmentPipeline(cfg).fingerprint()
    monkeypatch.setitem(th.ENCODER_THRESHOLDS, "offline", th.Thresholds(0.1, 0.2, 0.3))
    assert AugmentPipeline(cfg).fingerprint() != before
