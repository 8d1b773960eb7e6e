"""mwzeval-compatible MultiWOZ evaluation: BLEU, Inform/Success (per domain), lexical richness and DST.

Input: mwzeval's prediction format ``{dialogue_id: [{"response": str, "state": {domain: {slot: value}},
"active_domains": [domain, ...]}, ... one per system turn]}`` (``state`` and ``active_domains`` optional).
As in mwzeval, predictions are normalised first (:func:`.normalize.normalize_predictions`); when *any* turn
lacks ``state`` the gold states are used for every turn, and when any turn lacks ``active_domains`` the domains
are estimated from the states for every turn. Ids may be given as mwzeval wants them (``"pmul1635"``) or as
MultiWOZ spells them (``"PMUL1635.json"``).

Example (needs ``sacremoses`` and ``rapidfuzz``, the ``multiwoz`` extra)::

    ev = MultiWozEvaluator.from_files(data="data.json")      # goals, booked domains, references, gold states
    report = ev.evaluate(predictions, bleu=True, success=True, richness=True)
    report["success"]["inform"]["total"], report["bleu"]["mwz21"]
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mmdial_metrics.multiwoz.database import VenueDatabase
from mmdial_metrics.multiwoz.fuzzy import partial_ratio
from mmdial_metrics.multiwoz.goals import (
    booked_domains_from_data,
    dialogue_key,
    goals_from_data,
    load_data,
    load_mwz22,
    references_from_data,
    references_from_mwz22,
    states_from_data,
    states_from_mwz22,
)
from mmdial_metrics.multiwoz.normalize import normalize_predictions
from mmdial_metrics.multiwoz.success import aggregate_success, dialogue_success, estimate_active_domains

__all__ = [
    "EVALUATOR_NAME",
    "MWZEVAL_COMMIT",
    "REFERENCE_SETS",
    "MultiWozEvaluator",
    "bleu_score",
    "dst_scores",
    "richness",
]

#: The mwzeval commit whose behaviour this module reproduces.
MWZEVAL_COMMIT = "7f19ee01ffd97652bfad5b067fce40704d9c9de2"
#: How reports name this evaluator.
EVALUATOR_NAME = f"mwzeval-compatible (Tomiinek/MultiWOZ_Evaluation @{MWZEVAL_COMMIT[:7]})"
#: What each reference set name means (reports carry it next to the BLEU numbers).
REFERENCE_SETS = {
    "mwz22": "MultiWOZ 2.2 system turns delexicalised with dialog_acts.json spans (mwzeval's canonical 'mwz22')",
    "mwz21": "MultiWOZ 2.1 data.json system turns delexicalised with span_info (not one of mwzeval's sets)",
}
_SPACES = re.compile(r"\s+")
_PUNCTUATION = ["``", "''", "'", ".", ",", "?", "!", ")", "(", "%", "/", "-", "_", "-LRB-", "-RRB-", "SYM", ":", ";"]


def bleu_score(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu ``corpus_bleu(hyps, [refs]).score`` (13a, exp smoothing, mixed case), as mwzeval's ``get_bleu``."""
    from mmdial_metrics.bleu_sacrebleu import bleu

    return float(bleu(list(hypotheses), [[r] for r in references]).score)


def _richness_tokens(text: str) -> list[str]:
    for p in _PUNCTUATION:
        text = text.replace(p, "")
    text = _SPACES.sub(" ", text)
    return text.lower().split(" ")


def richness(responses: Sequence[str]) -> dict[str, float]:
    """mwzeval's lexical richness of normalised responses (``lexical_diversity`` tokens, MSTTR-50, entropies)."""
    if not responses:
        raise ValueError("richness: no responses given; pass at least one turn")
    grams: list[Counter[Any]] = [Counter(), Counter(), Counter()]
    all_tokens: list[str] = []
    length = 0
    for response in responses:
        tokens = _richness_tokens(response)
        all_tokens.extend(tokens)
        length += len(tokens)
        grams[0].update(tokens)
        grams[1].update(itertools.pairwise(tokens))
        grams[2].update(zip(tokens, tokens[1:], tokens[2:], strict=False))
    window = 50
    if len(all_tokens) < window + 1:
        msttr = len(set(all_tokens)) / len(all_tokens) if all_tokens else 0
    else:
        segments = len(all_tokens) // window
        msttr = sum(len(set(all_tokens[i * window : (i + 1) * window])) / window for i in range(segments)) / segments
    total = sum(grams[0].values())
    entropy = -sum((c / total) * math.log(c / total, 2) for c in grams[0].values())
    cond_entropy = -sum((c / total) * math.log(c / grams[0][h], 2) for (h, _), c in grams[1].items())
    return {
        "entropy": entropy,
        "cond_entropy": cond_entropy,
        "avg_lengths": length / len(responses),
        "msttr": msttr,
        "num_unigrams": len(grams[0]),
        "num_bigrams": len(grams[1]),
        "num_trigrams": len(grams[2]),
    }


def _flatten(state: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], Any]:
    return {(d, s): v for d, slots in state.items() for s, v in slots.items()}


def dst_scores(
    predicted: Sequence[Mapping[str, Mapping[str, Any]]],
    gold: Sequence[Mapping[str, Mapping[str, Any]]],
    *,
    fuzzy_ratio: int = 95,
    fuzzy_backend: str = "levenshtein",
) -> dict[str, float]:
    """mwzeval's DST scores: joint accuracy (percent), slot F1 (percent), slot precision and recall (fractions).

    A slot matches when both states have it and ``partial_ratio(pred, gold) > fuzzy_ratio``; a turn is a joint
    match when both have the same slots and all match. As in mwzeval, 1e-10 is added to each denominator.
    """
    if len(predicted) != len(gold):
        raise ValueError(f"dst_scores: {len(predicted)} predicted states but {len(gold)} gold states")

    def same(a: Any, b: Any) -> bool:
        return partial_ratio(a, b, backend=fuzzy_backend) > fuzzy_ratio

    joint = tp = fp = fn = 0
    for p_state, g_state in zip(predicted, gold, strict=True):
        hyp, ref = _flatten(p_state), _flatten(g_state)
        if hyp.keys() == ref.keys() and all(same(hyp[k], ref[k]) for k in ref):
            joint += 1
        for slot, value in hyp.items():
            if slot in ref and same(value, ref[slot]):
                tp += 1
            else:
                fp += 1
        fn += sum(1 for slot, value in ref.items() if slot not in hyp or not same(hyp[slot], value))
    precision = tp / (tp + fp + 1e-10)
    recall = tp / (tp + fn + 1e-10)
    return {
        "joint_accuracy": joint / (len(predicted) + 1e-10) * 100,
        "slot_f1": 2 * precision * recall / (precision + recall + 1e-10) * 100,
        "slot_precision": precision,
        "slot_recall": recall,
    }


class MultiWozEvaluator:
    """Scores mwzeval-format predictions against goals, booked domains, references and gold states.

    Args:
        goals: ``{dialogue_id: goal}`` as :func:`.goals.goals_from_data` builds them.
        booked_domains: ``{dialogue_id: [[domain, ...] per system turn]}``.
        references: ``{reference_name: {dialogue_id: [normalised system turn, ...]}}`` for BLEU.
        gold_states: ``{dialogue_id: [state per system turn]}``: Inform/Success without predicted states, and DST.
        database: the venue database (default: the bundled MultiWOZ one).
        fuzzy_backend: ``"levenshtein"`` (mwzeval as its requirements install it) or ``"difflib"``.
    """

    def __init__(
        self,
        *,
        goals: Mapping[str, Any] | None = None,
        booked_domains: Mapping[str, Any] | None = None,
        references: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        gold_states: Mapping[str, Any] | None = None,
        database: VenueDatabase | None = None,
        fuzzy_backend: str = "levenshtein",
    ) -> None:
        self.goals = {dialogue_key(k): v for k, v in (goals or {}).items()}
        self.booked_domains = {dialogue_key(k): v for k, v in (booked_domains or {}).items()}
        self.references = {n: {dialogue_key(k): v for k, v in r.items()} for n, r in (references or {}).items()}
        self.gold_states = {dialogue_key(k): v for k, v in (gold_states or {}).items()}
        self.fuzzy_backend = fuzzy_backend
        self._database = database
        self.sources: dict[str, str] = {}

    @property
    def database(self) -> VenueDatabase:
        """The venue database (loaded on first use)."""
        if self._database is None:
            self._database = VenueDatabase(fuzzy_backend=self.fuzzy_backend)
        return self._database

    @classmethod
    def from_files(
        cls,
        *,
        data: str | Path | None = None,
        mwz22: str | Path | None = None,
        db_dir: str | Path | None = None,
        fuzzy_backend: str = "levenshtein",
        dialogue_ids: Iterable[str] | None = None,
    ) -> MultiWozEvaluator:
        """Build from MultiWOZ files: ``data`` (2.0/2.1 ``data.json``: goals, booked domains, ``mwz21``
        references and gold states) and/or ``mwz22`` (MultiWOZ 2.2 folder: the ``mwz22`` references and gold
        states mwzeval uses, which then replace the 2.1 gold states). ``dialogue_ids`` (any spelling) limits
        what is built to those dialogues (normalising every reference turn of MultiWOZ takes a while)."""
        keep = None if dialogue_ids is None else {dialogue_key(i) for i in dialogue_ids}
        if data is None and mwz22 is None:
            raise ValueError("no MultiWOZ data given; pass data= (data.json) and/or mwz22= (the MultiWOZ_2.2 folder)")
        goals: dict[str, Any] = {}
        booked: dict[str, Any] = {}
        references: dict[str, dict[str, list[str]]] = {}
        states: dict[str, Any] = {}
        sources: dict[str, str] = {}
        if data is not None:
            loaded = load_data(data)
            if keep is not None:
                loaded = {k: v for k, v in loaded.items() if k in keep}
            goals, booked = goals_from_data(loaded), booked_domains_from_data(loaded)
            references["mwz21"] = references_from_data(loaded)
            states = states_from_data(loaded)
            sources.update(goals=str(data), booked_domains=str(data), gold_states=str(data))
        if mwz22 is not None:
            dialogues, acts = load_mwz22(mwz22)
            if keep is not None:
                dialogues = [d for d in dialogues if dialogue_key(d["dialogue_id"]) in keep]
            if acts:
                references["mwz22"] = references_from_mwz22(dialogues, acts)
            states = states_from_mwz22(dialogues)
            sources.update(gold_states=str(mwz22))
        database = VenueDatabase(db_dir, fuzzy_backend=fuzzy_backend)
        sources["database"] = str(database.db_dir)
        ev = cls(
            goals=goals,
            booked_domains=booked,
            references=references,
            gold_states=states,
            database=database,
            fuzzy_backend=fuzzy_backend,
        )
        ev.sources = sources
        return ev

    def _check_ids(self, ids: Sequence[str], table: Mapping[str, Any], what: str, flag: str) -> None:
        missing = [i for i in ids if i not in table]
        if missing:
            raise ValueError(
                f"{len(missing)} predicted dialogue(s) have no {what} (e.g. {missing[0]!r}); "
                f"pass MultiWOZ data holding them ({flag}) or drop them from the predictions"
            )

    def evaluate(
        self,
        predictions: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        bleu: bool = True,
        success: bool = True,
        richness: bool = False,
        dst: bool = False,
    ) -> dict[str, Any]:
        """mwzeval's ``Evaluator(bleu, success, richness, dst).evaluate(predictions)`` plus the report header."""
        data = _keyed(predictions)
        normalised = normalize_predictions(data)
        ids = list(normalised)
        report: dict[str, Any] = {
            "evaluator": EVALUATOR_NAME,
            "variant": {
                "bleu": "sacrebleu corpus_bleu 13a exp, normalised text",
                "fuzzy_backend": self.fuzzy_backend,
                "venue_fuzzy_ratio": self.database.fuzzy_ratio if success else None,
                "dst_fuzzy_ratio": 95,
                "bleu_references": {n: REFERENCE_SETS.get(n, "user-given") for n in self.references} if bleu else None,
            },
            "dialogues": len(ids),
            "turns": sum(len(t) for t in normalised.values()),
            "sources": dict(self.sources),
            "bleu": None,
            "success": None,
            "richness": None,
            "dst": None,
        }
        if bleu:
            if not self.references:
                raise ValueError("BLEU needs references; pass MultiWOZ data (--data / --mwz22) or drop --bleu")
            report["bleu"] = {}
            for name, refs in self.references.items():
                self._check_ids(ids, refs, f"{name} reference", "--data/--mwz22")
                hyps, gold = [], []
                for i in ids:
                    for t, turn in enumerate(normalised[i]):
                        if t >= len(refs[i]):
                            raise ValueError(
                                f"{i}: {len(normalised[i])} predicted turns but {len(refs[i])} system turns"
                            )
                        hyps.append(turn["response"])
                        gold.append(refs[i][t])
                report["bleu"][name] = bleu_score(hyps, gold)
        if success:
            report["success"] = self._success(normalised, ids)
        if richness:
            report["richness"] = globals()["richness"]([t["response"] for i in ids for t in normalised[i]])
        if dst:
            report["dst"] = self._dst(data, normalised, ids)
        return report

    def _states(
        self, normalised: Mapping[str, Sequence[Mapping[str, Any]]], ids: Sequence[str]
    ) -> dict[str, list[Any]]:
        if all("state" in t for i in ids for t in normalised[i]):
            return {i: [t["state"] for t in normalised[i]] for i in ids}
        self._check_ids(ids, self.gold_states, "gold states", "--data/--mwz22")
        return {i: [self.gold_states[i][k] for k in range(len(normalised[i]))] for i in ids}

    def _success(self, normalised: Mapping[str, Sequence[Mapping[str, Any]]], ids: Sequence[str]) -> dict[str, Any]:
        self._check_ids(ids, self.goals, "goal", "--data")
        self._check_ids(ids, self.booked_domains, "booked domains", "--data")
        states = self._states(normalised, ids)
        given = all("active_domains" in t for i in ids for t in normalised[i])
        results = []
        for i in ids:
            active = [list(t["active_domains"]) for t in normalised[i]] if given else estimate_active_domains(states[i])
            responses = [t["response"] for t in normalised[i]]
            results.append(
                dialogue_success(self.goals[i], self.booked_domains[i], responses, states[i], active, self.database)
            )
        return aggregate_success(results)

    def _dst(self, data: Mapping[str, Any], normalised: Mapping[str, Any], ids: Sequence[str]) -> dict[str, float]:
        if not all("state" in t for i in ids for t in data[i]):
            raise ValueError("DST needs a predicted 'state' in every turn; add them or drop --dst")
        self._check_ids(ids, self.gold_states, "gold states", "--data/--mwz22")
        predicted = [t["state"] for i in ids for t in normalised[i]]
        gold = [self.gold_states[i][k] for i in ids for k in range(len(normalised[i]))]
        return dst_scores(predicted, gold, fuzzy_backend=self.fuzzy_backend)


def _keyed(predictions: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    if not isinstance(predictions, Mapping):
        raise ValueError("predictions must be a JSON object {dialogue_id: [turn, ...]} (mwzeval's input format)")
    out: dict[str, list[Mapping[str, Any]]] = {}
    for raw_id, turns in predictions.items():
        key = dialogue_key(raw_id)
        if key in out:
            raise ValueError(f"dialogue {raw_id!r} appears twice (ids are compared lowercase, without .json)")
        if not isinstance(turns, list) or not all(isinstance(t, Mapping) and "response" in t for t in turns):
            raise ValueError(f"dialogue {raw_id!r}: expected a list of turns, each a dict with a 'response'")
        for index, turn in enumerate(turns):
            _check_turn(raw_id, index, turn)
        out[key] = turns
    return out


def _check_turn(dialogue_id: str, index: int, turn: Mapping[str, Any]) -> None:
    where = f"dialogue {dialogue_id!r} turn {index}"
    state = turn.get("state")
    if "state" in turn and not (
        isinstance(state, Mapping)
        and all(
            isinstance(slots, Mapping) and all(isinstance(v, str) for v in slots.values()) for slots in state.values()
        )
    ):
        raise ValueError(f"{where}: 'state' must be {{domain: {{slot: value string}}}} (one value per slot)")
    domains = turn.get("active_domains")
    if "active_domains" in turn and not (isinstance(domains, list) and all(isinstance(d, str) for d in domains)):
        raise ValueError(f"{where}: 'active_domains' must be a list of domain names")
