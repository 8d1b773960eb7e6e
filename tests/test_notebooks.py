"""The pipeline notebooks execute with small parameters, record sane values, and the report renders.

One module-scoped run of the demo pipeline (scripts/run_demo.py) feeds every assertion here; the browser
check opens reports/index.html in headless Chromium (Debian `chromium`) and fails on any broken image,
broken link or console error.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from run_demo import run

    out = tmp_path_factory.mktemp("reports")
    # a fresh cache: what an earlier run left in datasets/cache/ must not decide what this test sees
    index = run(out, cache_dir=tmp_path_factory.mktemp("cache"))
    record = json.loads((out / "provenance.json").read_text())
    return index, record


ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = [
    "untrained backbone",
    "text-only model",
    "visual model: full",
    "visual model: no_turn",
    "visual model: no_entity",
    "visual model: images removed",
]


def _chitchat_taken() -> int:
    """Chit-Chat conversations of the experiment recipe, counted from dataset.json with json alone: those with at
    least two messages that have text (the recipe's min_turns: 2) whose SHA-1 fraction of "<seed>\\0<dialogue id>"
    is below the source's weight (the documented selection in datasets/recipes/demo_chitchat.yaml)."""
    import hashlib

    import chitchat_dataset
    import yaml

    recipe = yaml.safe_load((ROOT / "datasets" / "recipes" / "demo_chitchat.yaml").read_text())
    (spec,) = [s for s in recipe["sources"] if s["reader"] == "chitchat"]
    data = json.loads((Path(chitchat_dataset.__file__).parent / "dataset.json").read_text())
    taken = 0
    for conv_id, conv in data.items():
        turns = sum(any(u["text"].strip() for u in message) for message in conv["messages"])
        digest = hashlib.sha1(f"{recipe['seed']}\x00chitchat/train/{conv_id}".encode()).digest()
        taken += turns >= recipe["filters"]["min_turns"] and int.from_bytes(digest[:8], "big") / 2**64 < spec["weight"]
    return taken


def test_every_notebook_ran_and_recorded_values(report: tuple[Path, dict[str, Any]]) -> None:
    from nbrun import notebook_paths

    index, record = report
    values = record["values"]
    assert list(values) == [p.stem for p in notebook_paths()]
    for name in values:
        assert (index.parent / f"{name}.html").stat().st_size > 10_000
    unify = values["01_unify_datasets"]
    assert unify["dialogues"] == 8 and unify["turns"] == 33 and unify["skipped"] == 0
    assert unify["sources"] == ["dailydialog", "personachat", "sgd"]
    experiment = unify["experiment"]
    chitchat = _chitchat_taken()
    assert chitchat >= 1000
    assert experiment["per_source"] == {"sgd": 2, "dailydialog": 3, "personachat": 3, "chitchat": chitchat}
    assert experiment["dialogues"] == chitchat + 8 and experiment["skipped"] == 0


def test_pool_and_retrieval_notebook(report: tuple[Path, dict[str, Any]]) -> None:
    values = report[1]["values"]["02_image_pool_and_retrieval"]
    assert values["pool_size"] >= 300 and values["embedded"] == values["pool_size"] - 0 and values["failed"] == 0
    assert values["encoder"].startswith("offline:")
    retrieval = values["retrieval"]
    assert retrieval["queries"] > 0 and 0 <= retrieval["recall_at_1"] <= retrieval["recall_at_5"] <= 1
    # Offline retrieval must beat chance on either pool (Tux Paint: ~14x; fallback: shapes are hard, ~2x).
    assert retrieval["recall_at_10"] > 1.5 * values["random_recall_at_10"]
    assert values["nouns"] == ["kid", "zoo", "elephant", "ice", "cream"]


def test_imad_notebook(report: tuple[Path, dict[str, Any]]) -> None:
    values = report[1]["values"]
    imad = values["03_imad_augmentation"]
    assert imad["dialogues"] == 8 and imad["candidates"] > 0
    assert 0 <= imad["replaced"] <= imad["replaceable"] <= imad["candidates"]
    assert imad["encoder"].startswith("offline") and imad["vqa_backend"] == "lm-caption"
    assert imad["pool_images"] == values["02_image_pool_and_retrieval"]["pool_size"]
    assert imad["embedded_now"] in (0, None)  # 02's embedding cache is reused (None: the whole run was resumed)
    for key in ("plausibility_share", "random_baseline"):
        assert imad[key] is None or 0 <= imad[key] <= 1


def test_fusion_notebook(report: tuple[Path, dict[str, Any]]) -> None:
    index, record = report
    fusion = record["values"]["04_resee_fusion"]
    settings = fusion["settings"]
    samples = fusion["samples"]
    assert samples["test"] >= 200 and samples["test"] == settings["max_test"]
    assert samples["train"] == settings["max_steps"] * settings["batch_size"]  # one pass, one response per dialogue
    assert samples["train"] + samples["test"] == samples["total"]
    assert fusion["dialogues"] == record["values"]["01_unify_datasets"]["experiment"]["dialogues"]
    probe = fusion["probe"]  # at the command's default size: the model reads its images, the ablations do not
    accuracy = {name: system["accuracy"] for name, system in probe["systems"].items()}
    assert probe["settings"]["steps"] == 1000 and probe["settings"]["n_test"] == 500
    assert accuracy["full"] > probe["prior"] + 0.3
    assert accuracy["text_only"] <= probe["prior"] + 0.05 and accuracy["shuffled"] <= probe["prior"] + 0.05
    assert fusion["held_out_dialogues"] >= samples["test"] and sum(fusion["test_by_source"].values()) == samples["test"]
    assert set(fusion["trained_now"]) <= {"text_only", "full"}
    assert fusion["systems"] == SYSTEMS
    for system in ("text_only", "full"):
        assert 0 < fusion["final_train_loss"][system] < 20
    losses = fusion["held_out_loss"]
    assert list(losses) == SYSTEMS
    for name, ci in losses.items():
        assert ci["n"] == samples["test"] and ci["low"] <= ci["loss"] <= ci["high"], name
    untrained = losses["untrained backbone"]["loss"]
    for name in SYSTEMS[1:]:  # every fine-tuned system beats the backbone as it is
        assert losses[name]["loss"] < untrained, name
    by_pair = {(d["a"], d["b"]): d for d in fusion["differences"]}
    for trained in ("text-only model", "visual model: full"):  # clearly: the paired interval is below 0
        d = by_pair[(trained, "untrained backbone")]
        assert d["outside_noise"] and d["low"] <= d["difference"] <= d["high"] < 0
        assert d["difference"] == pytest.approx(losses[trained]["loss"] - untrained, abs=1e-9)
    assert ("visual model: full", "text-only model") in by_pair
    page = index.read_text(encoding="utf-8")  # the report shows n, the intervals and what is outside noise
    assert f"n = {samples['test']} held-out responses" in page and "Paired differences" in page
    assert page.count("<td>yes</td>") == sum(d["outside_noise"] for d in fusion["differences"])
    rows = fusion["metrics_table"]
    assert [r["system"] for r in rows] == SYSTEMS
    for row in rows:
        assert row["n"] == samples["test"]
        for k in ("BLEU-1", "ROUGE-L", "Distinct-1", "F1", "held_out_loss"):
            assert row[f"{k}_low"] <= row[k] <= row[f"{k}_high"], (row["system"], k)
        assert all(0 <= row[k] <= 1 for k in ("BLEU-1", "ROUGE-L", "Distinct-1", "F1"))
    assert fusion["signatures"]["bleu-4"].startswith("name:nltk_bleu|nrefs:1|weights:0.25,0.25,0.25,0.25")
    assert (index.parent / "04_resee_fusion" / "training_loss.png").stat().st_size > 5_000
    assert len(list((index.parent / "04_resee_fusion" / "predictions").glob("*.jsonl"))) == len(rows)


def test_evaluation_notebook(report: tuple[Path, dict[str, Any]]) -> None:
    values = report[1]["values"]["05_evaluation_report"]
    fusion = report[1]["values"]["04_resee_fusion"]
    assert values["targets"] == fusion["samples"]["test"] and values["target_set"] == "notebook 04's held-out responses"
    slugs = ["untrained-backbone", "text-only-model", "visual-full", "visual-images-removed", "visual-no_entity"]
    assert values["systems"] == ["echo", "random", "nearest-context", *sorted([*slugs, "visual-no_turn"])]
    table = {row["system"]: row for row in values["metrics_table"]}
    sacrebleu = pytest.importorskip("sacrebleu")
    from mmdial_data import read_dialogues

    index = report[0]
    dialogues = {d.dialogue_id: d for d in read_dialogues(index.parent / "01_unify_datasets" / "experiment" / "data")}
    turns = [
        json.loads(line) for line in (index.parent / "04_resee_fusion" / "test_turns.jsonl").read_text().splitlines()
    ]
    hyps = [dialogues[t["dialogue_id"]].turns[t["turn_index"] - 1].text for t in turns]
    refs = [dialogues[t["dialogue_id"]].turns[t["turn_index"]].text for t in turns]
    assert len(refs) == values["targets"]
    assert table["echo"]["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    for row in table.values():
        assert row["n"] == values["targets"]
        assert 0 <= row["rougeL"] <= 1 and 0 <= row["f1"] <= 1 and 0 < row["distinct_1"] <= 1
        for m in values["metrics"]:
            assert row[f"{m}_low"] <= row[m] <= row[f"{m}_high"], (row["system"], m)
    assert values["signatures"]["bleu"].startswith("name:bleu|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")


def test_second_run_reuses_the_embedding_cache(report: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    from nbrun import NOTEBOOKS, execute_notebook
    from run_demo import pipeline_parameters

    index, record = report
    params = pipeline_parameters(index.parent, Path(record["config"]["parameters"]["cache_dir"]))
    again = execute_notebook(NOTEBOOKS / "02_image_pool_and_retrieval.py", tmp_path, params)
    first = record["values"]["02_image_pool_and_retrieval"]
    assert again["embedded_now"] == 0 and again["embedded"] == first["embedded"]
    assert again["retrieval"] == first["retrieval"]


def test_provenance_has_versions_git_and_timings(report: tuple[Path, dict[str, Any]]) -> None:
    _, record = report
    assert "mmdial-data" in record["versions"]
    assert record["seed"] == 0 and "commit" in record["git"]
    assert record["timings_s"]["total"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_report_renders_in_headless_chromium(report: tuple[Path, dict[str, Any]]) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        message = "Debian chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    index, _ = report
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.refs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for key, value in attrs:
                if key in ("href", "src") and value and not value.startswith(("data:", "#")):
                    self.refs.append(value)

    parser = Links()
    parser.feed(index.read_text(encoding="utf-8"))
    assert parser.refs, "the index links nothing"
    for ref in parser.refs:
        assert not ref.startswith(("http://", "https://")), f"external link {ref}"
        assert (index.parent / ref).is_file(), f"broken link or image: {ref}"

    port = _free_port()

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    handler = partial(QuietHandler, directory=str(index.parent))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # A page script reports every image that failed to load and every console error into the DOM title.
    probe = index.parent / "probe.html"
    probe.write_text(
        "<!doctype html><html><head><title>pending</title></head><body><script>"
        "const errors=[];window.addEventListener('error',e=>errors.push(String(e.message||e.type)),true);"
        "const f=document.createElement('iframe');f.src='index.html';f.style.width='1200px';f.style.height='900px';"
        "f.onload=()=>{const d=f.contentDocument;const imgs=[...d.images];"
        "const bad=imgs.filter(i=>!i.complete||i.naturalWidth===0).map(i=>i.getAttribute('src'));"
        "document.title=JSON.stringify({images:imgs.length,bad:bad,errors:errors});};"
        "document.body.appendChild(f);</script></body></html>",
        encoding="utf-8",
    )
    profile = tempfile.mkdtemp()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--enable-logging=stderr",
        "--v=0",
    ]
    try:
        proc = subprocess.run(
            [chromium, *flags, "--dump-dom", f"http://127.0.0.1:{port}/probe.html"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        dom = proc.stdout
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        screenshot = index.parent / "screenshot.png"
        subprocess.run(
            [
                chromium,
                *flags,
                f"--screenshot={screenshot}",
                "--window-size=1200,1600",
                f"http://127.0.0.1:{port}/index.html",
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(profile, ignore_errors=True)
    title = dom.split("<title>", 1)[1].split("</title>", 1)[0]
    result = json.loads(title.replace("&quot;", '"'))
    assert result["images"] > 0
    assert result["bad"] == [], f"images that did not load: {result['bad']}"
    assert result["errors"] == [], f"page errors: {result['errors']}"
    assert console == [], f"console messages: {console}"
    assert screenshot.stat().st_size > 10_000
    # Keep a copy of the screenshot under reports/ of the checkout for people to look at.
    keep = Path(__file__).resolve().parent.parent / "reports"
    keep.mkdir(exist_ok=True)
    shutil.copy(screenshot, keep / "index_screenshot.png")
