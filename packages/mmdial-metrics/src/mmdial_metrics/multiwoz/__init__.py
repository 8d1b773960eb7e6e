"""MultiWOZ evaluation matching the community evaluator mwzeval (Tomiinek/MultiWOZ_Evaluation).

- :mod:`.normalize`: mwzeval's normalisation of responses, slot names and values (:func:`normalize_response`);
- :mod:`.database`: the MultiWOZ venue databases (bundled, MIT) and mwzeval's query rules;
- :mod:`.goals`: goals, booked domains, gold states and BLEU references built from MultiWOZ files;
- :mod:`.success`: active-domain estimation, venue tracking, Inform/Success with per-domain rates;
- :mod:`.evaluator`: :class:`MultiWozEvaluator` (BLEU, Inform/Success, richness, DST) and its report;
- :mod:`.cli`: ``mmdial eval multiwoz``.

Nothing heavy is imported here; sacremoses and rapidfuzz (the ``multiwoz`` extra) load when first needed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MultiWozEvaluator", "VenueDatabase", "normalize_predictions", "normalize_response"]


def __getattr__(name: str) -> Any:
    if name == "MultiWozEvaluator":
        from mmdial_metrics.multiwoz.evaluator import MultiWozEvaluator

        return MultiWozEvaluator
    if name == "VenueDatabase":
        from mmdial_metrics.multiwoz.database import VenueDatabase

        return VenueDatabase
    if name in ("normalize_response", "normalize_predictions"):
        from mmdial_metrics.multiwoz import normalize

        return getattr(normalize, name)
    raise AttributeError(f"module 'mmdial_metrics.multiwoz' has no attribute {name!r}")
