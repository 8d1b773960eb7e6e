"""Stage-1 decision: which candidates are replaceable by an image.

- ``threshold`` (default): IMAD's rule flag.
- ``classifier``: ``P(replaceable) >= cutoff`` (a preset 1-8 of :data:`~mmdial_augment.config.CUTOFF_PRESETS`
  or a probability), as IMAD's ``make_predictions``.

Example:
    >>> import numpy as np
    >>> Decision("threshold").decide(np.array([True, False]), None).tolist()
    [True, False]
    >>> replacements_per_preset(np.array([0.03, 0.3, 0.6]))
    {8: 3, 7: 2, 6: 2, 5: 2, 4: 2, 3: 2, 2: 1, 1: 1}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmdial_augment.classifier import StageOneClassifier
from mmdial_augment.config import CUTOFF_PRESETS


@dataclass
class Decision:
    """The rule (``threshold`` or ``classifier``) with its classifier and probability cutoff."""

    rule: str = "threshold"
    classifier: StageOneClassifier | None = None
    cutoff: float | None = None

    def __post_init__(self) -> None:
        if self.rule == "classifier" and (self.classifier is None or self.cutoff is None):
            raise ValueError("the classifier rule needs a classifier and a cutoff")
        if self.rule not in ("threshold", "classifier"):
            raise ValueError(f"rule must be 'threshold' or 'classifier', got {self.rule!r}")

    def probabilities(self, matrix: np.ndarray) -> np.ndarray | None:
        """Classifier probabilities (None for the threshold rule)."""
        if self.classifier is None:
            return None
        return self.classifier.predict_proba(matrix)

    def decide(self, threshold_flag: np.ndarray, probability: np.ndarray | None) -> np.ndarray:
        """Boolean array: replaceable or not."""
        if self.rule == "threshold":
            return np.asarray(threshold_flag, dtype=bool)
        assert probability is not None and self.cutoff is not None
        return np.asarray(probability) >= self.cutoff

    def describe(self) -> str:
        """One line for reports."""
        if self.rule == "threshold":
            return "threshold rule (max_entity_score, image_score, sent_sim)"
        assert self.classifier is not None
        return f"{self.classifier.kind} classifier, P >= {self.cutoff:.4f}"


def replacements_per_preset(probability: np.ndarray) -> dict[int, int]:
    """How many utterances each cutoff preset keeps (the report's threshold curve)."""
    p = np.asarray(probability, dtype=np.float64)
    return {k: int((p >= v).sum()) for k, v in CUTOFF_PRESETS.items()}
