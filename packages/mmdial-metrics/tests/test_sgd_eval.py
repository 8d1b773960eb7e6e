"""``mmdial eval sgd`` and ``mmdial_metrics.sgd``: parity with the official DSTC8 evaluator, and bad input.

Parity: the prediction folders of ``sgd_cases.py`` (the real SGD sample with deterministic corruptions: case
changes, lowercased categorical values, "none"/"" values, slots the schema lacks, fuzzy-near values, alternative
reference values, wrong intents, requested slots, slot spans; Buses_2 unseen; an evaluation schema without some
slots) scored by mmdial and compared for equality with the official outputs in ``golden/sgd_dstc8.json`` (how
they were made: ``golden/README.md``), for fuzzy (difflib and levenshtein backends) and exact matching, per frame
and across turns.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mmdial_metrics.dst import joint_goal_accuracy
from mmdial_metrics.sgd import evaluate_sgd_dirs, token_sort_ratio
from mmdial_metrics.sgd.evaluator import OFFICIAL_EVALUATOR

HERE = Path(__file__).resolve().parent
GOLDEN = json.loads((HERE / "golden" / "sgd_dstc8.json").read_text(encoding="utf-8"))
DEMO = HERE.parents[2] / "datasets" / "demo" / "sgd" / "train"


def _cases_module() -> Any:
    spec = importlib.util.spec_from_file_location("sgd_cases", HERE / "sgd_cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = _cases_module()


def _golden(case: str) -> dict[str, dict[str, dict[str, float]]]:
    """run -> collection -> metric -> official value."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row_case, run, collection, values in GOLDEN["data"]:
        if row_case == case:
            names = GOLDEN["joint_metrics"] if run.endswith("-turn") else GOLDEN["metrics"]
            out.setdefault(run, {})[collection] = {m: v for m, v in zip(names, values, strict=True) if v is not None}
    return out


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmdial_data.testing import samples_dir

    root = tmp_path_factory.mktemp("sgd")
    CASES.write_layout(samples_dir("schema_guided_dialogue") / "train", root)
    return root


@cache
def _report(root: Path, case: str, matching: str, backend: str) -> dict[str, Any]:
    data = CASES.CASES[case][0]
    return evaluate_sgd_dirs(root / "pred" / case, root / data / "dev", matching=matching, fuzzy_backend=backend)


@pytest.mark.samples
@pytest.mark.parametrize("case", sorted(CASES.CASES))
def test_equals_official_evaluator(layout: Path, case: str) -> None:
    golden = _golden(case)
    assert len(golden) == 6
    for run, expected in golden.items():
        matching = "exact" if run.startswith("exact") else "fuzzy"
        backend = "levenshtein" if "levenshtein" in run else "difflib"
        report = _report(layout, case, matching, backend)
        got = report["metrics_joint_across_turn" if run.endswith("-turn") else "metrics"]
        for collection, values in expected.items():
            assert {m: got[collection][m] for m in values} == values, (case, run, collection)
            domain = collection.split("_")[0]
            if not collection.startswith("#"):  # the domain row repeats the service row (one service per domain)
                assert {m: got[domain][m] for m in values} == values
        if not run.endswith("-turn"):
            assert set(got) == {*expected, "Restaurants", "Events", "Buses"}
            assert set(got[next(iter(expected))]) == set(next(iter(expected.values())))


@pytest.mark.samples
def test_report_names_evaluator_variant_and_seen_services(layout: Path) -> None:
    report = _report(layout, "mixed", "fuzzy", "levenshtein")
    assert report["evaluator"] == OFFICIAL_EVALUATOR
    assert report["variant"] == {"matching": "fuzzy", "fuzzy_backend": "levenshtein"}
    assert report["signature"].startswith("name:sgd_dstc8|match:fuzzy|fuzzy:levenshtein|ref:0c1bbe5fc971")
    assert (report["seen_services"], report["unseen_services"]) == (["Events_2", "Restaurants_1"], ["Buses_2"])
    assert report["inputs"]["dialogues"] == 38 and report["inputs"]["gold_dialogues"] == 38
    assert _report(layout, "mixed", "exact", "difflib")["variant"]["fuzzy_backend"] is None


@pytest.mark.samples
def test_the_gaps_of_the_issue_as_the_official_script(layout: Path) -> None:
    """The official semantics (golden values) where mmdial's generic ``dst.joint_goal_accuracy`` differs."""
    g = {case: _golden(case) for case in ("oracle", "change_case", "lower_categorical", "none_values", "unknown_slot")}
    jga = {c: {r: v["#ALL_SERVICES"]["joint_goal_accuracy"] for r, v in runs.items()} for c, runs in g.items()}
    assert set(jga["oracle"].values()) == {1.0}
    # exact matching is case-sensitive; fuzzy matching lowercases (token_sort_ratio processing)
    assert jga["change_case"]["fuzzy-difflib"] == 1.0 and jga["change_case"]["exact"] == pytest.approx(0.0739, abs=1e-4)
    # categorical values are compared case-sensitively in every mode
    assert len({jga["lower_categorical"][r] for r in ("exact", "fuzzy-difflib", "fuzzy-levenshtein")}) == 1
    assert jga["lower_categorical"]["exact"] == pytest.approx(0.8719, abs=1e-4)
    # "none" and "" are values like any other: predicting them for an absent slot is wrong
    assert jga["none_values"]["exact"] == 0.0 and jga["none_values"]["fuzzy-difflib"] < 0.04
    # the two fuzzy backends differ
    assert jga["none_values"]["fuzzy-levenshtein"] - jga["none_values"]["fuzzy-difflib"] == pytest.approx(
        0.0021, abs=1e-4
    )
    # a predicted slot the schema lacks is ignored
    assert set(jga["unknown_slot"].values()) == {1.0}
    # mmdial's generic dst function lowercases in exact mode and ignores "none"/"": not the official numbers
    assert joint_goal_accuracy([{"city": "SAN JOSE"}], [{"city": "San Jose"}]).score == 1.0
    assert joint_goal_accuracy([{"city": "none"}], [{}]).score == 1.0


def test_token_sort_ratio_matches_fuzzywuzzy() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fuzz = pytest.importorskip("fuzzywuzzy.fuzz")
    backend = "levenshtein" if "StringMatcher" in repr(fuzz.SequenceMatcher) else "difflib"
    pairs = [("The Golden Gate", "golden gate the"), ("7 pm", "7:00 pm"), ("Café Rouge", "cafe rouge"),
             ("北京 Café", "北京 cafe"), ("", ""), ("", "x"), ("!!", "?"), ("Asian", "San Fran"), (5, "5"),
             (None, "x"), ("SF", "San Francisco"), ("İstanbul", "istanbul"), ("x" * 250, "xy" * 130)]  # fmt: skip
    for a, b in pairs:
        assert token_sort_ratio(a, b, backend) == fuzz.token_sort_ratio(a, b), (a, b)
    # the two backends: difflib's greedy matching blocks vs the longest common subsequence
    assert (token_sort_ratio("Asian", "San Fran"), token_sort_ratio("Asian", "San Fran", "levenshtein")) == (31, 62)


def _demo_pred(tmp_path: Path) -> tuple[Path, Path]:
    pred = tmp_path / "pred"
    pred.mkdir()
    shutil.copy(DEMO / "dialogues_001.json", pred / "dialogues_001.json")
    return pred, DEMO / "schema.json"


def test_cli_table_json_and_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mmdial_data", reason='needs the [data] extra: pip install "mmdial-metrics[data]"')
    from mmdial_data.cli import main

    pred, schema = _demo_pred(tmp_path)
    out = tmp_path / "r" / "report.json"
    assert main(["eval", "sgd", str(pred), "--gold", str(DEMO), "--train-schema", str(schema), "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.startswith(OFFICIAL_EVALUATOR + "; matching fuzzy, fuzzy backend difflib")
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["metrics"]["#ALL_SERVICES"]["joint_goal_accuracy"] == 1.0
    assert report["unseen_services"] == [] and "#UNSEEN_SERVICES" not in report["metrics"]
    assert main(["eval", "sgd", str(pred), "--gold", str(DEMO), "--train-schema", str(schema), "--json",
                 "--matching", "exact"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["variant"]["matching"] == "exact"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing_pred", "prediction folder not found; pass a folder"),
        ("unknown_id", "predicted dialogue ids are not in the gold data: 9_99999; predict only dialogues"),
        ("unknown_service", "service Restaurants_1 is not in the schema; pass the schema.json"),
        ("no_train_schema", "no training schema there; pass --train-schema"),
        ("empty_values", "must be a non-empty list of values; drop the slot or give a value"),
        ("no_frame", "no predicted frame for service Restaurants_1; predict a frame"),
        ("utterance", "the utterance differs from the gold one; copy the gold utterances"),
    ],
)
def test_bad_input_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, message: str
) -> None:
    pytest.importorskip("mmdial_data", reason='needs the [data] extra: pip install "mmdial-metrics[data]"')
    from mmdial_data.cli import main

    pred, schema = _demo_pred(tmp_path)
    dialogues = json.loads((pred / "dialogues_001.json").read_text(encoding="utf-8"))
    args, gold = ["--train-schema", str(schema)], DEMO
    frame = dialogues[0]["turns"][0]["frames"][0]
    if damage == "missing_pred":
        pred = tmp_path / "nowhere"
    elif damage == "unknown_id":
        dialogues[0]["dialogue_id"] = "9_99999"
    elif damage == "unknown_service":
        args += ["--schema", str(_write(tmp_path / "other.json", [{"service_name": "Hotels_1", "slots": []}]))]
    elif damage == "no_train_schema":  # the default <gold>/../train/schema.json does not exist
        gold = tmp_path / "data" / "dev"
        shutil.copytree(DEMO, gold)
        args = []
    elif damage == "empty_values":
        frame["state"]["slot_values"] = {"city": []}
    elif damage == "no_frame":
        dialogues[0]["turns"][0]["frames"] = []
    elif damage == "utterance":
        dialogues[0]["turns"][0]["utterance"] += "!"
    if pred.exists():
        _write(pred / "dialogues_001.json", dialogues)
    assert main(["eval", "sgd", str(pred), "--gold", str(gold), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mmdial: error: ") and "\n" not in err and message in err, err
