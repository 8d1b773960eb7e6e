"""The stage-1 classifier (logistic regression or random forest), trained with scikit-learn and stored as
plain JSON parameters: loading a downloaded model never runs code (no pickle/joblib), and prediction is
pure numpy that reproduces scikit-learn's ``predict_proba``.

Example:
    >>> X = [[0.2, 1.0, 0.1, 0.3, 0], [0.4, 30.0, 0.5, 0.5, 1], [0.3, 5.0, 0.2, 0.2, 0], [0.5, 40.0, 0.6, 0.6, 1]]
    >>> model = fit_classifier(X, [0, 1, 0, 1], kind="logistic_regression", seed=0)  # doctest: +SKIP
    >>> model.predict_proba(X).round(2).tolist()  # doctest: +SKIP
    [0.04, 0.98, 0.06, 0.99]
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_augment.features import CLASSIFIER_FEATURES

FORMAT = "mmdial-augment-classifier/1"
KINDS = ("logistic_regression", "random_forest")


@dataclass
class Tree:
    """One fitted decision tree: node arrays as in ``sklearn.tree._tree.Tree`` (leaf: ``left == -1``)."""

    left: list[int]
    right: list[int]
    feature: list[int]
    threshold: list[float]
    proba: list[float]  # P(class 1) at each node

    def predict(self, X: np.ndarray) -> np.ndarray:
        left, right = np.asarray(self.left), np.asarray(self.right)
        feature, thr, proba = np.asarray(self.feature), np.asarray(self.threshold), np.asarray(self.proba)
        node = np.zeros(X.shape[0], np.int64)
        active = left[node] != -1
        while active.any():
            idx = np.nonzero(active)[0]
            n = node[idx]
            go_left = X[idx, feature[n]] <= thr[n]
            node[idx] = np.where(go_left, left[n], right[n])
            active = left[node] != -1
        return proba[node]


@dataclass
class StageOneClassifier:
    """A fitted classifier over :data:`CLASSIFIER_FEATURES`; ``predict_proba`` returns P(replaceable)."""

    kind: str
    features: tuple[str, ...] = CLASSIFIER_FEATURES
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    trees: list[Tree] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of the positive class, shape ``(n,)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"expected an (n, {len(self.features)}) matrix of {list(self.features)}, got {X.shape}")
        if self.kind == "logistic_regression":
            z = X @ np.asarray(self.coef, dtype=np.float64) + self.intercept
            return 1.0 / (1.0 + np.exp(-z))
        if self.kind == "random_forest":
            X32 = X.astype(np.float32).astype(np.float64)  # scikit-learn trees compare float32 inputs
            return np.mean([t.predict(X32) for t in self.trees], axis=0)
        raise ValueError(f"unknown classifier kind {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON document."""
        d: dict[str, Any] = {"format": FORMAT, "kind": self.kind, "features": list(self.features), "meta": self.meta}
        if self.kind == "logistic_regression":
            d.update(coef=self.coef, intercept=self.intercept)
        else:
            d["trees"] = [t.__dict__ for t in self.trees]
        return d

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON file (atomically)."""
        from mmdial_augment.io_utils import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict()))

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "classifier") -> StageOneClassifier:
        """Validate and build from the JSON document."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"{where}: not an mmdial-augment classifier (format must be {FORMAT!r})")
        kind = d.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
        features = tuple(d.get("features") or ())
        if features != CLASSIFIER_FEATURES:
            raise ValueError(f"{where}: features must be {list(CLASSIFIER_FEATURES)}, got {list(features)}")
        if kind == "logistic_regression":
            coef = [float(x) for x in d["coef"]]
            if len(coef) != len(features) or not all(math.isfinite(x) for x in coef):
                raise ValueError(f"{where}: coef must be {len(features)} finite numbers")
            return cls(kind, features, coef=coef, intercept=float(d["intercept"]), meta=d.get("meta") or {})
        trees = [Tree(**{k: t[k] for k in ("left", "right", "feature", "threshold", "proba")}) for t in d["trees"]]
        if not trees:
            raise ValueError(f"{where}: a random forest needs at least one tree")
        return cls(kind, features, trees=trees, meta=d.get("meta") or {})


def load_classifier(path: str | os.PathLike[str]) -> StageOneClassifier:
    """Read a classifier JSON file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Not a valid classifier document (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such classifier file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: invalid JSON: {exc}") from exc
    try:
        return StageOneClassifier.from_dict(data, where=str(path))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: malformed classifier: {exc}") from exc


def forest_trees(forest: Any) -> list[Tree]:
    """The trees of a fitted scikit-learn ``RandomForestClassifier`` as :class:`Tree` records (P(class 1) per node)."""
    pos = list(forest.classes_).index(1)
    trees = []
    for est in forest.estimators_:
        t = est.tree_
        value = t.value[:, 0, :]
        proba = value[:, pos] / np.maximum(value.sum(axis=1), 1e-300)
        trees.append(
            Tree(
                t.children_left.tolist(),
                t.children_right.tolist(),
                t.feature.tolist(),
                t.threshold.tolist(),
                proba.tolist(),
            )
        )
    return trees


def fit_classifier(X: Any, y: Any, *, kind: str = "random_forest", seed: int = 0, **params: Any) -> StageOneClassifier:
    """Fit on features ``X`` ``(n, 5)`` and 0/1 labels ``y`` with scikit-learn, keep only the parameters.

    Args:
        kind: ``logistic_regression`` or ``random_forest``.
        seed: ``random_state``.
        **params: Passed to the scikit-learn estimator (``n_estimators``, ``max_depth``, ``C`` ...).
    """
    try:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:
        raise ImportError('scikit-learn is needed to fit: pip install "mmdial-augment[classifier]"') from exc
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if X.ndim != 2 or X.shape[1] != len(CLASSIFIER_FEATURES):
        raise ValueError(f"X must be (n, {len(CLASSIFIER_FEATURES)}), got {X.shape}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"labels must contain both 0 and 1, got {sorted(set(np.unique(y).tolist()))}")
    meta = {"n_samples": len(y), "n_positive": int(y.sum()), "seed": seed, "params": params}
    if kind == "logistic_regression":
        lr = LogisticRegression(random_state=seed, max_iter=params.pop("max_iter", 1000), **params).fit(X, y)
        return StageOneClassifier(kind, coef=lr.coef_[0].tolist(), intercept=float(lr.intercept_[0]), meta=meta)
    if kind == "random_forest":
        rf = RandomForestClassifier(random_state=seed, **{"n_estimators": 100, **params}).fit(X, y)
        trees = forest_trees(rf)
        return StageOneClassifier(kind, trees=trees, meta=meta)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def read_labels(
    path: str | os.PathLike[str], features: str | os.PathLike[str] | None = None, label_column: str = "label"
) -> tuple[np.ndarray, np.ndarray]:
    """Read labeled utterances: a Parquet/CSV/JSONL table with the five feature columns and ``label``, or
    (with ``features``, a run's ``features.parquet``) just ``dialogue_id``, ``turn_index`` and ``label``.

    Raises:
        ValueError: Missing columns or unmatched rows (names the file and the row).
    """
    labels = _read_table(path)
    if label_column not in labels:
        raise ValueError(f"{path}: no {label_column!r} column (columns: {sorted(labels)})")
    if features is not None:
        feats = _read_table(features)
        index = {(d, int(t)): i for i, (d, t) in enumerate(zip(feats["dialogue_id"], feats["turn_index"], strict=True))}
        rows = []
        for n, (d, t) in enumerate(zip(labels["dialogue_id"], labels["turn_index"], strict=True)):
            key = (d, int(t))
            if key not in index:
                raise ValueError(f"{path}: row {n}: utterance {key} is not in {features}")
            rows.append(index[key])
        X = np.column_stack([np.asarray(feats[c], dtype=np.float64)[rows] for c in CLASSIFIER_FEATURES])
    else:
        missing = [c for c in CLASSIFIER_FEATURES if c not in labels]
        if missing:
            raise ValueError(f"{path}: missing feature columns {missing}; pass the run's features.parquet")
        X = np.column_stack([np.asarray(labels[c], dtype=np.float64) for c in CLASSIFIER_FEATURES])
    y = np.asarray(labels[label_column]).astype(np.float64)
    if np.isnan(y).any() or not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError(f"{path}: labels must be 0/1 (true/false)")
    return X, y.astype(int)


def _read_table(path: str | os.PathLike[str]) -> dict[str, list[Any]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pydict()
    if suffix == ".csv":
        import pyarrow.csv as pacsv

        return pacsv.read_csv(path).to_pydict()
    if suffix in (".jsonl", ".json"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return {k: [r.get(k) for r in rows] for k in keys}
    raise ValueError(f"{path}: labels must be .parquet, .csv or .jsonl")
