"""Calibrate the threshold rule for an encoder without labeled utterances (``mmdial augment calibrate``).

IMAD's thresholds (``max_entity_score > 0.3103``, ``image_score > 0.3327``, ``sent_sim > 0.1212``) were set on
CLIP ViT-B/32's score scale; another encoder (the offline ConSE encoder) scores on another scale, and there are
no human labels offline. The procedure here is a stated proxy, reproducible from one config and seed:

- **Positives**: the pool's own captions, i.e. text that an image of the pool can replace. Each caption is
  scored against the pool **without its own image** (K-fold: the captions of fold k against the images of the
  other folds), so a caption cannot find itself and ``sent_sim`` cannot be 1 by construction.
- **Mostly negatives**: the candidate utterances of the config's dialogues (every turn with context), scored
  against the whole pool exactly as a run scores them. Some of them could in truth be replaced by an image;
  they are counted as negatives, so precision is a lower bound.
- **Split**: a seeded split (``test_fraction``): captions by image, utterances by dialogue.
- **Search**: every combination of per-feature cutoffs from the train values' quantiles (``grid`` per feature;
  all three stay constraints, as in IMAD), keeping the one with the best class-balanced F1 on the train split
  (negatives weighted so both classes weigh the same; ties: the fewest flagged train utterances); precision,
  recall, F1 and the share of flagged dialogue utterances are reported on the test split, beside the same
  figures for the thresholds in use before.

Example:
    >>> import numpy as np
    >>> pos = np.array([[0.6, 0.5, 0.4], [0.7, 0.6, 0.5], [0.5, 0.4, 0.2]])
    >>> neg = np.array([[0.1, 0.5, 0.4], [0.6, 0.1, 0.1], [0.2, 0.2, 0.1]])
    >>> best, f1 = search_thresholds(pos, neg, grid=8)
    >>> f1, best.flag(pos[:, 0], pos[:, 1], pos[:, 2]).tolist(), best.flag(neg[:, 0], neg[:, 1], neg[:, 2]).tolist()
    (1.0, [True, True, True], [False, False, False])
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_augment.thresholds import Thresholds

if TYPE_CHECKING:
    from collections.abc import Callable

    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.features import Stage1Features
    from mmdial_augment.pool import ImagePool


def rule_matrix(features: Stage1Features) -> np.ndarray:
    """``(n, 4)`` columns ``max_entity_score, image_score, sent_sim`` (the rule's inputs, in ``Thresholds`` order)
    and ``bleu`` (for the classifier table)."""
    return np.column_stack([features.max_entity_score, features.image_score, features.sent_sim, features.bleu]).astype(
        np.float64
    )


def candidate_cutoffs(values: np.ndarray, grid: int) -> np.ndarray:
    """Cutoffs for one feature: ``grid`` quantiles of ``values`` (unique). The lowest is the minimum itself, so
    every feature stays a constraint as in IMAD's rule (``max_entity_score > 0`` at least: an utterance without
    a noun is never replaced).

    >>> candidate_cutoffs(np.array([0.0, 1.0, 2.0, 3.0]), 3).tolist()
    [0.0, 1.5, 3.0]
    """
    qs = np.quantile(values, np.linspace(0.0, 1.0, grid)) if len(values) else np.zeros(0)
    return np.unique(qs)


def search_thresholds(
    pos: np.ndarray, neg: np.ndarray, *, grid: int = 40, balanced: bool = True
) -> tuple[Thresholds, float]:
    """The cutoffs (strict ``>``, as the rule) with the best F1 of ``pos`` against ``neg`` (rows: the three rule
    features), over the product of :func:`candidate_cutoffs` per feature; ties go to fewer flagged negatives,
    then to the first combination. Vectorized: one ``(C, n) @ (n, C)`` product per cutoff of the first feature.

    F1 depends on how many positives there are per negative, which here is an accident of the pool and sample
    sizes; ``balanced`` (default) weighs each negative by ``len(pos) / len(neg)`` so both classes weigh the same.

    Returns:
        The thresholds and their (balanced) F1.
    """
    if not len(pos):
        raise ValueError("calibration needs at least one positive")
    pos, neg = pos[:, :3], neg[:, :3]
    both = np.concatenate([pos, neg])
    cuts = [candidate_cutoffs(both[:, j], grid) for j in range(3)]
    above = [(both[:, j][:, None] > cuts[j][None, :]).astype(np.float64) for j in range(3)]  # (n, C_j)
    is_pos = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    w_neg = len(pos) / len(neg) if balanced and len(neg) else 1.0
    best: tuple[float, float, tuple[int, int, int]] | None = None
    for a in range(len(cuts[0])):
        gate = above[0][:, a]
        tp = (above[1] * (gate * is_pos)[:, None]).T @ above[2]  # (C1, C2)
        fp = (above[1] * (gate * (1 - is_pos))[:, None]).T @ above[2]
        f1 = np.where(tp > 0, 2 * tp / (tp + w_neg * fp + len(pos)), 0.0)  # 2TP / (2TP + wFP + FN), FN = P - TP
        key = f1 - 1e-9 * fp / max(len(neg), 1)
        b, c = np.unravel_index(int(np.argmax(key)), key.shape)
        cand = (float(f1[b, c]), -float(fp[b, c]), (a, int(b), int(c)))
        if best is None or cand[:2] > best[:2]:
            best = cand
    assert best is not None
    a, b, c = best[2]
    return Thresholds(float(cuts[0][a]), float(cuts[1][b]), float(cuts[2][c])), best[0]


def rule_scores(thresholds: Thresholds, pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1 of the rule (positives vs negatives) and the share of negatives it flags."""
    fp_flags = thresholds.flag(neg[:, 0], neg[:, 1], neg[:, 2]) if len(neg) else np.zeros(0, bool)
    tp = int(thresholds.flag(pos[:, 0], pos[:, 1], pos[:, 2]).sum())
    fp = int(fp_flags.sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(pos) if len(pos) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "positives": len(pos),
        "negatives": len(neg),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "utterances_flagged": round(fp / len(neg), 4) if len(neg) else 0.0,
    }


@dataclass
class CalibrationResult:
    """Calibrated thresholds with train/test figures and everything needed to reproduce them."""

    encoder: str
    pool: str
    thresholds: dict[str, float]
    train: dict[str, float]
    test: dict[str, float]
    previous: dict[str, Any]
    setup: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able mapping."""
        return asdict(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write as JSON (atomic)."""
        from mmdial_augment.io_utils import atomic_write_text

        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2))
        return path


def _split(groups: list[str], test_fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask: whole groups go to the test side with probability ``test_fraction`` (seeded)."""
    uniq = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(uniq))
    n_test = round(test_fraction * len(uniq))
    test = {uniq[i] for i in order[:n_test]}
    return np.array([g in test for g in groups], dtype=bool)


def caption_features(
    pool: ImagePool, extractor: Callable[[ImagePool], Any], *, folds: int = 5, seed: int = 0, progress: bool = False
) -> tuple[list[int], np.ndarray]:
    """Rule features of the pool's captions, each scored against the pool without its own image: captioned rows
    are dealt into ``folds`` seeded folds, and fold k's captions are scored against every other row.

    Args:
        pool: The embedded pool.
        extractor: ``pool -> FeatureExtractor`` (one per fold).

    Returns:
        The captioned pool rows and their ``(n, 4)`` :func:`rule_matrix`.
    """
    from tqdm.auto import tqdm

    rows = [i for i in range(len(pool)) if pool.caption(i).strip()]
    if len(rows) < folds:
        raise ValueError(
            f"calibration needs captioned pool images: {len(rows)} of {len(pool)} have a caption, "
            f"fewer than {folds} folds"
        )
    fold_of = np.random.default_rng(seed).permutation(len(rows)) % folds
    out = np.zeros((len(rows), 4))
    for k in tqdm(range(folds), desc="captions (leave fold out)", disable=not progress):
        inside = [r for r, f in zip(rows, fold_of, strict=True) if f == k]
        held = set(inside)
        rest = pool.subset([r for r in range(len(pool)) if r not in held])
        out[fold_of == k] = rule_matrix(extractor(rest)([pool.caption(r) for r in inside]))
    return rows, out


def _write_table(
    path: str | os.PathLike[str],
    found: Thresholds,
    pos: np.ndarray,
    neg: np.ndarray,
    pos_test: np.ndarray,
    neg_test: np.ndarray,
    texts: list[str],
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mmdial_augment.io_utils import atomic_write

    m = np.concatenate([pos, neg])
    table = pa.table(
        {
            "image_score": m[:, 1],
            "bleu": m[:, 3],
            "sent_sim": m[:, 2],
            "max_entity_score": m[:, 0],
            "threshold": found.flag(m[:, 0], m[:, 1], m[:, 2]),
            "label": np.r_[np.ones(len(pos), np.int64), np.zeros(len(neg), np.int64)],
            "split": np.where(np.concatenate([pos_test, neg_test]), "test", "train"),
            "text": texts,
        }
    )
    atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp))


def calibrate(
    config: AugmentConfig,
    *,
    test_fraction: float = 0.3,
    folds: int = 5,
    grid: int = 40,
    previous: Thresholds | None = None,
    table_out: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **components: Any,
) -> CalibrationResult:
    """Calibrate the threshold rule for ``config.encoder`` on ``config.pool`` (see the module docs).

    Args:
        config: A run config: its inputs give the dialogue utterances, its pool the images and captions, its
            encoders/captioner the features (``config.thresholds`` is ignored).
        test_fraction: Share of images and of dialogues held out.
        folds: Folds of the pool for scoring captions without their own image.
        grid: Quantile cutoffs per feature.
        previous: Thresholds to compare with (default: those a run would use for this encoder).
        table_out: Also write the labeled table (Parquet: the five classifier features with ``threshold`` under
            the calibrated values, ``label`` 1 for captions / 0 for utterances, ``split``, ``text``); it is the
            input of ``mmdial augment fit-classifier`` (proxy labels, see the module docs).
        progress: Progress bars.
        **components: Prebuilt components, as for :class:`~mmdial_augment.pipeline.AugmentPipeline`.
    """
    from mmdial_augment.candidates import all_candidates
    from mmdial_augment.features import FeatureExtractor
    from mmdial_augment.pipeline import AugmentPipeline, load_dialogues, seed_everything

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    seed_everything(config.seed)
    pipe = AugmentPipeline(config, progress=progress, **components)
    pool, encoder = pipe.pool, pipe.encoder
    inert = Thresholds(-np.inf, -np.inf, -np.inf)
    previous = previous or pipe.thresholds

    def extractor(p: Any) -> FeatureExtractor:
        return FeatureExtractor(
            encoder, p, pipe.sentence_encoder, pipe.captioner, pipe.nouns, inert, batch_size=config.batch_size
        )

    cands = list(all_candidates(load_dialogues(config), min_words=config.min_words, max_words=config.max_words))
    if not cands:
        raise ValueError("calibration needs dialogue utterances: the inputs have no candidate")
    neg = rule_matrix(extractor(pool)([c.utterance for c in cands]))
    neg_test = _split([c.dialogue_id for c in cands], test_fraction, config.seed)

    rows, pos = caption_features(pool, extractor, folds=folds, seed=config.seed, progress=progress)
    pos_test = _split([pool.image_ids[r] for r in rows], test_fraction, config.seed + 1)

    found, _ = search_thresholds(pos[~pos_test], neg[~neg_test], grid=grid)
    if table_out is not None:
        _write_table(
            table_out,
            found,
            pos,
            neg,
            pos_test,
            neg_test,
            [pool.caption(r) for r in rows] + [c.utterance for c in cands],
        )
    setup = {
        "positives": "pool captions, scored without their own image (leave-fold-out)",
        "negatives": "candidate utterances of the inputs (mostly negatives)",
        "inputs": [asdict(s) for s in config.inputs],
        "limit": config.limit,
        "seed": config.seed,
        "test_fraction": test_fraction,
        "folds": folds,
        "grid": grid,
        "objective": "class-balanced F1 on the train split (negatives weighted len(pos)/len(neg))",
        "captioner": config.captioner.backend,
        "sentence_encoder": config.sentence_encoder,
    }
    return CalibrationResult(
        encoder=encoder.encoder_id,
        pool=pool.source,
        thresholds=found.to_dict(),
        train=rule_scores(found, pos[~pos_test], neg[~neg_test]),
        test=rule_scores(found, pos[pos_test], neg[neg_test]),
        previous={"thresholds": previous.to_dict(), "test": rule_scores(previous, pos[pos_test], neg[neg_test])},
        setup=setup,
    )


__all__ = [
    "CalibrationResult",
    "calibrate",
    "candidate_cutoffs",
    "caption_features",
    "rule_scores",
    "search_thresholds",
]
