"""The DSTC8 Schema-Guided Dialogue state-tracking evaluator, identical to the official script.

Reproduces google-research ``schema_guided_dst/evaluate.py`` (see :data:`OFFICIAL_EVALUATOR`): active-intent
accuracy, requested-slot F1 / precision / recall, slot-tagging F1, average and joint goal accuracy (all,
categorical, non-categorical), per frame and across turns, aggregated over ``#ALL_SERVICES``,
``#SEEN_SERVICES``, ``#UNSEEN_SERVICES``, each domain and each service. Exact (case-sensitive) or fuzzy
(fuzzywuzzy ``token_sort_ratio``, backend ``difflib`` by default or ``levenshtein``) matching of
non-categorical values.

- :mod:`~mmdial_metrics.sgd.schema`: ``load_schema``, ``seen_services``, ``domain_of``.
- :mod:`~mmdial_metrics.sgd.matching`: ``token_sort_ratio``, ``fuzzy_string_match``, the fuzzy backends.
- :mod:`~mmdial_metrics.sgd.evaluator`: ``evaluate_sgd`` on loaded dialogues, ``frame_metrics``.
- :mod:`~mmdial_metrics.sgd.report`: ``evaluate_sgd_dirs`` on DSTC8 folders, ``format_sgd_report``.
- :mod:`~mmdial_metrics.sgd.cli`: ``mmdial eval sgd PRED_DIR --gold GOLD_DIR [--schema S] [--train-schema T]``.
"""

from __future__ import annotations

from mmdial_metrics.sgd.evaluator import OFFICIAL_EVALUATOR, SGDResult, evaluate_sgd, frame_metrics
from mmdial_metrics.sgd.matching import DEFAULT_FUZZY_BACKEND, FUZZY_BACKENDS, fuzzy_string_match, token_sort_ratio
from mmdial_metrics.sgd.report import evaluate_sgd_dirs, format_sgd_report, read_dialogues
from mmdial_metrics.sgd.schema import Service, Slot, domain_of, load_schema, parse_schema, seen_services

__all__ = [
    "DEFAULT_FUZZY_BACKEND",
    "FUZZY_BACKENDS",
    "OFFICIAL_EVALUATOR",
    "SGDResult",
    "Service",
    "Slot",
    "domain_of",
    "evaluate_sgd",
    "evaluate_sgd_dirs",
    "format_sgd_report",
    "frame_metrics",
    "fuzzy_string_match",
    "load_schema",
    "parse_schema",
    "read_dialogues",
    "seen_services",
    "token_sort_ratio",
]
