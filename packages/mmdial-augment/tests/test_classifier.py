"""The JSON-stored classifier reproduces scikit-learn's predict_proba; decision rules and cutoffs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mmdial_augment.classifier import StageOneClassifier, fit_classifier, load_classifier, read_labels
from mmdial_augment.config import CUTOFF_PRESETS, resolve_cutoff
from mmdial_augment.decision import Decision, replacements_per_preset
from mmdial_augment.features import CLASSIFIER_FEATURES


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.uniform(0.1, 0.5, n),
            rng.uniform(0, 60, n),
            rng.uniform(-0.1, 0.8, n),
            rng.uniform(0, 0.6, n),
            rng.integers(0, 2, n),
        ]
    )
    y = ((X[:, 0] + X[:, 2] / 2 + rng.normal(0, 0.08, n)) > 0.45).astype(int)
    return X, y


@pytest.mark.parametrize("kind", ["logistic_regression", "random_forest"])
def test_json_model_reproduces_sklearn(kind, tmp_path):
    X, y = data()
    model = fit_classifier(X, y, kind=kind, seed=0, **({"n_estimators": 15} if kind == "random_forest" else {}))
    ref = (
        RandomForestClassifier(n_estimators=15, random_state=0)
        if kind == "random_forest"
        else LogisticRegression(random_state=0, max_iter=1000)
    ).fit(X, y)
    Xt, _ = data(50, seed=1)
    want = ref.predict_proba(Xt)[:, 1]
    assert model.predict_proba(Xt) == pytest.approx(want, abs=1e-12)
    model.save(tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    assert json.loads(text)["features"] == list(CLASSIFIER_FEATURES)
    assert load_classifier(tmp_path / "m.json").predict_proba(Xt) == pytest.approx(want, abs=1e-12)


def test_bad_classifier_files_are_rejected(tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match="invalid JSON"):
        load_classifier(p)
    p.write_text(json.dumps({"format": "mmdial-augment-classifier/1", "kind": "svm", "features": []}))
    with pytest.raises(ValueError, match="kind"):
        load_classifier(p)
    with pytest.raises(FileNotFoundError):
        load_classifier(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="both 0 and 1"):
        fit_classifier(np.zeros((3, 5)), [1, 1, 1])


def test_decision_rules_and_presets():
    model = StageOneClassifier("logistic_regression", coef=[10, 0, 0, 0, 0], intercept=-3.0)
    X = np.array([[0.1, 0, 0, 0, 0], [0.3, 0, 0, 0, 1], [0.5, 0, 0, 0, 1]], float)
    p = model.predict_proba(X)
    d = Decision("classifier", model, resolve_cutoff(2))
    assert d.decide(np.array([True, False, False]), p).tolist() == (p >= CUTOFF_PRESETS[2]).tolist()
    assert Decision("threshold").decide(np.array([True, False, True]), None).tolist() == [True, False, True]
    counts = replacements_per_preset(p)
    assert [counts[k] for k in sorted(counts)] == sorted(counts[k] for k in counts)  # looser cutoff keeps more
    with pytest.raises(ValueError):
        resolve_cutoff(9)
    with pytest.raises(ValueError):
        Decision("classifier")


def test_fit_classifier_cli_from_labels_joined_with_features(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmdial_data.cli import main

    X, y = data(40)
    feats = {
        "dialogue_id": [f"d/{i}" for i in range(40)],
        "turn_index": [1] * 40,
        **{c: X[:, j].tolist() for j, c in enumerate(CLASSIFIER_FEATURES)},
    }
    pq.write_table(pa.table(feats), tmp_path / "features.parquet")
    (tmp_path / "labels.jsonl").write_text(
        "".join(json.dumps({"dialogue_id": f"d/{i}", "turn_index": 1, "label": int(v)}) + "\n" for i, v in enumerate(y))
    )
    out = tmp_path / "clf.json"
    assert (
        main(
            [
                "augment",
                "fit-classifier",
                str(tmp_path / "labels.jsonl"),
                "--features",
                str(tmp_path / "features.parquet"),
                "--kind",
                "logistic_regression",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    Xr, yr = read_labels(tmp_path / "labels.jsonl", tmp_path / "features.parquet")
    assert np.array_equal(Xr, X) and np.array_equal(yr, y)
    assert load_classifier(out).kind == "logistic_regression"
    (tmp_path / "bad.jsonl").write_text(json.dumps({"dialogue_id": "nope", "turn_index": 1, "label": 1}) + "\n")
    assert (
        main(
            [
                "augment",
                "fit-classifier",
                str(tmp_path / "bad.jsonl"),
                "--features",
                str(tmp_path / "features.parquet"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
