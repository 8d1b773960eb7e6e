"""Inform and Success as mwzeval computes them: active-domain estimation, venue tracking, per-domain rates.

For each dialogue and each goal domain active in a turn (:func:`estimate_active_domains` when the predictions
give no ``active_domains``), a response mentioning ``NAME`` (restaurant, hotel, attraction) or ``TRAINID``
(train) offers the venues that the turn's state selects from the database; the offered set is replaced
whenever it is not a subset of the newly selected venues. ``PHONE``/``ADDRESS``/``POST``/``TRAINID`` in a
response provide that slot, ``REFERENCE`` only in turns where the domain is booked in the reference dialogue.

Inform for a domain: the goal names the venue, or the domain is taxi/police/hospital, or (train) nothing was
offered and no train id was requested, or the offered venues are a non-empty subset of the venues that the
goal's constraints select. In particular a restaurant/hotel/attraction goal whose constraints are empty and for
which no venue was offered is *not* informed. Success for a domain: every requested slot provided, counted
only in dialogues whose Inform holds for every domain. Rates are percentages rounded to one decimal, per
domain over the dialogues whose goal has that domain, and ``total`` over all dialogues.

Example:
    >>> from mmdial_metrics.multiwoz.database import VenueDatabase
    >>> goal = {"hotel": {"informable": {"name": "the lensfield hotel"}, "requestable": ["PHONE"], "booking": []}}
    >>> dialogue_success(goal, [[]], ["its phone is PHONE"], [{}], [["hotel"]], VenueDatabase())
    ({'hotel': True, 'total': True}, {'hotel': True, 'total': True})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mmdial_metrics.multiwoz.database import VENUE_DOMAINS, VenueDatabase

__all__ = ["REQUESTABLE_SLOTS", "aggregate_success", "dialogue_success", "estimate_active_domains"]

#: The placeholders that provide a requested slot.
REQUESTABLE_SLOTS = ("PHONE", "ADDRESS", "POST", "REFERENCE", "TRAINID")
_NO_DATABASE = ("taxi", "police", "hospital")
_MATCHED = "MATCHED"


def estimate_active_domains(states: Sequence[Mapping[str, Mapping[str, Any]]]) -> list[list[str]]:
    """mwzeval's active domain per turn, from which domain's state changed.

    The domain whose (slot, value) pairs grew in this turn becomes current; among several changed domains the
    current one is kept if it changed, else the one with most slots; with no change after a turn where several
    changed, the other previously changed domain still in the state is taken. ``[]`` until a domain changes.

    Example:
        >>> estimate_active_domains([{}, {"hotel": {"area": "east"}}, {"hotel": {"area": "east"}}])
        [[], ['hotel'], ['hotel']]
    """
    current: str | None = None
    old_state: Mapping[str, Mapping[str, Any]] = {}
    old_changed: list[str] = []
    out: list[list[str]] = []
    for state in states:
        changed = [d for d in state if set(state.get(d, {}).items()) - set(old_state.get(d, {}).items())]
        if not changed:
            if current is None:
                out.append([])
                continue
            if len(old_changed) > 1:
                old_changed = [d for d in old_changed if d in state and d != current]
                if old_changed:
                    current = old_changed[0]
        elif current not in changed:
            current = max(changed, key=lambda d: len(state[d]))
        old_state = state
        old_changed = changed
        out.append([current])
    return out


def dialogue_success(
    goal: Mapping[str, Mapping[str, Any]],
    booked_domains: Sequence[Sequence[str]],
    responses: Sequence[str],
    states: Sequence[Mapping[str, Mapping[str, Any]]],
    active_domains: Sequence[Sequence[str]],
    database: VenueDatabase,
) -> tuple[dict[str, bool], dict[str, bool]]:
    """``(inform, success)`` of one dialogue: ``{domain: bool, "total": bool}`` each (``success`` is ``{}``
    when Inform fails). Turns are zipped, so the shortest of the four per-turn sequences bounds them."""
    wanted = {d: set(goal[d]["requestable"]) for d in goal}
    offered: dict[str, Any] = {d: [] for d in goal}
    provided: dict[str, set[str]] = {d: set() for d in goal}
    for response, state, booked, active in zip(responses, states, booked_domains, active_domains, strict=False):
        for domain in goal:
            if domain not in active:
                continue
            names_venue = "NAME" in response and domain in ("restaurant", "hotel", "attraction")
            if names_venue or ("TRAINID" in response and domain == "train"):
                venues = database.query(domain, state[domain]) if domain in state else []
                if not offered[domain] or any(v not in venues for v in offered[domain]):
                    offered[domain] = venues
            for slot in REQUESTABLE_SLOTS:
                if slot in response and (slot != "REFERENCE" or domain in booked):
                    provided[domain].add(slot)
    for domain in goal:
        if "name" in goal[domain]["informable"] or domain in _NO_DATABASE:
            offered[domain] = _MATCHED
        if domain == "train" and not offered["train"] and "TRAINID" not in goal["train"]["requestable"]:
            offered[domain] = _MATCHED
    inform: dict[str, bool] = {}
    for domain in goal:
        ok = offered[domain] == _MATCHED
        if not ok and domain in VENUE_DOMAINS and len(offered[domain]) > 0:
            ok = set(offered[domain]).issubset(set(database.query(domain, goal[domain]["informable"])))
        inform[domain] = ok
    inform["total"] = sum(inform.values()) == len(inform)
    success: dict[str, bool] = {}
    if inform["total"]:
        for domain in goal:
            success[domain] = len(provided[domain] & wanted[domain]) == len(wanted[domain])
        success["total"] = sum(success.values()) >= len(success)
    return inform, success


def aggregate_success(results: Sequence[tuple[Mapping[str, bool], Mapping[str, bool]]]) -> dict[str, dict[str, float]]:
    """Per-domain and total Inform/Success rates (percent, one decimal) from :func:`dialogue_success` results."""
    count: Counter[str] = Counter()
    inform: dict[str, int] = {}
    success: dict[str, int] = {}
    for dialogue_inform, dialogue_success_ in results:
        for domain in set(dialogue_inform) | set(dialogue_success_):
            count[domain] += 1
            inform[domain] = dialogue_inform.get(domain, 0) + inform.get(domain, 0)
            success[domain] = dialogue_success_.get(domain, 0) + success.get(domain, 0)
    return {
        "inform": {d: round(100 * inform[d] / count[d], 1) for d in sorted(inform)},
        "success": {d: round(100 * success[d] / count[d], 1) for d in sorted(success)},
    }
