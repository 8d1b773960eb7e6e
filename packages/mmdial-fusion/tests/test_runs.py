"""mmdial_fusion.runs: held-out splits, run folders keyed by their inputs, finished runs, losses, cached evaluations."""

from __future__ import annotations

import json

import pytest

from mmdial_data.schema import Dialogue, Turn
from mmdial_fusion.config import FusionConfig, GenerationConfig
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import KnowledgeConfig, build_samples
from mmdial_fusion.runs import (
    evaluate_cached,
    evaluate_untrained_cached,
    is_finished,
    response_windows,
    run_dir,
    split_by_dialogue,
    split_dialogues,
    train_losses,
    write_predictions,
)
from mmdial_fusion.samples import FusionSample
from mmdial_fusion.training import load_checkpoint, make_collator, train, validation_loss


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
    assert len(first["nll"]) == len(first["tokens"]) == 3
    assert first["loss"] == pytest.approx(sum(first["nll"]) / sum(first["tokens"]), rel=1e-12)
    model, tokenizer, cfg = load_checkpoint(tmp_path / "r" / "last")
    collator = make_collator(cfg, tokenizer, store, model.is_encoder_decoder, ablation="full")
    assert first["loss"] == pytest.approx(validation_loss(model, samples[:3], collator, batch_size=2), rel=1e-5)
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


def _dialogues(n: int, turns: int) -> list[Dialogue]:
    return [
        Dialogue(
            f"x/train/{i}",
            "x",
            "train",
            [Turn(j, "a" if j % 2 else "b", "speaker_a", f"turn {j} of {i}") for j in range(turns)],
        )
        for i in range(n)
    ]


def test_split_dialogues_holds_out_what_split_by_dialogue_holds_out() -> None:
    dialogues = _dialogues(30, 4)
    train_d, test_d, held = split_dialogues(dialogues, test_fraction=0.2, seed=3, max_train=10, max_test=4)
    assert len(held) == 6 and len(train_d) == 10 and len(test_d) == 4
    assert {d.dialogue_id for d in test_d} <= held and not {d.dialogue_id for d in train_d} & held
    samples = [FusionSample(f"{d.dialogue_id}#1", d.dialogue_id, ["c"], [0], "r", 1) for d in dialogues]
    assert split_by_dialogue(samples, test_fraction=0.2, seed=3)[2] == held
    assert split_dialogues(dialogues, test_fraction=0.2, seed=3, max_train=10, max_test=4)[0] == train_d


def test_response_windows_give_one_sample_per_chosen_turn() -> None:
    dialogues = _dialogues(5, 7)
    dialogues[0].turns[3].text = " "  # a turn without text is never a response
    windows = response_windows(dialogues, per_dialogue=2, seed=0)
    assert len(windows) == 10 and [w.dialogue_id for w in windows[:2]] == ["x/train/0"] * 2
    chosen = [len(w.turns) - 1 for w in windows]
    assert all(1 <= i <= 6 for i in chosen) and 3 not in chosen[:2]
    assert response_windows(dialogues, per_dialogue=2, seed=0) == windows
    assert [len(w.turns) for w in response_windows(dialogues, per_dialogue=2, seed=1)] != [
        len(w.turns) for w in windows
    ]
    assert len(dialogues[0].turns) == 7  # the copies are cut, the dialogues are not
    config = KnowledgeConfig(last_only_splits=("train",), use_attached_images=False)
    samples = list(build_samples(windows, config=config))
    assert [s.sample_id for s in samples] == [f"{w.dialogue_id}#{len(w.turns) - 1}" for w in windows]
    assert [s.response for s in samples] == [w.turns[-1].text for w in windows]


def test_untrained_backbone_is_the_plain_language_model(tmp_path, samples) -> None:  # type: ignore[no-untyped-def]
    import torch

    from mmdial_fusion.backbones import load_backbone

    config = FusionConfig.from_dict({"backbone": "tiny-gpt2", "seed": 0, "data": {"max_context_tokens": 32}})
    gen = GenerationConfig(max_new_tokens=3, batch_size=2)
    record = evaluate_untrained_cached(tmp_path, config, samples, gen, seed=0)
    assert len(record["responses"]) == len(samples) == len(record["nll"])
    # the same loss straight from the transformers model, on the collator's tokens, without the fusion wrapper
    bb = load_backbone("tiny-gpt2", seed=0)
    from mmdial_fusion.collate import FusionCollator

    collate = FusionCollator(bb.tokenizer, None, False, ablation="text_only", max_context_tokens=32)
    total = tokens = 0.0
    with torch.no_grad():
        for s in samples:
            b = collate([s])
            ctx, resp = b["input_ids"][0][b["attention_mask"][0].bool()], b["labels"][0][b["labels"][0] != -100]
            ids = torch.cat([ctx, resp]).unsqueeze(0)
            labels = torch.cat([torch.full_like(ctx, -100), resp]).unsqueeze(0)
            total += float(bb.model(input_ids=ids, labels=labels).loss) * len(resp)
            tokens += len(resp)
    assert record["loss"] == pytest.approx(total / tokens, rel=1e-5)
    assert len(list(tmp_path.glob("untrained-*.json"))) == 1
    assert evaluate_untrained_cached(tmp_path, config, samples, gen, seed=0) == record
