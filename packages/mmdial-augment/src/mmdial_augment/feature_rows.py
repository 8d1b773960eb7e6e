"""The rows of ``features.parquet``: its columns (:data:`FEATURE_COLUMNS`) and the per-utterance rows of one chunk
(:func:`feature_columns`); used by :mod:`mmdial_augment.pipeline`, which re-exports these names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mmdial_augment.candidates import Candidate
    from mmdial_augment.pool import ImagePool


FEATURE_COLUMNS = (
    "dialogue_id",
    "turn_index",
    "utterance",
    "context",
    "n_long_words",
    "encoder",
    "image_score",
    "image_id",
    "image_caption",
    "nouns",
    "entity_scores",
    "max_entity_score",
    "sent_sim",
    "bleu",
    "threshold",
    "probability",
    "replaceable",
    "topn_image_ids",
    "topn_retrieval_scores",
    "topn_vqa_scores",
    "topn_captions",
    "topn_uris",
    "chosen_image_id",
    "chosen_uri",
    "chosen_caption",
    "chosen_score",
    "replaced",
    "reason",
    "skipped_images",
    "vqa_backend",
    "image_source",
)


def empty_columns() -> dict[str, list[Any]]:
    """Column names of ``features.parquet`` with no rows."""
    return {c: [] for c in FEATURE_COLUMNS}


def feature_columns(
    cands: list[Candidate],
    feats: Any,
    proba: np.ndarray | None,
    replaceable: np.ndarray,
    selections: dict[int, Any],
    pool: ImagePool,
    *,
    vqa_name: str,
    encoder_id: str,
) -> dict[str, list[Any]]:
    """Assemble the per-utterance rows of one chunk."""
    cols = empty_columns()
    for i, c in enumerate(cands):
        sel = selections.get(i)
        r = int(feats.image_row[i])
        chosen = None if sel is None or sel.chosen is None else sel.chosen
        row = {
            "dialogue_id": c.dialogue_id,
            "turn_index": c.turn_index,
            "utterance": c.utterance,
            "context": list(c.context),
            "n_long_words": c.n_long_words,
            "encoder": encoder_id,
            "image_score": float(feats.image_score[i]),
            "image_id": pool.image_ids[r],
            "image_caption": feats.caption[i],
            "nouns": feats.nouns[i],
            "entity_scores": feats.entity_scores[i],
            "max_entity_score": float(feats.max_entity_score[i]),
            "sent_sim": float(feats.sent_sim[i]),
            "bleu": float(feats.bleu[i]),
            "threshold": bool(feats.threshold[i]),
            "probability": None if proba is None else float(proba[i]),
            "replaceable": bool(replaceable[i]),
            "topn_image_ids": [] if sel is None else [pool.image_ids[x] for x in sel.rows],
            "topn_retrieval_scores": [] if sel is None else [float(x) for x in sel.retrieval_scores],
            "topn_vqa_scores": [] if sel is None else [None if np.isnan(x) else float(x) for x in sel.vqa_scores],
            "topn_captions": [] if sel is None else [pool.caption(x) for x in sel.rows],
            "topn_uris": [] if sel is None else [pool.uris[x] for x in sel.rows],
            "chosen_image_id": None if chosen is None else pool.image_ids[chosen],
            "chosen_uri": None if chosen is None else pool.uris[chosen],
            "chosen_caption": None if chosen is None else pool.caption(chosen),
            "chosen_score": None if sel is None else sel.chosen_score,
            "replaced": bool(sel is not None and sel.replaced),
            "reason": None if sel is None else sel.reason,
            "skipped_images": [] if sel is None else sel.skipped_images,
            "vqa_backend": vqa_name if sel is not None else None,
            "image_source": pool.source,
        }
        for k, v in row.items():
            cols[k].append(v)
    return cols
