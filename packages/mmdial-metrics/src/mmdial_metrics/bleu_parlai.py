"""ParlAI's BLEU preset: :class:`ParlAIBLEU` (``parlai_bleu``), nltk sentence BLEU on normalized text.

Example (normalized "cat sat" vs "cat sat down": both precisions 1, brevity penalty exp(1 - 3/2)):
    >>> round(ParlAIBLEU(k=2)(["the cat sat"], [["a cat sat down"]]).score, 6)
    0.606531
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mmdial_metrics.bleu_nltk import NLTKBLEU

# ParlAI splits normalized text with ``split(" ")``: an empty text is one empty token ``[""]``. That token is
# written as "<.>", which no normalized text can hold (normalize_answer turns "<", "." and ">" into spaces).
_PARLAI_EMPTY = "<.>"


class ParlAIBLEU(NLTKBLEU):
    """ParlAI ``BleuMetric`` (``parlai_bleu``, its ``bleu-k``): mean per-item nltk ``sentence_bleu`` (0-1).

    As ``parlai/core/metrics.py`` ``BleuMetric.compute(guess, answers, k)``: prediction and references go
    through ParlAI's ``normalize_answer`` (lowercase; punctuation -> space; drop a/an/the; single spaces),
    are split with ``split(" ")`` (an empty text is the one token ``""``), and scored by
    ``sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction(epsilon=1e-12).method1,
    weights=[1/k]*k)``; ``TeacherMetrics`` averages the items (``AverageMetric``). ``k=4`` is ParlAI's default
    ``bleu-4``.

    Example:
        >>> round(ParlAIBLEU()(["The cat sat on the mat!"], [["a cat sat on a mat"]]).score, 6)
        1.0
    """

    name: ClassVar[str] = "parlai_bleu"
    citation: ClassVar[str] = "Papineni et al. 2002; Miller et al. 2017 (ParlAI)"
    reference: ClassVar[str] = (
        "ParlAI parlai/core/metrics.py BleuMetric.compute (normalize_answer, nltk sentence_bleu, "
        "SmoothingFunction(epsilon=1e-12).method1, weights 1/k)"
    )

    def __init__(self, *, k: int = 4) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"parlai_bleu: k must be a positive int, got {k!r}")
        super().__init__(weights=[1 / k for _ in range(k)], smoothing=1, epsilon=1e-12, level="sentence")
        self.bleu_k = k
        self.name = "parlai_bleu"  # type: ignore[misc]

    def signature_info(self) -> dict[str, Any]:
        return {"k": self.bleu_k, "norm": "parlai", **super().signature_info()}

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> np.ndarray:
        from mmdial_metrics.f1 import normalize_parlai

        assert references is not None

        def norm(text: str) -> str:
            return normalize_parlai(text) or _PARLAI_EMPTY

        return super()._stats([norm(p) for p in predictions], [[norm(r) for r in refs] for refs in references])
