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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.classifier import Tree, forest_trees
from mmdial_augment.features import CLASSIFIER_FEATURES

if TYPE_CHECKING:
    from mmdial_augment.pool import ImagePool
    from mmdial_data import Dialogue
    from mmdial_retrieval.encoder import DualEncoder

#: The marker before the object list in PhotoChat's ``photo_description``.
OBJECTS_MARKER = "Objects in the photo:"
#: Scalar features that need the image encoder and the pool.
IMAGE_FEATURES: tuple[str, ...] = (*CLASSIFIER_FEATURES, "mean_entity_score")
#: Scalar features of the text alone.
TEXT_FEATURES: tuple[str, ...] = ("n_words", "n_nouns", "question")
#: Vector feature groups (MiniLM, 384-d each): text only.
EMBEDDING_GROUPS: tuple[str, ...] = ("sentence_embedding", "noun_embedding")
LABELS: tuple[str, ...] = ("content", "intent")
FORMAT = "mmdial-augment-stage1/1"
MODEL_KINDS = ("logistic_regression", "random_forest")


# ---- labels ------------------------------------------------------------------------------------------------
def photo_objects(description: str | None) -> list[str]:
    """The objects after ``"Objects in the photo:"`` (empty when the marker is absent)."""
    if not description or OBJECTS_MARKER not in description:
        return []
    tail = description.split(OBJECTS_MARKER, 1)[1]
    return [o.strip() for o in tail.split(",") if o.strip()]


def is_share_turn(turn: Any) -> bool:
    """An image turn with no text (PhotoChat's share turn: ``extra["share_photo"]``, or any empty image turn)."""
    extra = turn.annotations.extra or {}
    return bool((extra.get("share_photo") or turn.images) and not turn.text.strip())


class ObjectMatcher:
    """The ``content`` rule of the module docs: does a text name one of the given objects?

    Args:
        nlp: A spaCy pipeline (default: :func:`mmdial_retrieval.entities.load_spacy`, the one of
            ``extract_nouns``).
    """

    def __init__(self, nlp: Any = None) -> None:
        if nlp is None:
            from mmdial_retrieval.entities import load_spacy

            nlp = load_spacy()
        self.nlp = nlp
        self._objects: dict[str, list[set[str]]] = {}

    @staticmethod
    def _tokens(doc: Any) -> list[tuple[set[str], str]]:
        return [({t.lemma_.lower(), t.text.lower()}, t.pos_) for t in doc if not (t.is_punct or t.is_space)]

    def object_keys(self, obj: str) -> list[set[str]]:
        """The object's tokens as key sets (cached)."""
        if obj not in self._objects:
            self._objects[obj] = [keys for keys, _ in self._tokens(self.nlp(obj.lower()))]
        return self._objects[obj]

    def matches(self, text: str, objects: Sequence[str], doc: Any = None) -> list[str]:
        """The objects ``text`` names, in the order given."""
        toks = self._tokens(doc if doc is not None else self.nlp(text.replace("’", "'")))
        found = []
        for obj in objects:
            keys = self.object_keys(obj)
            k = len(keys)
            if not k:
                continue
            for i in range(len(toks) - k + 1):
                window = toks[i : i + k]
                if window[-1][1] in ("NOUN", "PROPN") and all(w[0] & o for w, o in zip(window, keys, strict=True)):
                    found.append(obj)
                    break
        return found


@dataclass(frozen=True)
class LabeledUtterance:
    """One non-empty turn with its two labels and the photo objects it names."""

    dialogue_id: str
    turn_index: int
    speaker: str
    text: str
    intent: int
    content: int
    matched: tuple[str, ...] = ()


def dialogue_objects(dialogue: Dialogue) -> list[str]:
    """Photo objects of a dialogue: from its share turns' captions, else ``meta["photo_description"]``."""
    objects: list[str] = []
    for t in dialogue.turns:
        if is_share_turn(t):
            for ref in t.images:
                objects += [o for o in photo_objects(ref.caption) if o not in objects]
    if not objects:
        meta = dialogue.meta if isinstance(dialogue.meta, Mapping) else {}
        objects = photo_objects(meta.get("photo_description"))
    return objects


def label_dialogues(dialogues: Iterable[Dialogue], matcher: ObjectMatcher | None = None) -> list[LabeledUtterance]:
    """``intent`` and ``content`` labels of every non-empty turn (see the module docs), in turn order."""
    matcher = matcher or ObjectMatcher()
    out: list[LabeledUtterance] = []
    for d in dialogues:
        objects = dialogue_objects(d)
        intent_turns: set[int] = set()
        for pos, t in enumerate(d.turns):
            if not is_share_turn(t):
                continue
            for earlier in reversed(d.turns[:pos]):
                if earlier.text.strip() and earlier.speaker == t.speaker:
                    intent_turns.add(earlier.turn_index)
                    break
        texts = [(t, t.text.strip()) for t in d.turns if t.text.strip()]
        docs = list(matcher.nlp.pipe([s.replace("’", "'") for _, s in texts]))
        for (t, s), doc in zip(texts, docs, strict=True):
            named = matcher.matches(s, objects, doc=doc)
            out.append(
                LabeledUtterance(
                    d.dialogue_id,
                    t.turn_index,
                    t.speaker,
                    s,
                    int(t.turn_index in intent_turns),
                    int(bool(named)),
                    tuple(named),
                )
            )
    return out


# ---- features ----------------------------------------------------------------------------------------------
@dataclass
class FeatureTable:
    """Stage-1 features of ``n`` utterances: scalar ``columns`` and vector ``groups`` (row ``i`` = utterance ``i``)."""

    columns: dict[str, np.ndarray]
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def matrix(self, features: Sequence[str]) -> np.ndarray:
        """The ``(n, d)`` model input: scalar columns and whole vector groups, in the order given."""
        parts = []
        for name in features:
            if name in self.columns:
                parts.append(np.asarray(self.columns[name], np.float64)[:, None])
            elif name in self.groups:
                parts.append(np.asarray(self.groups[name], np.float64))
            else:
                raise KeyError(f"unknown stage-1 feature {name!r}; have {sorted(self.columns) + sorted(self.groups)}")
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(self), 0))

    def take(self, rows: Any) -> FeatureTable:
        """The rows given (indices or a mask)."""
        return FeatureTable({k: v[rows] for k, v in self.columns.items()}, {k: v[rows] for k, v in self.groups.items()})

    def scalars(self, i: int) -> dict[str, float | bool]:
        """Row ``i``'s scalar features as JSON values (``threshold``, ``question`` as booleans)."""
        out: dict[str, float | bool] = {}
        for k, v in self.columns.items():
            x = v[i]
            if k in ("threshold", "question"):
                out[k] = bool(x)
            else:
                out[k] = int(x) if k in ("n_words", "n_nouns") else float(x)
        return out


class _MemoEncoder:
    """Caches ``encode_text`` by text, so the sentence embeddings of ``sent_sim`` are reused as features."""

    def __init__(self, encoder: DualEncoder) -> None:
        self.encoder = encoder
        self.dim = encoder.dim
        self.encoder_id = encoder.encoder_id
        self.memo: dict[str, np.ndarray] = {}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            self.memo.update(zip(new, np.asarray(self.encoder.encode_text(new), np.float32), strict=True))
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.memo[t] for t in texts])


class Stage1Featurizer:
    """Stage-1 features of utterances with one image encoder and pool (see the module docs).

    Args:
        encoder: The image-text encoder of IMAD's features.
        pool: The pool, embedded with ``encoder``.
        sentence_encoder: MiniLM (``get_encoder("sentence")``): ``sent_sim`` and the embedding groups.
        nouns: Callable texts -> noun lemmas (default: the pipeline's ``NounExtractor``).
        thresholds: The rule's thresholds (default: :func:`~mmdial_augment.thresholds.thresholds_for` the encoder).
        captioner: Captions of the top-1 images (default: the pool's captions).
    """

    def __init__(
        self,
        encoder: DualEncoder,
        pool: ImagePool,
        sentence_encoder: DualEncoder,
        *,
        nouns: Callable[[Sequence[str]], list[list[str]]] | None = None,
        thresholds: Any = None,
        captioner: Any = None,
        batch_size: int = 64,
    ) -> None:
        from mmdial_augment.captioners import get_captioner
        from mmdial_augment.features import FeatureExtractor
        from mmdial_augment.nouns import NounExtractor
        from mmdial_augment.thresholds import thresholds_for

        self.encoder = encoder
        self.pool = pool
        self.sentence = _MemoEncoder(sentence_encoder)
        self.thresholds = thresholds or thresholds_for(encoder.encoder_id, encoder.info())
        self.extractor = FeatureExtractor(
            encoder,
            pool,
            self.sentence,  # type: ignore[arg-type]
            captioner or get_captioner("pool-caption"),
            nouns or NounExtractor(),
            self.thresholds,
            batch_size=batch_size,
        )

    def info(self) -> dict[str, Any]:
        """What the features depend on (for a model's metadata)."""
        return {
            "encoder": self.encoder.encoder_id,
            "sentence_encoder": self.sentence.encoder_id,
            "pool": {"source": self.pool.source, "images": len(self.pool)},
            "thresholds": self.thresholds.to_dict(),
        }

    def __call__(self, utterances: Sequence[str]) -> FeatureTable:
        texts = [u.strip() for u in utterances]
        f = self.extractor(texts)
        n = len(texts)
        mean_entity = np.array([float(np.mean(s)) if s else 0.0 for s in f.entity_scores], np.float64)
        sent = self.sentence.encode_text(texts) if n else np.zeros((0, self.sentence.dim), np.float32)
        all_nouns = sorted({x for ns in f.nouns for x in ns})
        noun_vec = dict(zip(all_nouns, self.sentence.encode_text(all_nouns), strict=True)) if all_nouns else {}
        noun_emb = np.zeros((n, self.sentence.dim), np.float64)
        for i, ns in enumerate(f.nouns):
            if ns:
                noun_emb[i] = np.mean([noun_vec[x] for x in ns], axis=0)
        columns = {
            "image_score": f.image_score,
            "bleu": f.bleu,
            "sent_sim": f.sent_sim,
            "max_entity_score": f.max_entity_score,
            "threshold": f.threshold.astype(np.float64),
            "mean_entity_score": mean_entity,
            "n_words": np.array([len(t.split()) for t in texts], np.float64),
            "n_nouns": np.array([len(ns) for ns in f.nouns], np.float64),
            "question": np.array(["?" in t for t in texts], np.float64),
        }
        groups = {"sentence_embedding": np.asarray(sent, np.float64), "noun_embedding": noun_emb}
        return FeatureTable(columns, groups)


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
