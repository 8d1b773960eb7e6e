"""Stage 1 as a scorer: human labels from PhotoChat, the stage-1 feature table, and a JSON-stored model.

**Labels** (:func:`label_dialogues`), for every non-empty turn of a dialogue with photo-share turns (an image turn
with empty text, ``annotations.extra["share_photo"]`` in the ``photochat`` reader):

- ``intent = 1`` for the sharer's last non-empty turn before a share turn (PhotoChat's photo-sharing intent
  task: the speaker of the share turn, the nearest earlier non-empty turn by that speaker), else ``0``;
- ``content = 1`` when the utterance names an object of the photo, else ``0``. The objects are the
  comma-separated list after ``"Objects in the photo:"`` in the photo description (the share turn's
  ``ImageRef.caption``, else ``meta["photo_description"]``). The rule (:class:`ObjectMatcher`): both sides are
  run through the spaCy pipeline of :func:`mmdial_retrieval.extract_nouns` (the object lower-cased), punctuation
  and spaces dropped; a token's *keys* are its lower-cased lemma and its lower-cased text. An object of ``k``
  tokens is named when ``k`` consecutive utterance tokens each share a key with the object's token at the same
  position, and the last of them is tagged ``NOUN`` or ``PROPN`` (so the verb in "do you drink?" does not
  name ``Drink``). Multi-word objects
  ("Ice cream", "Coffee cup") need the whole phrase, "ice-cream" included (the hyphen is punctuation).

**Features** (:class:`Stage1Featurizer`): IMAD's five (:data:`~mmdial_augment.features.CLASSIFIER_FEATURES`,
from the image encoder and pool) plus ``mean_entity_score`` (mean over the utterance's nouns, 0 without), the
text features ``n_words``, ``n_nouns``, ``question`` (contains ``?``), and two 384-d MiniLM groups:
``sentence_embedding`` (the utterance) and ``noun_embedding`` (the mean of its nouns' embeddings, 0 without).

**Model** (:class:`Stage1Model`): logistic regression on standardized columns, or a random forest (the trees of
:class:`~mmdial_augment.classifier.Tree`), stored as JSON (no pickle); ``predict_proba`` is numpy.

Example:
    >>> from mmdial_data import Dialogue, ImageRef, Turn
    >>> d = Dialogue("x/test/1", "photochat", "test", [
    ...     Turn(0, "0", "speaker_a", "I baked a cake"),
    ...     Turn(1, "1", "speaker_b", "Show me!"),
    ...     Turn(2, "0", "speaker_a", "", images=[ImageRef("p", "u", "photochat",
    ...          caption="The photo has a cake. Objects in the photo: Cake, Table")]),
    ... ])
    >>> [(u.turn_index, u.intent, u.content) for u in label_dialogues([d])]  # doctest: +SKIP
    [(0, 1, 1), (1, 0, 0)]
    >>> photo_objects("The photo has a man. Objects in the photo: Clothing, Ice cream")
    ['Clothing', 'Ice cream']
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_augment.classifier import Tree, forest_trees
from mmdial_augment.stage1_features import EMBEDDING_GROUPS as EMBEDDING_GROUPS
from mmdial_augment.stage1_features import IMAGE_FEATURES as IMAGE_FEATURES
from mmdial_augment.stage1_features import TEXT_FEATURES as TEXT_FEATURES
from mmdial_augment.stage1_features import FeatureTable as FeatureTable
from mmdial_augment.stage1_features import Stage1Featurizer as Stage1Featurizer
from mmdial_augment.stage1_labels import OBJECTS_MARKER as OBJECTS_MARKER
from mmdial_augment.stage1_labels import LabeledUtterance as LabeledUtterance
from mmdial_augment.stage1_labels import ObjectMatcher as ObjectMatcher
from mmdial_augment.stage1_labels import dialogue_objects as dialogue_objects
from mmdial_augment.stage1_labels import is_share_turn as is_share_turn
from mmdial_augment.stage1_labels import label_dialogues as label_dialogues
from mmdial_augment.stage1_labels import photo_objects as photo_objects

LABELS: tuple[str, ...] = ("content", "intent")
FORMAT = "mmdial-augment-stage1/1"
MODEL_KINDS = ("logistic_regression", "random_forest")


# ---- the model ---------------------------------------------------------------------------------------------
@dataclass
class Stage1Model:
    """A fitted stage-1 scorer over named features (scalar columns and vector groups of a :class:`FeatureTable`)."""

    kind: str
    features: tuple[str, ...]
    dim: int
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    coef: list[float] = field(default_factory=list)
    intercept: float = 0.0
    trees: list[Tree] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def predict_matrix(self, X: Any) -> np.ndarray:
        """P(label = 1) of an ``(n, dim)`` input matrix."""
        X = np.asarray(X, np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"expected an (n, {self.dim}) matrix of {list(self.features)}, got {X.shape}")
        if self.kind == "logistic_regression":
            z = ((X - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef) + self.intercept
            return np.asarray(1.0 / (1.0 + np.exp(-z)))
        X32 = X.astype(np.float32).astype(np.float64)  # scikit-learn trees compare float32 inputs
        return np.asarray(np.mean([t.predict(X32) for t in self.trees], axis=0))

    def predict_proba(self, table: FeatureTable) -> np.ndarray:
        """P(label = 1) of each utterance of ``table``."""
        return self.predict_matrix(table.matrix(self.features))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"format": FORMAT, "kind": self.kind, "features": list(self.features), "dim": self.dim}
        if self.kind == "logistic_regression":
            d.update(mean=self.mean, scale=self.scale, coef=self.coef, intercept=self.intercept)
        else:
            d["trees"] = [t.__dict__ for t in self.trees]
        d["meta"] = self.meta
        return d

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON file atomically."""
        from mmdial_augment.io_utils import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def from_dict(cls, d: Any, where: str = "stage-1 model") -> Stage1Model:
        """Validate and build from the JSON document (raises ValueError naming ``where``)."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError(f"{where}: not a stage-1 model (format must be {FORMAT!r})")
        kind = d.get("kind")
        if kind not in MODEL_KINDS:
            raise ValueError(f"{where}: kind must be one of {MODEL_KINDS}, got {kind!r}")
        try:
            features, dim, meta = tuple(str(f) for f in d["features"]), int(d["dim"]), dict(d.get("meta") or {})
            known = set(IMAGE_FEATURES) | set(TEXT_FEATURES) | set(EMBEDDING_GROUPS)
            if not features or set(features) - known:
                raise ValueError(f"unknown features {sorted(set(features) - known)}")
            if kind == "logistic_regression":
                vals = {k: [float(x) for x in d[k]] for k in ("mean", "scale", "coef")}
                if any(len(v) != dim or not all(math.isfinite(x) for x in v) for v in vals.values()):
                    raise ValueError(f"mean, scale and coef must be {dim} finite numbers")
                if not all(x > 0 for x in vals["scale"]):
                    raise ValueError("scale must be positive")
                return cls(
                    kind,
                    features,
                    dim,
                    mean=vals["mean"],
                    scale=vals["scale"],
                    coef=vals["coef"],
                    intercept=float(d["intercept"]),
                    meta=meta,
                )
            keys = ("left", "right", "feature", "threshold", "proba")
            trees = [Tree(**{k: list(t[k]) for k in keys}) for t in d["trees"]]
            if not trees or any(max(t.feature) >= dim for t in trees):
                raise ValueError("a random forest needs trees over the model's columns")
            return cls(kind, features, dim, trees=trees, meta=meta)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: malformed stage-1 model: {exc}") from exc


def load_stage1_model(path: str | os.PathLike[str]) -> Stage1Model:
    """Read a stage-1 model JSON file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Unreadable, not JSON, or not a valid model (the message starts with the path).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such classifier file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
    return Stage1Model.from_dict(data, where=str(path))


def fit_stage1_model(
    table: FeatureTable, y: Any, features: Sequence[str], *, kind: str, seed: int = 0, **params: Any
) -> Stage1Model:
    """Fit with scikit-learn and keep the parameters: ``logistic_regression`` (``C``; columns standardized on
    this data) or ``random_forest`` (``max_depth``, ``min_samples_leaf``, ``n_estimators``)."""
    return fit_stage1_matrix(table.matrix(features), y, tuple(features), kind=kind, seed=seed, **params)


def fit_stage1_matrix(
    X: Any, y: Any, features: tuple[str, ...], *, kind: str, seed: int = 0, **params: Any
) -> Stage1Model:
    """:func:`fit_stage1_model` on an already-built input matrix."""
    try:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:  # pragma: no cover
        raise ImportError('scikit-learn is needed to fit: pip install "mmdial-augment[classifier]"') from exc
    X = np.asarray(X, np.float64)
    y = np.asarray(y).astype(int)
    meta: dict[str, Any] = {"n_samples": len(y), "n_positive": int(y.sum()), "seed": seed, "params": dict(params)}
    if kind == "logistic_regression":
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        lr = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=2000, random_state=seed)
        lr.fit((X - mean) / scale, y)
        return Stage1Model(
            kind,
            features,
            X.shape[1],
            mean.tolist(),
            scale.tolist(),
            lr.coef_[0].tolist(),
            float(lr.intercept_[0]),
            meta=meta,
        )
    if kind == "random_forest":
        rf = RandomForestClassifier(random_state=seed, n_jobs=1, **{"n_estimators": 100, **params}).fit(X, y)
        trees = forest_trees(rf)
        return Stage1Model(kind, features, X.shape[1], trees=trees, meta=meta)
    raise ValueError(f"kind must be one of {MODEL_KINDS}, got {kind!r}")


def shipped_model_path(label: str = "content") -> Path:
    """The classifier shipped in the package for ``label`` (``data/stage1_photochat[_intent].json``)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, got {label!r}")
    name = "stage1_photochat.json" if label == "content" else "stage1_photochat_intent.json"
    return Path(__file__).parent / "data" / name
