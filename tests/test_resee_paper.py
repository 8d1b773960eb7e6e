"""The paper-scale ReSee recipe (scripts/resee_paper.py): its configs resolve, it refuses bad input in one line,
and it runs end to end with tiny parts on the CPU (the real run needs a GPU, the user's data and weights)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "packages" / "mmdial-fusion" / "examples" / "resee-paper"
PAPER_VARS = {"DAILYDIALOG": "/d/dd", "WOW": "/d/wow", "COCO": "/d/coco", "CLIP_WEIGHTS": "/m/clip.pt", "T5": "/m/t5"}


@pytest.fixture(scope="module")
def paper():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "scripts"))
    import resee_paper

    return resee_paper


@pytest.mark.parametrize("name", ["resee-dd-t5.yaml", "resee-wow-t5.yaml"])
def test_paper_configs_resolve_to_resees_setting(paper, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = paper.load_config(CONFIGS / name, PAPER_VARS)
    assert config["encoder"] == "openclip:ViT-B-32:/m/clip.pt" and config["experiment"]["backbone"] == "/m/t5"
    train = config["experiment"]["train"]
    assert (train["batch_size"], train["lr"]) == (12, 5.0e-3)  # run_ReSee.sh
    assert train["epochs"] == (25 if "dd" in name else 30)
    assert config["experiment"]["data"]["max_entity_images"] == (6 if "dd" in name else 8)
    assert config["systems"] == ["full", "no_entity", "no_turn", "text_only"]
    steps = paper.plan(config, tmp_path)
    names = [s[0] for s in steps]
    assert names[0] == "build" and names[-1] == "eval-text_only" and "index" in names and "samples" in names
    assert [n for n in names if n.startswith("train-")] == [f"train-{s}" for s in config["systems"]]
    index = next(argv for n, argv, _ in steps if n == "index")
    assert index[index.index("--encoder") + 1] == "openclip:ViT-B-32:/m/clip.pt"
    cfg = paper.train_config(config, "no_turn", tmp_path)
    assert cfg["data"]["ablation"] == "no_turn" and cfg["train"]["output_dir"] == str(tmp_path / "runs" / "no_turn")


def test_bad_configs_get_one_line_and_exit_2(paper, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name in PAPER_VARS:
        monkeypatch.delenv(name, raising=False)
    rc = paper.main([str(CONFIGS / "resee-dd-t5.yaml"), "--out", str(tmp_path / "o"), "--dry-run"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("mmdial: error: ") and "--set DAILYDIALOG=VALUE" in err[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"dialogues": [], "imagez": []}))
    assert paper.main([str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unknown keys ['imagez']" in capsys.readouterr().err
    args = [str(CONFIGS / "resee-dd-t5.yaml"), "--out", str(tmp_path / "o"), "--dry-run"]
    args += [f"--set={k}={v}" for k, v in PAPER_VARS.items()]
    assert paper.main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 + 2 + 1 + 1 + 4 + 4 and all(line.startswith("(dry run) mmdial ") for line in printed)
    assert not (tmp_path / "o" / "recipe.yaml").exists()  # a dry run writes nothing but the folder


def test_tiny_paper_run_end_to_end(paper, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    skimage = pytest.importorskip("skimage")
    config = {
        "name": "resee-tiny",
        "dialogues": [{"reader": "dailydialog", "paths": [str(ROOT / "datasets" / "demo" / "dailydialog")]},
                      {"reader": "personachat", "paths": [str(ROOT / "datasets" / "demo" / "personachat")]}],
        "images": [{"format": "captions", "path": str(ROOT / "datasets" / "fallback_pool" / "skimage_captions.jsonl"),
                    "image_root": str(Path(skimage.__file__).parent / "data")}],
        "encoder": "openclip:mmdial-tiny",
        "samples": {"entities": True, "max_turn_images": 2, "max_entity_images": 2},
        "experiment": {"backbone": "tiny-t5", "seed": 0, "data": {"max_turn_images": 2, "max_entity_images": 2},
                       "train": {"epochs": 1, "max_steps": 2, "batch_size": 2, "early_stopping_patience": None},
                       "generation": {"strategy": "greedy", "max_new_tokens": 4}},
        "systems": ["full", "text_only"],
        "device": "cpu",
        "eval": {"max_new_tokens": 4, "split": "validation"},
    }  # fmt: skip
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    bindir = str(Path(sys.executable).parent)  # the `mmdial` of this environment
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    record = paper.run(paper.load_config(path, {}), out, env=env)
    assert [s["step"] for s in record["steps"]] == [s[0] for s in paper.plan(config, out)]
    lines = (out / "samples" / "train.jsonl").read_text().splitlines()
    assert [e["system"] for e in record["epochs"]] == ["full", "text_only"]
    for e in record["epochs"]:
        assert e["train_samples"] == len(lines) and e["steps"] == 2 and e["steps_per_epoch"] == -(-len(lines) // 2)
        assert e["seconds"] > 0 and e["seconds_per_epoch"] == pytest.approx(
            e["seconds"] / 2 * e["steps_per_epoch"], abs=0.005 * e["steps_per_epoch"]
        )  # "seconds" is rounded to 0.01 s
    n_val = len((out / "samples" / "validation.jsonl").read_text().splitlines())
    assert record["scores"]["full"]["n"] == n_val and set(record["scores"]["full"]["scores"]) == {"full"}
    assert set(record["scores"]["text_only"]["scores"]) == {"text_only"}
    assert json.loads((out / "paper_run.json").read_text())["scores"] == record["scores"]
    again = paper.run(paper.load_config(path, {}), out, env=env)  # a rerun skips what is done, resumes training
    assert [s.get("skipped") for s in again["steps"][:4]] == ["output exists"] * 4 and again["epochs"] == []
