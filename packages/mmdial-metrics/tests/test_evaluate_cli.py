"""``mmdial eval`` and ``evaluate_dialogues`` end to end, on unified data built from datasets/demo."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mmdial_metrics import get_metric
from mmdial_metrics.bootstrap import bootstrap_ci
from mmdial_metrics.evaluate import evaluate_dialogues

mmdial_data = pytest.importorskip("mmdial_data", reason='needs the [data] extra: pip install "mmdial-metrics[data]"')
from mmdial_data.cli import main  # noqa: E402
from mmdial_data.errors import MMDialDataError  # noqa: E402

DEMO = Path(__file__).resolve().parents[3] / "datasets" / "demo"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Parquet shards of the demo SGD, DailyDialog and PersonaChat dialogues (made with `mmdial convert`)."""
    from mmdial_data import read_dialogues, write_dialogues

    tmp = tmp_path_factory.mktemp("eval")
    parts = []
    for source, path in [
        ("sgd", DEMO / "sgd" / "train"),
        ("dailydialog", DEMO / "dailydialog"),
        ("personachat", DEMO / "personachat"),
    ]:
        out = tmp / f"{source}.jsonl"
        assert main(["convert", source, str(path), "--out", str(out)]) == 0
        parts.append(out)
    shards = tmp / "shards"
    shards.mkdir()
    for i, part in enumerate(parts):
        write_dialogues(read_dialogues(part), shards / f"part-{i:05d}.parquet")
    return shards


def _turns(dataset: Path) -> list[tuple[str, str, int, str]]:
    from mmdial_data import read_dialogues

    return [(d.dialogue_id, d.source, t.turn_index, t.text) for d in read_dialogues(dataset) for t in d.turns]


def _write_preds(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def predictions(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    rng = random.Random(0)
    rows = []
    for did, _source, tix, text in _turns(dataset):
        if tix % 2 == 0:  # predict every other turn
            words = text.split()
            rng.shuffle(words)
            pred = " ".join(words[: max(1, len(words) - 1)])
            rows.append({"dialogue_id": did, "turn_index": tix, "prediction": pred})
    rng.shuffle(rows)  # order must not matter
    return _write_preds(tmp_path_factory.mktemp("preds") / "preds.jsonl", rows), rows


def test_cli_report_matches_direct_metrics(dataset, predictions, tmp_path, capsys):
    path, rows = predictions
    out = tmp_path / "report.json"
    status = main(
        [
            "eval",
            str(path),
            "--refs",
            str(dataset),
            "--metrics",
            "bleu",
            "rougeL",
            "f1",
            "distinct_2",
            "--bootstrap",
            "200",
            "--seed",
            "7",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "overall" in printed and "name:bleu|nrefs:1" in printed
    report = json.loads(out.read_text())
    assert report["n_predictions"] == len(rows)
    assert set(report["per_source"]) == {"sgd", "dailydialog", "personachat"}
    # the numbers are those of the metrics on the matched (prediction, turn text) pairs
    text = {(d, t): x for d, _s, t, x in _turns(dataset)}
    source = {d: s for d, s, _t, _x in _turns(dataset)}
    for group in ["overall", "sgd", "dailydialog", "personachat"]:
        sel = [r for r in rows if group == "overall" or source[r["dialogue_id"]] == group]
        preds = [r["prediction"] for r in sel]
        refs = [[text[r["dialogue_id"], r["turn_index"]]] for r in sel]
        scores = report["overall"] if group == "overall" else report["per_source"][group]
        for name in ["bleu", "rougeL", "f1", "distinct_2"]:
            metric = get_metric(name)
            r_arg = refs if metric.needs_references else None
            assert scores[name]["score"] == metric.score(preds, r_arg).score  # the same float64 computation
            assert scores[name]["n"] == len(sel)
            ci = bootstrap_ci(metric, preds, r_arg, n_samples=200, seed=7)
            assert (scores[name]["low"], scores[name]["high"]) == (ci["low"], ci["high"])  # same seed
            assert scores[name]["low"] <= scores[name]["score"] + 1e-9
    assert report["metrics"]["bleu"]["signature"] == get_metric("bleu").signature(1)
    assert report["metrics"]["distinct_2"]["signature"].startswith("name:distinct_2|n:2")
    prov = report["provenance"]
    assert prov["seed"] == 7 and prov["config"]["metrics"] == ["bleu", "rougeL", "f1", "distinct_2"]
    assert str(path) in prov["inputs"] and len(prov["inputs"]) == 4  # predictions + 3 shards
    assert "mmdial-metrics" in prov["versions"]


def test_seeded_and_options(dataset, predictions, capsys):
    path, _ = predictions
    a = evaluate_dialogues(path, dataset, metrics=["bleu"], n_bootstrap=50, seed=3)
    b = evaluate_dialogues(path, dataset, metrics=["bleu"], n_bootstrap=50, seed=3)
    c = evaluate_dialogues(path, dataset, metrics=["bleu"], n_bootstrap=50, seed=4)
    assert a["overall"] == b["overall"] and a["overall"]["bleu"]["low"] != c["overall"]["bleu"]["low"]
    assert (
        main(
            [
                "eval",
                str(path),
                "--refs",
                str(dataset),
                "--metrics",
                "bleu",
                "--option",
                "bleu.tokenize=none",
                "--bootstrap",
                "0",
                "--json",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert "|tok:none|" in report["metrics"]["bleu"]["signature"] and "low" not in report["overall"]["bleu"]


def test_jsonl_file_refs_and_records(dataset, tmp_path):
    from mmdial_data import read_dialogues, write_dialogues

    refs = tmp_path / "refs.jsonl"
    write_dialogues(read_dialogues(dataset), refs)
    turns = _turns(dataset)
    records = [{"dialogue_id": d, "turn_index": t, "prediction": x} for d, _s, t, x in turns]
    report = evaluate_dialogues(records, refs, metrics=["f1", "exact_match"], n_bootstrap=20)
    assert report["overall"]["f1"]["score"] == pytest.approx(1.0)
    assert report["overall"]["exact_match"]["score"] == get_metric("exact_match").score(["a"], [["a"]]).score
    assert report["provenance"]["inputs"] == {str(refs): mmdial_data.provenance.file_sha256(refs)}


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (
            ['{"dialogue_id": "sgd/train/1_00000", "turn_index": 0, "prediction": "hi"}', "{not json"],
            r"preds\.jsonl, line 2: invalid JSON",
        ),
        (
            ['{"dialogue_id": "nope/1", "turn_index": 0, "prediction": "hi"}'],
            r"preds\.jsonl, line 1: dialogue 'nope/1' is not in the references",
        ),
        (
            ['{"dialogue_id": "sgd/train/1_00000", "turn_index": 99, "prediction": "hi"}'],
            r"preds\.jsonl, line 1: dialogue 'sgd/train/1_00000' has no turn 99",
        ),
        (
            [
                '{"dialogue_id": "sgd/train/1_00000", "turn_index": 0, "prediction": "a"}',
                "",
                '{"dialogue_id": "sgd/train/1_00000", "turn_index": 0, "prediction": "b"}',
            ],
            r"line 3: duplicate prediction for dialogue 'sgd/train/1_00000' turn 0 \(first at line 1\)",
        ),
        (['{"dialogue_id": "sgd/train/1_00000", "prediction": "a"}'], r"line 1: missing field\(s\) turn_index"),
        (['{"dialogue_id": "sgd/train/1_00000", "turn_index": "0", "prediction": "a"}'], r"line 1: turn_index must be"),
        (['{"dialogue_id": "sgd/train/1_00000", "turn_index": 0, "prediction": null}'], r"line 1: prediction must be"),
        (["[1, 2]"], r"line 1: expected a JSON object"),
        ([""], r"preds\.jsonl: no predictions"),
    ],
)
def test_bad_predictions(dataset, tmp_path, capsys, lines, match):
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(MMDialDataError, match=match):
        evaluate_dialogues(path, dataset, metrics=["bleu"], n_bootstrap=0)
    assert main(["eval", str(path), "--refs", str(dataset), "--metrics", "bleu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mmdial: error: ") and "preds.jsonl" in err


def test_usage_errors(dataset, predictions, tmp_path, capsys):
    path, _ = predictions
    assert main(["eval", str(path), "--refs", str(dataset), "--metrics", "bleu4"]) == 2
    assert "did you mean 'bleu'" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.jsonl"), "--refs", str(dataset)]) == 2
    assert "no such predictions file" in capsys.readouterr().err
    assert main(["eval", str(path), "--refs", str(dataset), "--option", "bleu"]) == 2
    assert "NAME.KEY=VALUE" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not requested"):
        evaluate_dialogues(path, dataset, metrics=["f1"], metric_options={"bleu": {}})


def test_point_estimate_inside_interval_all_default_metrics(dataset, predictions):
    """Every default metric's interval holds its point estimate, overall and per source (demo data).

    Corpus diversity metrics are biased downwards under resampling with replacement (duplicates look
    repetitive); they use half-sampling without replacement instead.
    """
    from mmdial_metrics.evaluate import DEFAULT_METRICS

    path, _rows = predictions
    report = evaluate_dialogues(path, dataset, n_bootstrap=200, seed=0)
    assert set(report["overall"]) == set(DEFAULT_METRICS)
    for group in [report["overall"], *report["per_source"].values()]:
        for name, s in group.items():
            assert s["low"] <= s["score"] <= s["high"], (name, s)
            expected = "half-sampling" if get_metric(name).resampling_sensitive else "percentile"
            assert s["ci_method"] == expected
    assert report["overall"]["distinct_1"]["ci_method"] == "half-sampling"
    assert report["overall"]["bleu"]["ci_method"] == "percentile"


def test_half_sampling_needs_four_items():
    ci = bootstrap_ci(get_metric("distinct_2"), ["a b", "a b", "c d"], n_samples=20)
    assert ci["low"] is None and ci["high"] is None and "needs >= 4 items" in ci["note"]


def test_eval_group_default_and_explicit_turns_are_the_same_command(dataset, predictions, capsys):
    path, _ = predictions
    assert main(["eval", str(path), "--refs", str(dataset), "--metrics", "bleu", "--bootstrap", "0", "--json"]) == 0
    implicit = json.loads(capsys.readouterr().out)
    args = ["eval", "turns", str(path), "--refs", str(dataset), "--metrics", "bleu", "--bootstrap", "0", "--json"]
    assert main(args) == 0
    explicit = json.loads(capsys.readouterr().out)
    assert implicit["overall"] == explicit["overall"]
    assert main(["eval"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == [
        "mmdial: error: mmdial eval: choose an evaluator (turns, multiwoz, sgd) or give PREDICTIONS; "
        "see `mmdial eval --help`"
    ]
