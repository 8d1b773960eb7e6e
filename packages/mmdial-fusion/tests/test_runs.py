"""mmdial_fusion.runs: held-out splits, run folders keyed by their inputs, finished runs, losses, cached evaluations."""

from __future__ import annotations

import json

import pytest

from mmdial_fusion.config import FusionConfig, GenerationConfig
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.runs import evaluate_cached, is_finished, run_dir, split_by_dialogue, train_losses, write_predictions
from mmdial_fusion.samples import FusionSample
from mmdial_fusion.training import train


def _samples(dialogues: int, per: int) -> list[FusionSample]:
    return [
        FusionSample(f"d{i}#{j}", f"d{i}", [f"turn {j - 1} of {i}"], [j - 1], f"reply {j}", j)
        for i in range(dialogues)
        for j in range(1, per + 1)
    ]


def test_split_holds_out_whole_dialogues_seeded() -> None:
    samples = _samples(20, 3)
    train_s, test_s, held = split_by_dialogue(samples, test_fraction=0.25, seed=7, max_train=10)
    assert len(held) == 5 and len(test_s) == 15 and len(train_s) == 10
    assert {s.dialogue_id for s in test_s} == held and not {s.dialogue_id for s in train_s} & held
    again = split_by_dialogue(samples, test_fraction=0.25, seed=7, max_train=10)
    assert [s.sample_id for s in again[0]] == [s.sample_id for s in train_s] and again[2] == held
    assert split_by_dialogue(samples, test_fraction=0.25, seed=8)[2] != held
    with pytest.raises(ValueError, match="at least 2 dialogues"):
        split_by_dialogue(_samples(1, 3), test_fraction=0.5, seed=0)
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        split_by_dialogue(samples, test_fraction=1.0, seed=0)


def test_run_dir_changes_with_every_input_that_changes_the_weights(tmp_path) -> None:
    samples = _samples(4, 2)
    store = ImageFeatureStore(["a", "b"], __import__("numpy").eye(2, 4, dtype="float32"))
    config = {"backbone": "tiny-gpt2", "seed": 0, "train": {"max_steps": 3}}
    base = run_dir(tmp_path, config, samples, store, "offline:x", "full")
    assert base.name == "full" and base.parent.parent == tmp_path.resolve()
    assert run_dir(tmp_path, config, samples, store, "offline:x", "text_only").parent == base.parent
    assert run_dir(tmp_path, {**config, "seed": 1}, samples, store, "offline:x", "full") != base
    assert run_dir(tmp_path, config, samples[:-1], store, "offline:x", "full") != base
    assert run_dir(tmp_path, config, samples, store, "offline:y", "full") != base
    other = ImageFeatureStore(["a", "c"], store.vectors)
    assert run_dir(tmp_path, config, samples, other, "offline:x", "full") != base


def test_losses_finished_and_cached_evaluation_of_a_real_tiny_run(tmp_path, store, samples) -> None:  # type: ignore[no-untyped-def]
    config = FusionConfig.from_dict(
        {
            "backbone": "tiny-gpt2",
            "seed": 0,
            "train": {
                "max_steps": 3,
                "batch_size": 2,
                "log_every": 1,
                "eval_every": 3,
                "output_dir": str(tmp_path / "r"),
            },
        }
    )
    assert not is_finished(config)
    train(config, train_samples=samples, features=store, progress=False)
    assert is_finished(config)
    logged = [json.loads(line) for line in (tmp_path / "r" / "train_loss.jsonl").read_text().splitlines()]
    assert train_losses(tmp_path / "r") == [row["loss"] for row in logged] and len(logged) == 3
    gen = GenerationConfig(max_new_tokens=3, batch_size=2)
    first = evaluate_cached(tmp_path / "r", samples[:3], store, "full", gen, seed=0)
    assert len(first["responses"]) == 3 and first["loss"] > 0
    cached = list((tmp_path / "r").glob("eval-full-*.json"))
    assert len(cached) == 1

    def refuse(path):  # type: ignore[no-untyped-def]
        raise AssertionError("the cached evaluation must not load the checkpoint again")

    assert evaluate_cached(tmp_path / "r", samples[:3], store, "full", gen, seed=0, load=refuse) == first
    out = write_predictions(tmp_path / "p.jsonl", samples[:3], first["responses"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"dialogue_id": samples[0].dialogue_id, "turn_index": samples[0].response_index,
                       "prediction": first["responses"][0]}  # fmt: skip
    (tmp_path / "r" / "train_loss.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(ValueError, match="line 1: not a training-loss record"):
        train_losses(tmp_path / "r")
