"""mmdial eval multiwoz against mwzeval (Tomiinek/MultiWOZ_Evaluation @7f19ee0): golden values computed once.

The golden file ``data/multiwoz_golden.json`` holds mwzeval's numbers on prediction sets built from the real
MultiWOZ 2.1 sample (30 validation dialogues) by ``multiwoz_cases.build_cases``; ``data/multiwoz_golden.md``
gives the command. Here the same cases are scored with mmdial's implementation.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("sacremoses", reason='needs the [multiwoz] extra: pip install "mmdial-metrics[multiwoz]"')
pytest.importorskip("rapidfuzz", reason='needs the [multiwoz] extra: pip install "mmdial-metrics[multiwoz]"')

from mmdial_metrics.multiwoz.database import VenueDatabase
from mmdial_metrics.multiwoz.evaluator import EVALUATOR_NAME, MultiWozEvaluator
from mmdial_metrics.multiwoz.fuzzy import partial_ratio
from mmdial_metrics.multiwoz.goals import booked_domains_from_data, goals_from_data, load_data
from mmdial_metrics.multiwoz.normalize import normalize_response
from mmdial_metrics.multiwoz.success import dialogue_success

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "data" / "multiwoz_golden.json").read_text(encoding="utf-8"))
_spec = importlib.util.spec_from_file_location("multiwoz_cases", HERE / "multiwoz_cases.py")
assert _spec is not None and _spec.loader is not None
cases_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases_module)


@pytest.fixture(scope="module")
def val_json() -> Path:
    from mmdial_data.testing import samples_dir

    return samples_dir("multiwoz") / "val.json"


@pytest.fixture(scope="module")
def cases(val_json):
    return cases_module.build_cases(val_json)


@pytest.fixture(scope="module")
def evaluator(val_json) -> MultiWozEvaluator:
    return MultiWozEvaluator.from_files(data=val_json)


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def test_goals_and_booked_domains_equal_mwzeval_files(val_json):
    data = load_data(val_json)
    assert _sha(goals_from_data(data)) == GOLDEN["goals_sha256"]
    assert _sha(booked_domains_from_data(data)) == GOLDEN["booked_domains_sha256"]


@pytest.mark.parametrize("case", sorted(GOLDEN["cases"]))
def test_case_matches_mwzeval(case, cases, evaluator):
    golden = GOLDEN["cases"][case]
    report = evaluator.evaluate(cases[case], bleu=True, success=True, richness=True, dst="dst" in golden)
    assert report["evaluator"] == EVALUATOR_NAME
    assert report["success"] == golden["success"]  # rounded percentages: exact
    assert report["bleu"]["mwz21"] == pytest.approx(golden["bleu"], abs=1e-9)
    assert report["richness"] == pytest.approx(golden["richness"], rel=1e-12)
    if "dst" in golden:
        assert report["dst"] == pytest.approx(golden["dst"], rel=1e-12)


def test_cases_separate_the_paths(cases, evaluator):
    # the golden cases exercise different code paths: given vs estimated domains, gold vs predicted states
    inform = {c: GOLDEN["cases"][c]["success"]["inform"]["total"] for c in GOLDEN["cases"]}
    success = {c: GOLDEN["cases"][c]["success"]["success"]["total"] for c in GOLDEN["cases"]}
    assert inform["delex_state"] == 86.7 and success["delex_state"] == 86.7
    assert success["delex_domains"] == 36.7  # dialogue-act domains instead of estimated ones
    assert inform["no_names"] == 23.3 and inform["wrong_state"] == 30.0
    assert success["lexicalised"] == 0.0


def test_ids_as_multiwoz_spells_them(cases, evaluator):
    upper = {k.upper() + ".json": v for k, v in cases["delex_state"].items()}
    assert evaluator.evaluate(upper)["success"] == GOLDEN["cases"]["delex_state"]["success"]


def test_bleu_gap_raw_versus_normalised(cases, val_json):
    from mmdial_metrics import bleu

    hyps = [t["response"] for d in cases["domain_style"].values() for t in d]
    refs = [r for d in cases_module.raw_references(val_json).values() for r in d]
    raw = bleu(hyps, [[r] for r in refs]).score
    assert raw == pytest.approx(GOLDEN["raw_sacrebleu_domain_style"], abs=1e-9)
    assert GOLDEN["cases"]["domain_style"]["bleu"] - raw > 4.9  # mwzeval normalises before scoring
    normalised = [normalize_response(h) for h in hyps]
    assert hashlib.sha256("\n".join(normalised).encode()).hexdigest() == GOLDEN["normalized_domain_style_sha256"]


def test_empty_constraints_without_offer_is_not_informed():
    db = VenueDatabase()
    goal = {"attraction": {"informable": {}, "requestable": [], "booking": []}}
    got = dialogue_success(goal, [[]], ["there are many colleges in town"], [{}], [["attraction"]], db)
    assert [got[0], got[1]] == GOLDEN["empty_constraints_not_offered"]
    offered = dialogue_success(goal, [[]], ["try NAME"], [{"attraction": {"area": "centre"}}], [["attraction"]], db)
    assert [offered[0], offered[1]] == GOLDEN["empty_constraints_offered"]


def test_database_free_inform_success_keeps_its_documented_rule():
    # mmdial_metrics.dst.inform_success skips goal domains without constraints (scores 1.0 here, mwzeval 0):
    # documented in the README; the mwzeval rule lives in mmdial_metrics.multiwoz.
    from mmdial_metrics.dst import inform_success

    dialogue = {"goal": {"attraction": {"constraints": {}, "requested": []}}, "offered": {}, "provided": {}}
    assert inform_success([dialogue], lambda *_: True) == {"inform": 1.0, "success": 1.0}


def test_partial_ratio_levenshtein_backend_matches_fuzzywuzzy_with_python_levenshtein():
    pairs = GOLDEN["partial_ratio_pairs"]
    assert len(pairs) > 1000
    assert [partial_ratio(a, b) for a, b, _ in pairs] == [r for _, _, r in pairs]
    assert partial_ratio("", "x") == 0 and partial_ratio(None, "x") == 0


def test_partial_ratio_difflib_backend_matches_pure_python_fuzzywuzzy():
    fuzz = pytest.importorskip("fuzzywuzzy.fuzz")
    if fuzz.SequenceMatcher.__module__ != "difflib":
        pytest.skip("fuzzywuzzy uses python-Levenshtein here")
    pairs = GOLDEN["partial_ratio_pairs"]
    assert [partial_ratio(a, b, backend="difflib") for a, b, _ in pairs] == [
        fuzz.partial_ratio(a, b) for a, b, _ in pairs
    ]
    differ = sum(partial_ratio(a, b, backend="difflib") != r for a, b, r in pairs)
    assert differ > 0  # the two backends are not interchangeable


def test_cli_report_and_errors(cases, val_json, tmp_path, capsys):
    from mmdial_data.cli import main

    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps(cases["no_names"]), encoding="utf-8")
    out = tmp_path / "report.json"
    assert main(["eval", "multiwoz", str(pred), "--data", str(val_json), "-b", "-s", "-r", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert EVALUATOR_NAME in table and "====== SUCCESS ======" in table
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["success"] == GOLDEN["cases"]["no_names"]["success"]
    assert report["bleu"]["mwz21"] == pytest.approx(GOLDEN["cases"]["no_names"]["bleu"], abs=1e-9)
    assert report["variant"]["fuzzy_backend"] == "levenshtein"

    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"nosuch0001": [{"response": "hi"}]}), encoding="utf-8")
    assert main(["eval", "multiwoz", str(unknown), "--data", str(val_json), "--success"]) == 2
    assert "no goal" in capsys.readouterr().err
    assert main(["eval", "multiwoz", str(pred), "--success"]) == 2
    assert "--data" in capsys.readouterr().err


def test_dst_needs_predicted_states(cases, evaluator):
    with pytest.raises(ValueError, match="DST needs"):
        evaluator.evaluate(cases["delex_gold_states"], bleu=False, success=False, dst=True)


GOLDEN22 = json.loads((HERE / "data" / "multiwoz22_golden.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def mwz22_dialogues():
    from mmdial_data.testing import samples_dir

    path = samples_dir("multiwoz22") / "dialogstudio" / "task-oriented-dialogues" / "MULTIWOZ2_2"
    return cases_module.load_mwz22_sample(path / "original_examples.json")


def test_mwz22_references_and_gold_states_equal_mwzeval_loader(mwz22_dialogues):
    from mmdial_metrics.multiwoz.goals import references_from_mwz22, states_from_mwz22

    acts = cases_module.synthetic_dialog_acts(mwz22_dialogues)
    assert _sha(references_from_mwz22(mwz22_dialogues, acts)) == GOLDEN22["references_sha256"]
    states = states_from_mwz22(mwz22_dialogues)
    assert _sha(states) == GOLDEN22["states_sha256"]
    assert sum(len(v) for v in states.values()) == GOLDEN22["turns"]


def test_mwz22_dst_matches_mwzeval(mwz22_dialogues):
    from mmdial_metrics.multiwoz.goals import states_from_mwz22

    gold = states_from_mwz22(mwz22_dialogues)
    predictions = {k: [{"response": "", "state": s} for s in v] for k, v in cases_module.perturb_states(gold).items()}
    report = MultiWozEvaluator(gold_states=gold).evaluate(predictions, bleu=False, success=False, dst=True)
    assert report["dst"] == pytest.approx(GOLDEN22["dst_noisy"], rel=1e-12)


def test_load_mwz22_folder(mwz22_dialogues, tmp_path):
    from mmdial_metrics.multiwoz.goals import load_mwz22

    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "dialogues_001.json").write_text(json.dumps(mwz22_dialogues), encoding="utf-8")
    dialogues, acts = load_mwz22(tmp_path)
    assert [d["dialogue_id"] for d in dialogues] == [d["dialogue_id"] for d in mwz22_dialogues] and acts == {}
    (tmp_path / "dialog_acts.json").write_text(json.dumps(cases_module.synthetic_dialog_acts(mwz22_dialogues)))
    ev = MultiWozEvaluator.from_files(mwz22=tmp_path)
    assert _sha(ev.references["mwz22"]) == GOLDEN22["references_sha256"]
    assert _sha(ev.gold_states) == GOLDEN22["states_sha256"]
    with pytest.raises(ValueError, match=r"no MultiWOZ 2\.2"):
        load_mwz22(tmp_path / "test" / "missing")


GOLDEN_NORMALIZE = json.loads((HERE / "data" / "multiwoz_normalize_golden.json").read_text(encoding="utf-8"))


def test_slot_value_normalisation_matches_mwzeval():
    from mmdial_metrics.multiwoz.normalize import normalize_slot_value, time_to_minutes

    pairs, _ = cases_module.normalization_inputs()
    values = [normalize_slot_value(slot, value) for slot, value in pairs]
    assert values == GOLDEN_NORMALIZE["slot_values"]
    assert [time_to_minutes(v) for v in values] == GOLDEN_NORMALIZE["minutes"]


def test_response_normalisation_and_richness_match_mwzeval():
    from mmdial_metrics.multiwoz.evaluator import richness

    _, responses = cases_module.normalization_inputs()
    normalised = [normalize_response(r) for r in responses]
    assert normalised == GOLDEN_NORMALIZE["responses"]
    assert richness(normalised[:2]) == pytest.approx(GOLDEN_NORMALIZE["richness_short"], rel=1e-12)
    assert richness(normalised) == pytest.approx(GOLDEN_NORMALIZE["richness_all"], rel=1e-12)


def test_from_files_limits_to_the_predicted_dialogues(cases, val_json):
    some = {k: cases["delex_state"][k] for k in ("pmul1635", "mul2690", "sng0019")}
    ev = MultiWozEvaluator.from_files(data=val_json, dialogue_ids=["PMUL1635.json", "mul2690", "SNG0019"])
    assert sorted(ev.goals) == sorted(ev.references["mwz21"]) == sorted(some)
    full = MultiWozEvaluator.from_files(data=val_json)
    assert ev.evaluate(some) == full.evaluate(some)


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        ({"response": 3}, "a response must be a string"),
        ({"response": "hi", "state": {"hotel": {"area": ["east"]}}}, "'state' must be"),
        ({"response": "hi", "state": ["hotel"]}, "'state' must be"),
        ({"response": "hi", "active_domains": "hotel"}, "'active_domains' must be"),
        ({"text": "hi"}, "each a dict with a 'response'"),
    ],
)
def test_bad_turns_are_value_errors(turn, message):
    with pytest.raises(ValueError, match=message):
        MultiWozEvaluator().evaluate({"sng0073": [turn]}, bleu=False, success=False, richness=True)


def test_duplicate_ids_and_non_object_input_are_value_errors():
    with pytest.raises(ValueError, match="appears twice"):
        MultiWozEvaluator().evaluate({"SNG0073.json": [], "sng0073": []}, bleu=False, success=False)
    with pytest.raises(ValueError, match="JSON object"):
        MultiWozEvaluator().evaluate([], bleu=False, success=False)  # type: ignore[arg-type]
