"""Task-oriented metrics: joint goal accuracy, slot P/R/F1, requested-slot F1, intent accuracy, Inform/Success.

States are dicts ``slot -> value`` or ``slot -> [values]`` (the unified schema's ``Annotations.state``).
Matching is ``exact`` (MultiWOZ style: strings equal after lowercasing and stripping) or ``fuzzy`` (SGD:
``fuzzywuzzy.fuzz.token_sort_ratio / 100`` on non-categorical values, best over reference values; the
turn's joint score is the product of slot scores, as SGD's evaluation computes it).

These are generic, schema-free functions. For the numbers of the DSTC8 SGD evaluator use
:mod:`mmdial_metrics.sgd` (``mmdial eval sgd``); :func:`joint_goal_accuracy` differs from it on purpose (see there).

Example:
    >>> pred = [{"area": "north", "food": "thai"}, {"area": "north"}]
    >>> gold = [{"area": "north", "food": "Thai"}, {"area": "north", "food": "thai"}]
    >>> joint_goal_accuracy(pred, gold).score
    0.5
    >>> slot_scores(pred, gold)["f1"]
    0.8571428571428571
    >>> round(token_sort_ratio("the Golden Gate", "golden gate the"), 2)
    1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mmdial_metrics.core import MetricResult, format_signature

State = Mapping[str, Any]


def _values(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def _norm(v: str) -> str:
    return v.strip().lower()


def token_sort_ratio(a: str, b: str) -> float:
    """fuzzywuzzy's pure-Python ``token_sort_ratio`` / 100 (:func:`mmdial_metrics.sgd.matching.fuzzy_string_match`
    with the ``difflib`` backend: U+0080..U+00FF dropped, alnum tokens, sorted, SequenceMatcher; equal processed
    strings score 1.0, also two empty ones)."""
    from mmdial_metrics.sgd.matching import fuzzy_string_match

    return fuzzy_string_match(a, b, "difflib")


def _check_states(pred: Any, gold: Any, name: str) -> tuple[list[State], list[State]]:
    if pred is None or gold is None:
        raise TypeError(f"{name}: predictions and references must be lists of dicts, got None")
    pred, gold = list(pred), list(gold)
    if len(pred) != len(gold):
        raise ValueError(f"{name}: {len(pred)} predicted states but {len(gold)} reference states")
    for what, states in (("predictions", pred), ("references", gold)):
        for i, s in enumerate(states):
            if not isinstance(s, Mapping):
                raise TypeError(f"{name}: {what}[{i}] must be a dict slot -> value(s), got {type(s).__name__}")
    return pred, gold


def _slot_score(pv: list[str], gv: list[str], fuzzy: bool, categorical: bool) -> float:
    if not pv:
        return 1.0 if not gv else 0.0
    if not gv:
        return 0.0
    if fuzzy and not categorical:
        return max(token_sort_ratio(g, pv[0]) for g in gv)
    return 1.0 if {_norm(x) for x in pv} & {_norm(x) for x in gv} else 0.0


def joint_goal_accuracy(
    predictions: Sequence[State],
    references: Sequence[State],
    *,
    matching: str = "exact",
    categorical_slots: Iterable[str] = (),
    ignore_values: Iterable[str] = ("none", ""),
) -> MetricResult:
    """Fraction of turns whose predicted state equals the reference state (slot by slot).

    Not the DSTC8 SGD evaluator (:func:`mmdial_metrics.sgd.evaluate_sgd`, ``mmdial eval sgd``), which differs:
    there exact matching is case-sensitive (here values are lowercased and stripped), ``"none"``/``""`` are
    ordinary values (here ``ignore_values`` are dropped first), only the schema's slots of the frame's service
    are scored (here every slot of either state), a categorical value must equal the first reference value
    case-sensitively (here lowercased, any overlap), only the first predicted value counts (here any), the
    fuzzy backend is selectable, and scores are per frame (service) with seen/unseen aggregation.
    """
    if matching not in ("exact", "fuzzy"):
        raise ValueError(f"joint_goal_accuracy: matching must be 'exact' or 'fuzzy', got {matching!r}")
    pred, gold = _check_states(predictions, references, "joint_goal_accuracy")
    cat = set(categorical_slots)
    ignore = {_norm(x) for x in ignore_values}
    items = []
    for p, g in zip(pred, gold, strict=True):
        score = 1.0
        for slot in set(p) | set(g):
            pv = [x for x in _values(p.get(slot)) if _norm(x) not in ignore]
            gv = [x for x in _values(g.get(slot)) if _norm(x) not in ignore]
            score *= _slot_score(pv, gv, matching == "fuzzy", slot in cat)
        items.append(score)
    if not items:
        raise ValueError("joint_goal_accuracy: no turns given")
    return MetricResult(
        name="joint_goal_accuracy",
        score=sum(items) / len(items),
        signature=format_signature("joint_goal_accuracy", {"match": matching}),
        item_scores=items,
    )


def slot_scores(predictions: Sequence[State], references: Sequence[State]) -> dict[str, float]:
    """Micro precision/recall/F1 over (slot, value) pairs with exact (lowercased) matching."""
    pred, gold = _check_states(predictions, references, "slot_scores")
    tp = fp = fn = 0
    for p, g in zip(pred, gold, strict=True):
        ps = {(k, _norm(v)) for k, vs in p.items() for v in _values(vs)}
        gs = {(k, _norm(v)) for k, vs in g.items() for v in _values(vs)}
        tp += len(ps & gs)
        fp += len(ps - gs)
        fn += len(gs - ps)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def requested_slot_f1(predictions: Sequence[Iterable[str]], references: Sequence[Iterable[str]]) -> MetricResult:
    """SGD requested-slot F1: per turn F1 of the slot sets (1.0 when both are empty), averaged."""
    if len(predictions) != len(references):
        raise ValueError(f"requested_slot_f1: {len(predictions)} predictions but {len(references)} references")
    items = []
    for p, g in zip(predictions, references, strict=True):
        ps, gs = set(p), set(g)
        if not ps and not gs:
            items.append(1.0)
            continue
        tp = len(ps & gs)
        pr = tp / len(ps) if ps else 0.0
        rc = tp / len(gs) if gs else 0.0
        items.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return MetricResult(
        name="requested_slot_f1",
        score=sum(items) / max(len(items), 1),
        signature=format_signature("requested_slot_f1", {}),
        item_scores=items,
    )


def intent_accuracy(predictions: Sequence[str | None], references: Sequence[str | None]) -> MetricResult:
    """Fraction of turns whose active intent equals the reference."""
    if len(predictions) != len(references):
        raise ValueError(f"intent_accuracy: {len(predictions)} predictions but {len(references)} references")
    items = [float(p == g) for p, g in zip(predictions, references, strict=True)]
    return MetricResult(
        name="intent_accuracy",
        score=sum(items) / max(len(items), 1),
        signature=format_signature("intent_accuracy", {}),
        item_scores=items,
    )


def inform_success(
    dialogues: Sequence[Mapping[str, Any]],
    goal_match: Callable[[str, Any, Mapping[str, Any]], bool],
) -> dict[str, float]:
    """MultiWOZ-style Inform and Success rates, database-free.

    Each dialogue: ``{"goal": {domain: {"constraints": {...}, "requested": [slots]}},
    "offered": {domain: entity}, "provided": {domain: [slots]}}``. ``goal_match(domain, entity, constraints)``
    decides whether the offered entity satisfies the goal (replacing MultiWOZ's database query).
    Inform: every goal domain with constraints got a matching entity. Success: Inform and every requested
    slot was provided. A goal domain without constraints is skipped (informed), where mwzeval scores a
    restaurant/hotel/attraction domain with no venue offered as not informed: for mwzeval's numbers (venue
    database, venue tracking, per-domain rates) use :mod:`mmdial_metrics.multiwoz`.
    """
    if not dialogues:
        raise ValueError("inform_success: no dialogues given")
    inform = success = 0
    for d in dialogues:
        goal = d.get("goal") or {}
        offered = d.get("offered") or {}
        provided = d.get("provided") or {}
        ok = all(
            dom in offered and goal_match(dom, offered[dom], g.get("constraints") or {})
            for dom, g in goal.items()
            if g.get("constraints")
        )
        inform += ok
        if ok and all(set(g.get("requested") or []) <= set(provided.get(dom) or []) for dom, g in goal.items()):
            success += 1
    return {"inform": inform / len(dialogues), "success": success / len(dialogues)}
