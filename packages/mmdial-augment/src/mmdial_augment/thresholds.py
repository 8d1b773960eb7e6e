"""IMAD's threshold rule and the per-encoder thresholds it needs.

The rule flags an utterance when ``max_entity_score > t_mes and image_score > t_is and sent_sim > t_ss``.
IMAD's values are for CLIP ViT-B/32 (openai weights); other encoders need their own, looked up in this order:
the run config's ``thresholds``, the encoder's ``info()["imad_thresholds"]``, :data:`ENCODER_THRESHOLDS`
by encoder id prefix.

Example:
    >>> t = Thresholds.imad()
    >>> t.flag([0.4, 0.2], [0.4, 0.4], [0.2, 0.2]).tolist()
    [True, False]
    >>> thresholds_for("openclip:ViT-B-32:openai") == Thresholds.imad()
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Thresholds:
    """The three thresholds of the rule (strict ``>`` comparisons)."""

    max_entity_score: float
    image_score: float
    sent_sim: float

    @classmethod
    def imad(cls) -> Thresholds:
        """IMAD's values for CLIP ViT-B/32."""
        return cls(max_entity_score=0.3103302687291667, image_score=0.33265801843083337, sent_sim=0.12116438820166667)

    def flag(self, max_entity_score: Any, image_score: Any, sent_sim: Any) -> np.ndarray:
        """Boolean array: all three features above their threshold."""
        return (
            (np.asarray(max_entity_score) > self.max_entity_score)
            & (np.asarray(image_score) > self.image_score)
            & (np.asarray(sent_sim) > self.sent_sim)
        )

    def to_dict(self) -> dict[str, float]:
        """As a plain mapping."""
        return asdict(self)


#: Known encoders (name or id prefix -> thresholds; the longest matching prefix wins). ``openclip:ViT-B-32:openai``:
#: IMAD's values. ``conse`` / ``offline:conse-v1``: the training-free ConSE encoder (another score scale than CLIP's),
#: calibrated on the Tux Paint stamps pool with
#: ``mmdial augment calibrate packages/mmdial-augment/examples/calibrate-offline.yaml`` (pool captions vs the
#: utterances of the DailyDialog/PersonaChat/EmpatheticDialogues samples, class-balanced F1, seed 0; held out:
#: precision 0.874, recall 0.885, F1 0.880). ``sent_sim``'s cutoff is the lowest value seen: it does not help.
#: ``offline``: the trained offline encoder (``offline:knn-v2+...``), calibrated the same way with the same config
#: (held out: precision 0.967, recall 0.860, F1 0.910, 5.6% of dialogue utterances flagged; the knn-v1 values on
#: this encoder: F1 0.883 with 3.2% flagged). Its entity cutoff is 0: the image score carries the decision.
_OFFLINE = Thresholds(max_entity_score=0.0, image_score=0.3831976010249211, sent_sim=-0.13649329543113708)
_CONSE = Thresholds(max_entity_score=0.5789521932601929, image_score=0.21319521963596344, sent_sim=-0.13649329543113708)
ENCODER_THRESHOLDS: dict[str, Thresholds] = {
    "openclip:ViT-B-32:openai": Thresholds.imad(),
    "offline": _OFFLINE,
    "conse": _CONSE,
    "offline:conse-v1": _CONSE,
}


def thresholds_for(
    encoder_id: str, info: Mapping[str, Any] | None = None, override: Mapping[str, float] | None = None
) -> Thresholds:
    """Thresholds for an encoder (see module docs for the lookup order); IMAD's values when nothing matches."""
    if override:
        return Thresholds(**{k: float(v) for k, v in override.items()})
    if info and info.get("imad_thresholds"):
        return Thresholds(**{k: float(v) for k, v in info["imad_thresholds"].items()})
    best = None
    for prefix in ENCODER_THRESHOLDS:
        matches = encoder_id == prefix or encoder_id.startswith((prefix + ":", prefix + "+"))
        if matches and (best is None or len(prefix) > len(best)):
            best = prefix
    return ENCODER_THRESHOLDS[best] if best else Thresholds.imad()
