"""Validation of stage 1 against PhotoChat's human labels: nested cross-validation grouped by dialogue, ROC AUC
with dialogue-bootstrap intervals, baselines, the image ablation, and the fit of the shipped classifiers.

- **Folds** (:func:`group_folds`): dialogues shuffled with the seed and dealt round-robin into ``k`` folds, so
  all utterances of a dialogue are in one fold.
- **Nested CV** (:func:`nested_cv`): for each outer fold, every configuration of :data:`CONFIGS` (model kind,
  regularisation, feature set) is scored by the AUC of its pooled inner out-of-fold predictions on the outer
  training dialogues (inner grouped folds); each *family* (:data:`FAMILIES`: ``classifier`` = all configurations,
  ``no_image`` = text features only, ``image_only`` = IMAD's five image features) takes its best configuration,
  refits it on the outer training dialogues and predicts the held-out fold. Every reported prediction thus
  comes from a model that never saw that dialogue. The F1 cutoff is the best-F1 cutoff of the chosen
  configuration's inner out-of-fold predictions (training dialogues only).
- **Intervals** (:func:`bootstrap_auc`): dialogues resampled with replacement (seeded), the same resamples for
  every system; the 2.5 and 97.5 percentiles.
- **Baselines**: ``random`` (seeded uniform scores), ``n_words``, ``n_nouns`` (``extract_nouns``), the IMAD
  ``threshold`` rule (a 0/1 score).

Example:
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> group_folds(["a", "a", "b", "c"], 2, seed=0).tolist()
    [1, 1, 0, 0]
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmdial_augment.features import CLASSIFIER_FEATURES
from mmdial_augment.stage1 import (
    EMBEDDING_GROUPS,
    IMAGE_FEATURES,
    LABELS,
    TEXT_FEATURES,
    FeatureTable,
    Stage1Model,
    fit_stage1_matrix,
)

#: Feature sets the selection may choose from.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "imad5": CLASSIFIER_FEATURES,
    "image+text": (*IMAGE_FEATURES, *TEXT_FEATURES),
    "image+text+emb": (*IMAGE_FEATURES, *TEXT_FEATURES, *EMBEDDING_GROUPS),
    "text": TEXT_FEATURES,
    "text+emb": (*TEXT_FEATURES, *EMBEDDING_GROUPS),
}
IMAGE_SETS = ("imad5", "image+text", "image+text+emb")


@dataclass(frozen=True)
class Config:
    """One candidate model: kind, feature set, hyper-parameters."""

    kind: str
    feature_set: str
    params: tuple[tuple[str, Any], ...]

    @property
    def name(self) -> str:
        p = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{self.kind}[{self.feature_set}]({p})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "feature_set": self.feature_set, "params": dict(self.params), "name": self.name}


def _configs() -> list[Config]:
    out = []
    for fs in FEATURE_SETS:
        for c in (0.0003, 0.001, 0.003, 0.01, 0.1):
            out.append(Config("logistic_regression", fs, (("C", c),)))
        if fs == "imad5":  # forests elsewhere (slow; on the embedding sets, 777 columns) never won the selection
            for leaf in (5, 20):
                out.append(Config("random_forest", fs, (("min_samples_leaf", leaf), ("n_estimators", 200))))
    return out


#: The configurations the selection searches.
CONFIGS: list[Config] = _configs()
#: Families: which configurations each reported system may choose from.
FAMILIES: dict[str, Callable[[Config], bool]] = {
    "classifier": lambda c: True,
    "no_image": lambda c: c.feature_set not in IMAGE_SETS,
    "image_only": lambda c: c.feature_set == "imad5",
}
BASELINES = ("random", "n_words", "n_nouns", "threshold")


# ---- metrics -----------------------------------------------------------------------------------------------
def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties averaged."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    _, start, counts = np.unique(xs, return_index=True, return_counts=True)
    tied = counts > 1
    if tied.any():
        avg = start + (counts + 1) / 2.0
        for s, c, a in zip(start[tied], counts[tied], avg[tied], strict=True):
            ranks[order[s : s + c]] = a
    return ranks


def roc_auc(y: Any, score: Any) -> float:
    """ROC AUC (Mann-Whitney, ties count one half); NaN when one class is missing."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, np.float64)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if not n1 or not n0:
        return float("nan")
    r = _ranks(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def group_folds(groups: Sequence[Any], k: int, *, seed: int) -> np.ndarray:
    """Fold id per row: the unique groups shuffled with ``seed`` and dealt round-robin into ``k`` folds."""
    uniq = list(dict.fromkeys(groups))
    perm = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = {uniq[j]: i % k for i, j in enumerate(perm)}
    return np.array([fold_of[g] for g in groups], np.int64)


def dialogue_resamples(groups: Sequence[Any], n: int, *, seed: int) -> list[np.ndarray]:
    """``n`` bootstrap resamples of row indices: dialogues drawn with replacement, all their rows each time."""
    uniq = list(dict.fromkeys(groups))
    rows_of: dict[Any, list[int]] = {g: [] for g in uniq}
    for i, g in enumerate(groups):
        rows_of[g].append(i)
    arrays = [np.asarray(rows_of[g]) for g in uniq]
    rng = np.random.default_rng(seed)
    return [np.concatenate([arrays[j] for j in rng.integers(0, len(uniq), len(uniq))]) for _ in range(n)]


def bootstrap_auc(y: Any, score: Any, resamples: Sequence[np.ndarray]) -> tuple[float, float]:
    """The 95% percentile interval of the AUC over the given resamples (resamples with one class are skipped)."""
    y = np.asarray(y)
    s = np.asarray(score, np.float64)
    vals = np.array([roc_auc(y[r], s[r]) for r in resamples])
    vals = vals[np.isfinite(vals)]
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def f1_score(y: Any, pred: Any) -> dict[str, float]:
    """Precision, recall and F1 of 0/1 predictions."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(pred).astype(bool)
    tp = int((y & p).sum())
    prec = tp / max(int(p.sum()), 1)
    rec = tp / max(int(y.sum()), 1)
    return {"precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec) if tp else 0.0}


def best_f1_cutoff(y: Any, score: Any) -> float:
    """The score cutoff (predict ``score >= cutoff``) with the best F1 on ``(y, score)``."""
    y = np.asarray(y).astype(bool)
    s = np.asarray(score, np.float64)
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    last = np.r_[ss[1:] != ss[:-1], True]  # a cutoff keeps every tie
    f1 = np.where(last, 2 * tp / (k + y.sum()), -1.0)
    return float(ss[int(np.argmax(f1))])


# ---- cross-validation --------------------------------------------------------------------------------------
class _Matrices:
    """Input matrices of each feature set (built once)."""

    def __init__(self, table: FeatureTable) -> None:
        self.table = table
        self._m: dict[str, np.ndarray] = {}

    def __getitem__(self, fs: str) -> np.ndarray:
        if fs not in self._m:
            self._m[fs] = self.table.matrix(FEATURE_SETS[fs])
        return self._m[fs]


def _fit_predict(m: _Matrices, cfg: Config, y: np.ndarray, train: np.ndarray, test: np.ndarray, seed: int) -> Any:
    X = m[cfg.feature_set]
    model = fit_stage1_matrix(
        X[train], y[train], FEATURE_SETS[cfg.feature_set], kind=cfg.kind, seed=seed, **dict(cfg.params)
    )
    return model.predict_matrix(X[test]), model


def select(
    m: _Matrices,
    y: np.ndarray,
    groups: np.ndarray,
    rows: np.ndarray,
    *,
    folds: int,
    seed: int,
    configs: Sequence[Config] = CONFIGS,
) -> dict[Config, tuple[float, np.ndarray]]:
    """Inner grouped CV on ``rows``: per configuration, the AUC of its pooled out-of-fold predictions and them."""
    fold = group_folds(groups[rows].tolist(), folds, seed=seed)
    out = {}
    for cfg in configs:
        oof = np.zeros(len(rows))
        for f in range(folds):
            tr, te = rows[fold != f], rows[fold == f]
            oof[fold == f] = _fit_predict(m, cfg, y, tr, te, seed)[0]
        out[cfg] = (roc_auc(y[rows], oof), oof)
    return out


@dataclass
class NestedResult:
    """Out-of-fold predictions per family, with the chosen configuration and F1 cutoff of each outer fold."""

    predictions: dict[str, np.ndarray]
    predicted_positive: dict[str, np.ndarray]
    chosen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def nested_cv(
    table: FeatureTable,
    y: Any,
    groups: Sequence[Any],
    *,
    outer: int = 5,
    inner: int = 4,
    seed: int = 0,
    configs: Sequence[Config] = CONFIGS,
    progress: Callable[[str], None] | None = None,
) -> NestedResult:
    """Nested grouped CV (module docs) of every family of :data:`FAMILIES` (over ``configs``)."""
    configs = list(configs)
    for fam, allowed in FAMILIES.items():
        if not any(allowed(c) for c in configs):
            raise ValueError(f"no configuration for the family {fam!r}")
    y = np.asarray(y).astype(int)
    g = np.asarray(groups)
    m = _Matrices(table)
    ofold = group_folds(g.tolist(), outer, seed=seed)
    preds = {f: np.zeros(len(y)) for f in FAMILIES}
    pos = {f: np.zeros(len(y), bool) for f in FAMILIES}
    chosen: dict[str, list[dict[str, Any]]] = {f: [] for f in FAMILIES}
    for k in range(outer):
        train, test = np.nonzero(ofold != k)[0], np.nonzero(ofold == k)[0]
        scores = select(m, y, g, train, folds=inner, seed=seed + 1 + k, configs=configs)
        for fam, allowed in FAMILIES.items():
            best = max((c for c in configs if allowed(c)), key=lambda c: (scores[c][0], -configs.index(c)))
            cutoff = best_f1_cutoff(y[train], scores[best][1])
            p = _fit_predict(m, best, y, train, test, seed)[0]
            preds[fam][test] = p
            pos[fam][test] = p >= cutoff
            chosen[fam].append({**best.to_dict(), "inner_auc": scores[best][0], "f1_cutoff": cutoff})
        if progress:
            progress(f"outer fold {k + 1}/{outer}: " + ", ".join(f"{f}={chosen[f][-1]['name']}" for f in FAMILIES))
    return NestedResult(preds, pos, chosen)


def fit_final(
    table: FeatureTable,
    y: Any,
    groups: Sequence[Any],
    *,
    folds: int = 5,
    seed: int = 0,
    family: str = "classifier",
    configs: Sequence[Config] = CONFIGS,
) -> tuple[Stage1Model, dict[str, Any]]:
    """Choose a configuration of ``family`` by grouped CV on all the data, refit it on all the data."""
    y = np.asarray(y).astype(int)
    g = np.asarray(groups)
    m = _Matrices(table)
    rows = np.arange(len(y))
    allowed = [c for c in configs if FAMILIES[family](c)]
    scores = select(m, y, g, rows, folds=folds, seed=seed, configs=allowed)
    best = max(allowed, key=lambda c: (scores[c][0], -allowed.index(c)))
    cutoff = best_f1_cutoff(y, scores[best][1])
    X = m[best.feature_set]
    model = fit_stage1_matrix(X, y, FEATURE_SETS[best.feature_set], kind=best.kind, seed=seed, **dict(best.params))
    info = {
        "chosen": best.to_dict(),
        "cv_auc": scores[best][0],
        "f1_cutoff": cutoff,
        "candidates": {c.name: round(scores[c][0], 4) for c in allowed},
    }
    return model, info


# ---- the whole validation ----------------------------------------------------------------------------------
def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the working directory (None outside a checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def evaluate(
    table: FeatureTable,
    labels: dict[str, np.ndarray],
    groups: Sequence[Any],
    *,
    outer: int = 5,
    inner: int = 4,
    n_boot: int = 1000,
    seed: int = 0,
    configs: Sequence[Config] = CONFIGS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Nested CV + baselines + intervals for each label: the figures of the validation table."""
    resamples = dialogue_resamples(list(groups), n_boot, seed=seed)
    rng = np.random.default_rng(seed)
    baselines = {
        "random": rng.random(len(table)),
        "n_words": table.columns["n_words"],
        "n_nouns": table.columns["n_nouns"],
        "threshold": table.columns["threshold"],
    }
    out: dict[str, Any] = {}
    for label, y in labels.items():
        y = np.asarray(y).astype(int)
        t0 = time.perf_counter()
        res = nested_cv(table, y, groups, outer=outer, inner=inner, seed=seed, configs=configs, progress=progress)
        systems: dict[str, Any] = {}
        for name, score in {**res.predictions, **baselines}.items():
            lo, hi = bootstrap_auc(y, score, resamples)
            systems[name] = {"auc": roc_auc(y, score), "ci95": [lo, hi]}
        for fam in FAMILIES:
            systems[fam]["chosen"] = res.chosen[fam]
            systems[fam].update({f"oof_{k}": v for k, v in f1_score(y, res.predicted_positive[fam]).items()})
        systems["threshold"].update({f"rule_{k}": v for k, v in f1_score(y, baselines["threshold"]).items()})
        base_rate = float(y.mean())
        best_baseline = max(("n_words", "n_nouns", "threshold"), key=lambda b: systems[b]["auc"])
        out[label] = {
            "n_utterances": len(y),
            "n_positive": int(y.sum()),
            "base_rate": base_rate,
            "all_positive_f1": 2 * base_rate / (1 + base_rate),
            "systems": systems,
            "best_baseline": best_baseline,
            "margin_over_best_baseline": systems["classifier"]["auc"] - systems[best_baseline]["auc"],
            "seconds": time.perf_counter() - t0,
        }
    return out


def format_table(result: dict[str, Any]) -> str:
    """The plain-text table: AUC [95% CI] per system and label, then the intent F1 line."""
    labels = [lab for lab in LABELS if lab in result["labels"]]
    rows = [
        ("classifier", "stage-1 classifier (all features, nested CV)"),
        ("image_only", "ablation: IMAD's 5 image features only"),
        ("no_image", "ablation: without image features (text only)"),
        ("threshold", "baseline: IMAD threshold rule"),
        ("n_nouns", "baseline: noun count (extract_nouns)"),
        ("n_words", "baseline: utterance length (words)"),
        ("random", "baseline: random scores"),
    ]
    head = f"{'system':<48}" + "".join(f"{lab + ' AUC [95% CI]':>26}" for lab in labels)
    lines = [head, "-" * len(head)]
    for key, title in rows:
        cells = []
        for lab in labels:
            s = result["labels"][lab]["systems"][key]
            cells.append(f"{s['auc']:.3f} [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]")
        lines.append(f"{title:<48}" + "".join(f"{c:>26}" for c in cells))
    for lab in labels:
        r = result["labels"][lab]
        c = r["systems"]["classifier"]
        lines.append(
            f"{lab}: {r['n_positive']}/{r['n_utterances']} positive (base rate {r['base_rate']:.3f}); classifier F1 "
            f"{c['oof_f1']:.3f} (P {c['oof_precision']:.3f}, R {c['oof_recall']:.3f}; cutoff from training folds); "
            f"all-positive F1 {r['all_positive_f1']:.3f}; best baseline {r['best_baseline']}, margin "
            f"{r['margin_over_best_baseline']:+.3f}"
        )
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """CPU count and git commit for the JSON line."""
    return {"cpu_count": os.cpu_count(), "git_commit": git_commit()}
