"""The DSTC8 Schema-Guided DST metrics, frame by frame and aggregated, as the official evaluator computes them.

Reproduces google-research ``schema_guided_dst/evaluate.py`` (``get_metrics``) and ``metrics.py`` (see
:data:`OFFICIAL_EVALUATOR`): for every USER turn and every frame of the reference turn (one per service),

- ``active_intent_accuracy``: 1.0 when the predicted active intent equals the reference one;
- ``requested_slots_f1`` / ``_precision`` / ``_recall``: multiset F1 of the requested slots (precision or recall
  is 1.0 when its denominator is empty, so a frame where both lists are empty scores 1.0);
- ``slot_tagging_f1`` / ``_precision`` / ``_recall``: only when the predicted frame has ``slots`` (character spans
  of non-categorical slots, cut from the reference utterance);
- goal accuracies over the slots **of the schema** (in schema order; state slots the schema lacks are ignored):
  a slot absent in both states scores 1.0, absent in one 0.0, else a categorical slot scores
  ``ref_values[0] == hyp_values[0]`` and a non-categorical one the best match of ``hyp_values[0]`` over the reference
  values (fuzzy or exact, see :mod:`mmdial_metrics.sgd.matching`). Values are compared as given: exact matching is
  case-sensitive, and ``"none"`` or ``""`` are ordinary values (a predicted ``"none"`` for a slot the reference does
  not have scores 0.0). ``average_goal_accuracy`` is the mean over the slots active in the reference (NA when
  none is), ``joint_goal_accuracy`` the product over all schema slots; ``_cat_`` / ``_noncat_`` variants restrict
  both to categorical / non-categorical slots (NA when the service has none).

Each frame's metrics (NA values left out) go to the collections ``#ALL_SERVICES``, the service, its domain
(the name before ``_``; a name without ``_`` is its own domain and is then counted twice there, as officially)
and ``#SEEN_SERVICES`` or ``#UNSEEN_SERVICES``; each collection reports the mean over its frames. With the
official ``--joint_acc_across_turn`` (MultiWOZ-style), the three joint accuracies are instead multiplied over the
frames of a turn, per collection, and averaged over turns; :func:`evaluate_sgd` returns both variants.

Example (``fuzzy``: ``"SF"`` vs ``"San Francisco"`` scores 0.13 on the city slot):
    >>> schema = parse_schema([{"service_name": "Buses_2", "slots": [
    ...     {"name": "to_city", "is_categorical": False}, {"name": "group_size", "is_categorical": True}]}])
    >>> turn = lambda values: {"speaker": "USER", "utterance": "u", "frames": [{"service": "Buses_2", "state": {
    ...     "active_intent": "FindBus", "requested_slots": [], "slot_values": values}}]}
    >>> gold = {"d1": {"dialogue_id": "d1", "services": ["Buses_2"],
    ...     "turns": [turn({"to_city": ["San Francisco"], "group_size": ["2"]})]}}
    >>> pred = {"d1": {"dialogue_id": "d1", "services": ["Buses_2"], "turns": [turn({"to_city": ["SF"],
    ...     "group_size": ["2"]})]}}
    >>> result = evaluate_sgd(gold, pred, schema, seen=["Buses_2"])
    >>> m = result.metrics["#ALL_SERVICES"]
    >>> round(m["joint_goal_accuracy"], 4), round(m["average_goal_accuracy"], 4), m["joint_cat_accuracy"]
    (0.13, 0.565, 1.0)
    >>> evaluate_sgd(gold, pred, schema, seen=[], matching="exact").metrics["#UNSEEN_SERVICES"]["joint_goal_accuracy"]
    0.0
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from mmdial_metrics.sgd.matching import (
    DEFAULT_FUZZY_BACKEND,
    FuzzyBackend,
    categorical_score,
    check_backend,
    noncategorical_score,
)
from mmdial_metrics.sgd.schema import Schema, Service, domain_of, parse_schema

__all__ = ["SGDResult", "evaluate_sgd", "frame_metrics", "parse_schema"]

Matching = Literal["fuzzy", "exact"]

#: The official code this module reproduces (read at these commits of google-research/google-research).
OFFICIAL_EVALUATOR = "DSTC8 schema_guided_dst/evaluate.py @0c1bbe5fc971 (metrics.py @c81395588a61)"

ALL_SERVICES = "#ALL_SERVICES"
SEEN_SERVICES = "#SEEN_SERVICES"
UNSEEN_SERVICES = "#UNSEEN_SERVICES"

ACTIVE_INTENT_ACCURACY = "active_intent_accuracy"
SLOT_TAGGING_F1 = "slot_tagging_f1"
SLOT_TAGGING_PRECISION = "slot_tagging_precision"
SLOT_TAGGING_RECALL = "slot_tagging_recall"
REQUESTED_SLOTS_F1 = "requested_slots_f1"
REQUESTED_SLOTS_PRECISION = "requested_slots_precision"
REQUESTED_SLOTS_RECALL = "requested_slots_recall"
AVERAGE_GOAL_ACCURACY = "average_goal_accuracy"
AVERAGE_CAT_ACCURACY = "average_cat_accuracy"
AVERAGE_NONCAT_ACCURACY = "average_noncat_accuracy"
JOINT_GOAL_ACCURACY = "joint_goal_accuracy"
JOINT_CAT_ACCURACY = "joint_cat_accuracy"
JOINT_NONCAT_ACCURACY = "joint_noncat_accuracy"

#: The metrics that ``--joint_acc_across_turn`` multiplies over the frames of a turn.
JOINT_METRICS = (JOINT_GOAL_ACCURACY, JOINT_CAT_ACCURACY, JOINT_NONCAT_ACCURACY)

Dialogue = Mapping[str, Any]
Aggregate = dict[str, dict[str, float]]


@dataclass
class SGDResult:
    """The metrics of one evaluation.

    Attributes:
        metrics: collection (``#ALL_SERVICES``, ``#SEEN_SERVICES``, ``#UNSEEN_SERVICES``, each service and
            domain) -> metric -> mean over frames: the official output with its default flags.
        metrics_joint_across_turn: the same with the joint accuracies computed across the frames of each turn
            (the official output with ``--joint_acc_across_turn``).
        per_frame: ``"<dialogue_id>-<turn:03d>-<service>"`` -> the frame's metrics (NA metrics left out).
        seen: the services counted as seen; services: the services of the scored frames.
        n_dialogues: predicted dialogues scored; n_turns: user turns scored; n_frames: frames scored.
    """

    metrics: Aggregate
    metrics_joint_across_turn: Aggregate
    per_frame: dict[str, dict[str, float]] = field(default_factory=dict)
    seen: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    n_dialogues: int = 0
    n_turns: int = 0
    n_frames: int = 0


def f1_scores(ref: Iterable[Any], hyp: Iterable[Any]) -> tuple[float, float, float]:
    """(f1, precision, recall) of two multisets; precision (recall) is 1.0 when ``hyp`` (``ref``) is empty.

    >>> f1_scores(["phone", "address"], ["phone"])
    (0.6666666666666666, 1.0, 0.5)
    >>> f1_scores([], [])
    (1.0, 1.0, 1.0)
    """
    ref_c, hyp_c = Counter(ref), Counter(hyp)
    true, positive = sum(ref_c.values()), sum(hyp_c.values())
    tp = sum((ref_c & hyp_c).values())
    precision = float(tp) / positive if positive else 1.0
    recall = float(tp) / true if true else 1.0
    f1 = 2.0 * precision * recall / (precision + recall) if precision + recall > 0.0 else 0.0
    return f1, precision, recall


def goal_accuracies(
    ref_values: Mapping[str, Sequence[Any]],
    hyp_values: Mapping[str, Sequence[Any]],
    service: Service,
    *,
    fuzzy: bool = True,
    backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND,
) -> dict[str, float]:
    """Average and joint goal accuracies of one frame (all / categorical / non-categorical; NA ones left out)."""
    scores, active, cat = [], [], []
    for slot in service.slots:
        cat.append(slot.is_categorical)
        in_ref, in_hyp = slot.name in ref_values, slot.name in hyp_values
        active.append(in_ref)
        if in_ref and in_hyp:
            refs, hyp = ref_values[slot.name], hyp_values[slot.name][0]
            if slot.is_categorical:
                scores.append(categorical_score(refs, hyp))
            else:
                scores.append(noncategorical_score(refs, hyp, fuzzy=fuzzy, backend=backend))
        else:
            scores.append(1.0 if in_ref == in_hyp else 0.0)
    out: dict[str, float] = {}
    groups = (("goal", lambda c: True), ("cat", lambda c: c), ("noncat", lambda c: not c))
    for name, keep in groups:
        picked = [s for s, a, c in zip(scores, active, cat, strict=True) if a and keep(c)]
        if picked:
            out[f"average_{name}_accuracy"] = float(np.mean(picked))
    for name, keep in groups:
        picked = [s for s, c in zip(scores, cat, strict=True) if keep(c)]
        if picked:
            out[f"joint_{name}_accuracy"] = float(np.prod(picked))
    return out


def _spans(frame: Mapping[str, Any], utterance: str, noncat: Sequence[str]) -> list[tuple[str, str]]:
    return [(s["slot"], utterance[s["start"] : s["exclusive_end"]]) for s in frame["slots"] if s["slot"] in noncat]


def frame_metrics(
    frame_ref: Mapping[str, Any],
    frame_hyp: Mapping[str, Any],
    service: Service,
    utterance: str,
    *,
    fuzzy: bool = True,
    backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND,
) -> dict[str, float]:
    """All metrics of one frame, as the official per-frame dict (NA metrics left out)."""
    ref_state, hyp_state = frame_ref["state"], frame_hyp["state"]
    out: dict[str, float] = {ACTIVE_INTENT_ACCURACY: float(ref_state["active_intent"] == hyp_state["active_intent"])}
    f1, precision, recall = f1_scores(ref_state["requested_slots"], hyp_state["requested_slots"])
    out.update({REQUESTED_SLOTS_F1: f1, REQUESTED_SLOTS_PRECISION: precision, REQUESTED_SLOTS_RECALL: recall})
    if "slots" in frame_hyp:
        noncat = service.noncategorical_slots
        f1, precision, recall = f1_scores(_spans(frame_ref, utterance, noncat), _spans(frame_hyp, utterance, noncat))
        out.update({SLOT_TAGGING_F1: f1, SLOT_TAGGING_PRECISION: precision, SLOT_TAGGING_RECALL: recall})
    out.update(
        goal_accuracies(ref_state["slot_values"], hyp_state["slot_values"], service, fuzzy=fuzzy, backend=backend)
    )
    return out


def _check_state(frame: Any, where: str) -> None:
    state = frame.get("state") if isinstance(frame, Mapping) else None
    if not isinstance(state, Mapping):
        raise ValueError(f"{where}: the frame has no 'state'; give every USER frame a DSTC8 state")
    for key, kind in (("active_intent", None), ("requested_slots", list), ("slot_values", Mapping)):
        if key not in state or (kind is not None and not isinstance(state[key], kind)):
            raise ValueError(f"{where}: state[{key!r}] is missing or malformed; follow the DSTC8 state format")
    for slot, values in state["slot_values"].items():
        if not isinstance(values, list) or not values:
            raise ValueError(
                f"{where}: slot_values[{slot!r}] must be a non-empty list of values; drop the slot or give a value"
            )
    if "slots" in frame:
        for span in frame["slots"]:
            if not isinstance(span, Mapping) or not {"slot", "start", "exclusive_end"} <= set(span):
                raise ValueError(f"{where}: a 'slots' span lacks slot/start/exclusive_end; fix or drop 'slots'")


def _turn_frames(turn: Any, where: str) -> list[Any]:
    if not isinstance(turn, Mapping) or not isinstance(turn.get("frames"), list) or "speaker" not in turn:
        raise ValueError(f"{where}: a turn needs 'speaker' and a list of 'frames'; follow the DSTC8 dialogue format")
    frames: list[Any] = turn["frames"]
    return frames


def evaluate_sgd(
    dataset_ref: Mapping[str, Dialogue],
    dataset_hyp: Mapping[str, Dialogue],
    schema: Schema,
    seen: Iterable[str],
    *,
    matching: Matching = "fuzzy",
    fuzzy_backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND,
) -> SGDResult:
    """Score predicted dialogues against the reference ones (both: dialogue id -> DSTC8 dialogue).

    Every predicted dialogue must be in ``dataset_ref`` (reference dialogues without a prediction are not
    scored, as officially); turns are paired in order up to the shorter dialogue. ``schema`` is the evaluation
    schema (service name -> :class:`~mmdial_metrics.sgd.schema.Service`), ``seen`` the services of the training
    schema. ``matching="fuzzy"`` (official default) or ``"exact"`` (official ``--nouse_fuzzy_match``) applies to
    non-categorical slots; ``fuzzy_backend`` picks the sequence matcher (official default ``"difflib"``).
    """
    if matching not in ("fuzzy", "exact"):
        raise ValueError(f"matching must be 'fuzzy' or 'exact', got {matching!r}")
    backend = check_backend(fuzzy_backend)
    fuzzy = matching == "fuzzy"
    seen = frozenset(seen)
    missing = [d for d in dataset_hyp if d not in dataset_ref]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        shown = ", ".join(map(str, missing[:3]))
        raise ValueError(
            f"{len(missing)} predicted dialogue ids are not in the gold data: {shown}{more}; "
            "predict only dialogues of the gold folder, or point --gold at the split they come from"
        )
    per_frame_lists: defaultdict[str, defaultdict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    joint_turn_lists: defaultdict[str, defaultdict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    per_frame: dict[str, dict[str, float]] = {}
    scored: set[str] = set()
    n_turns = 0
    for dial_id, dial_hyp in dataset_hyp.items():
        dial_ref = dataset_ref[dial_id]
        if set(dial_ref.get("services") or []) != set(dial_hyp.get("services") or []):
            raise ValueError(
                f"dialogue {dial_id}: predicted services {sorted(dial_hyp.get('services') or [])} differ from the "
                f"gold ones {sorted(dial_ref.get('services') or [])}; copy 'services' from the gold dialogue"
            )
        hyp_turns = dial_hyp.get("turns") or []
        for turn_id, (turn_ref, turn_hyp) in enumerate(zip(dial_ref["turns"], hyp_turns, strict=False)):
            where = f"dialogue {dial_id} turn {turn_id}"
            frames_ref, frames_hyp = _turn_frames(turn_ref, where + " (gold)"), _turn_frames(turn_hyp, where)
            if turn_ref["speaker"] != turn_hyp["speaker"]:
                raise ValueError(
                    f"{where}: speaker {turn_hyp['speaker']!r} is not the gold {turn_ref['speaker']!r}; "
                    "keep the gold turns and their order"
                )
            if turn_ref["speaker"] != "USER":
                continue
            if turn_ref.get("utterance") != turn_hyp.get("utterance"):
                raise ValueError(f"{where}: the utterance differs from the gold one; copy the gold utterances")
            n_turns += 1
            hyp_by_service = {frame.get("service"): frame for frame in frames_hyp if isinstance(frame, Mapping)}
            turn_joint: defaultdict[str, dict[str, float]] = defaultdict(dict)
            for frame_ref in frames_ref:
                name = frame_ref.get("service") if isinstance(frame_ref, Mapping) else None
                if not isinstance(name, str) or name not in hyp_by_service:
                    raise ValueError(
                        f"{where}: no predicted frame for service {name}; predict a frame for every "
                        "service of the gold turn"
                    )
                if name not in schema:
                    raise ValueError(
                        f"{where}: service {name} is not in the schema; pass the schema.json of the "
                        "evaluated split with --schema"
                    )
                frame_hyp = hyp_by_service[name]
                _check_state(frame_ref, where + f" {name} (gold)")
                _check_state(frame_hyp, where + f" {name}")
                metrics = frame_metrics(
                    frame_ref, frame_hyp, schema[name], turn_ref.get("utterance") or "", fuzzy=fuzzy, backend=backend
                )
                per_frame[f"{dial_id}-{turn_id:03d}-{name}"] = metrics
                scored.add(name)
                keys = [ALL_SERVICES, name, domain_of(name), SEEN_SERVICES if name in seen else UNSEEN_SERVICES]
                for key in keys:
                    for metric, value in metrics.items():
                        per_frame_lists[key][metric].append(value)
                        if metric in JOINT_METRICS:
                            turn_joint[key][metric] = turn_joint[key].get(metric, 1.0) * value
            for key, joints in turn_joint.items():
                for metric, value in joints.items():
                    joint_turn_lists[key][metric].append(value)
    if not per_frame:
        raise ValueError("no USER frame to score: the predictions are empty; write DSTC8 dialogues_*.json predictions")
    metrics_frame = _aggregate(per_frame_lists)
    metrics_turn = {key: dict(values) for key, values in metrics_frame.items()}
    for key, values in metrics_turn.items():
        for metric in JOINT_METRICS:
            values.pop(metric, None)
        values.update(_aggregate(joint_turn_lists).get(key, {}))
    return SGDResult(
        metrics_frame, metrics_turn, per_frame, seen, frozenset(scored), len(dataset_hyp), n_turns, len(per_frame)
    )


def _aggregate(lists: Mapping[str, Mapping[str, list[float]]]) -> Aggregate:
    """Collection -> metric -> mean (numpy's, as officially, so every digit agrees)."""
    return {key: {m: float(np.mean(v)) for m, v in sorted(metrics.items())} for key, metrics in lists.items()}
