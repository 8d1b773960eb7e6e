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
    assert fusion["samples"]["train"] >= 1 and fusion["samples"]["test"] >= 1
    assert fusion["samples"]["train"] + fusion["samples"]["test"] <= fusion["samples"]["total"]
    assert set(fusion["trained_now"]) <= {"text_only", "full"}
    for system in ("text_only", "full"):
        assert 0 < fusion["final_train_loss"][system] < 20
    rows = fusion["metrics_table"]
    assert [r["system"] for r in rows] == [
        "text-only model",
        "visual model: full",
        "visual model: no_turn",
        "visual model: no_entity",
        "visual model: images removed",
    ]
    for row in rows:
        assert all(0 <= row[k] <= 1 for k in ("BLEU-1", "ROUGE-L", "Distinct-1", "F1"))
        assert row["held_out_loss"] > 0
    assert fusion["signatures"]["bleu-4"].startswith("name:nltk_bleu|nrefs:1|weights:0.25,0.25,0.25,0.25")
    assert (index.parent / "04_resee_fusion" / "training_loss.png").stat().st_size > 5_000
    assert len(list((index.parent / "04_resee_fusion" / "predictions").glob("*.jsonl"))) == len(rows)


def test_evaluation_notebook(report: tuple[Path, dict[str, Any]]) -> None:
    values = report[1]["values"]["05_evaluation_report"]
    assert values["targets"] == 25
    assert {"echo", "random", "nearest-context"} <= set(values["systems"])
    assert sum(s.startswith("resee:") for s in values["systems"]) == 5  # notebook 04's systems, scored here too
    table = {row["system"]: row for row in values["metrics_table"]}
    sacrebleu = pytest.importorskip("sacrebleu")
    from mmdial_data import read_dialogues

    index = report[0]
    dialogues = list(read_dialogues(index.parent / "01_unify_datasets" / "dataset" / "data"))
    hyps = [d.turns[t.turn_index - 1].text for d in dialogues for t in d.turns[1:]]
    refs = [t.text for d in dialogues for t in d.turns[1:]]
    assert table["echo"]["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    for row in table.values():
        assert 0 <= row["rougeL"] <= 1 and 0 <= row["f1"] <= 1 and 0 < row["distinct_1"] <= 1
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
