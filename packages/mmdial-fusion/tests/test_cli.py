from __future__ import annotations

import json
import subprocess
import sys

import yaml

from mmdial_data import read_source, write_dialogues
from mmdial_data.cli import main
from mmdial_data.testing import demo_dir


def test_import_is_fast_and_torch_free() -> None:
    code = "import sys, mmdial_fusion; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_cli_end_to_end_text_only(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "dd.jsonl"
    write_dialogues(read_source("dailydialog", demo_dir() / "dailydialog"), data)
    assert main(["fusion", "build-samples", str(data), "--out", str(tmp_path / "samples")]) == 0
    lines = (tmp_path / "samples" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 9 and not (tmp_path / "samples" / "features.npz").exists()
    config = {
        "backbone": "tiny-gpt2",
        "data": {"train": "samples/train.jsonl", "validation": "samples/train.jsonl", "ablation": "text_only"},
        "train": {"output_dir": "run", "batch_size": 4, "max_steps": 2, "lr": 1e-3},
        "generation": {"max_new_tokens": 4},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    assert main(["fusion", "train", str(tmp_path / "c.yaml")]) == 0
    assert (
        main(
            [
                "fusion",
                "generate",
                str(tmp_path / "run" / "best"),
                str(tmp_path / "samples" / "train.jsonl"),
                "--out",
                str(tmp_path / "gen.jsonl"),
                "--limit",
                "3",
            ]
        )
        == 0
    )
    rows = [json.loads(x) for x in (tmp_path / "gen.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"sample_id", "response", "reference"}
    assert (
        main(
            [
                "fusion",
                "eval",
                str(tmp_path / "run" / "best"),
                str(tmp_path / "samples" / "train.jsonl"),
                "--ablations",
                "text_only",
                "--out",
                str(tmp_path / "scores.json"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "scores.json").read_text())
    assert report["n"] == 9 and set(report["scores"]) == {"text_only"}
    assert 0.0 <= report["scores"]["text_only"]["bleu-1"] <= 1.0
    assert report["signatures"]["bleu-4"].startswith("name:nltk_bleu|nrefs:1|weights:0.25,0.25,0.25,0.25|")
    capsys.readouterr()
    assert (
        main(
            [
                "fusion",
                "eval",
                str(tmp_path / "run" / "best"),
                str(tmp_path / "samples" / "train.jsonl"),
                "--ablations",
                "full",
            ]
        )
        == 2
    )
    assert "uses images" in capsys.readouterr().err
