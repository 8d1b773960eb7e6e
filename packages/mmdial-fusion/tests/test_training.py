from __future__ import annotations

import json

import pytest
import torch
import yaml

from mmdial_fusion.config import FusionConfig, GenerationConfig
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.generation import generate_responses
from mmdial_fusion.model import FusionModel
from mmdial_fusion.samples import write_samples
from mmdial_fusion.training import load_checkpoint, make_collator, train


def _config(tmp_path, store, samples, **train):  # type: ignore[no-untyped-def]
    write_samples(samples, tmp_path / "train.jsonl")
    write_samples(samples[:2], tmp_path / "valid.jsonl")
    store.save(tmp_path / "features.npz")
    raw = {
        "backbone": "tiny-t5",
        "seed": 3,
        "data": {"train": "train.jsonl", "validation": "valid.jsonl", "features": "features.npz"},
        "train": {
            "output_dir": "run",
            "batch_size": 2,
            "grad_accum": 2,
            "lr": "3e-3",
            "max_steps": 4,
            "eval_every": 2,
            "log_every": 1,
            **train,
        },
        "generation": {"max_new_tokens": 4},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return FusionConfig.from_yaml(path)


def _weights(model: FusionModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_train_writes_checkpoints_and_resume_matches_straight_run(tmp_path, store, samples) -> None:  # type: ignore[no-untyped-def]
    straight = _config(tmp_path / "a", store, samples * 2)
    result = train(straight, progress=False)
    assert result.steps == 4 and [h["step"] for h in result.history] == [2, 4]
    run = tmp_path / "a" / "run"
    prov = json.loads((run / "last" / "provenance.json").read_text())
    assert prov["seed"] == 3 and prov["config"]["backbone"] == "tiny-t5" and "torch" in prov["versions"]
    assert (run / "best" / "fusion_head.pt").is_file() and not (run / "best" / "trainer_state.pt").exists()
    model_a, _tokenizer, cfg = load_checkpoint(run / "last")
    assert cfg.train.max_steps == 4

    resumed = _config(tmp_path / "b", store, samples * 2)
    assert train(resumed, progress=False, stop_after_steps=1).steps == 1
    assert train(resumed, progress=False, stop_after_steps=2).steps == 3
    result_b = train(resumed, progress=False)
    assert result_b.steps == 4 and [h["step"] for h in result_b.history] == [2, 4]
    model_b, _, _ = load_checkpoint(tmp_path / "b" / "run" / "last")
    a, b = _weights(model_a), _weights(model_b)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k  # bit-identical: the same float32 operations in the same order
    assert result_b.history[-1]["loss"] == result.history[-1]["loss"]
    # one training-loss line per optimizer step, the same values in the straight and the resumed run
    log_a = [json.loads(x) for x in (run / "train_loss.jsonl").read_text().splitlines()]
    log_b = [json.loads(x) for x in (tmp_path / "b" / "run" / "train_loss.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log_a] == [r["step"] for r in log_b] == [1, 2, 3, 4]
    assert all(r["loss"] > 0 and r["lr"] > 0 for r in log_a)
    assert [r["loss"] for r in log_b] == [r["loss"] for r in log_a]


def test_final_checkpoint_shares_weights_with_best_and_can_drop_trainer_state(tmp_path, store, samples) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(tmp_path, store, samples, max_steps=2, eval_every=2, keep_final_trainer_state=False)
    result = train(cfg, progress=False)
    assert result.steps == 2 and result.best_step == 2
    run = tmp_path / "run"
    weights = sorted(p.relative_to(run / "best") for p in (run / "best").rglob("*") if p.is_file())
    assert any(p.name == "fusion_head.pt" for p in weights)
    for rel in weights:  # written once, linked into last/
        assert (run / "last" / rel).samefile(run / "best" / rel), rel
    assert not (run / "last" / "trainer_state.pt").exists()
    _, _, loaded = load_checkpoint(run / "last")
    assert loaded.train.keep_final_trainer_state is False
    # an unfinished (time-sliced) run always keeps the state it needs to resume
    sliced = _config(tmp_path / "sliced", store, samples, max_steps=4, eval_every=1, keep_final_trainer_state=False)
    assert train(sliced, progress=False, stop_after_steps=1).steps == 1
    assert (tmp_path / "sliced" / "run" / "last" / "trainer_state.pt").is_file()


def test_early_stopping_on_a_flat_metric(tmp_path, store, samples) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(
        tmp_path,
        store,
        samples,
        lr=0.0,
        max_steps=20,
        eval_every=1,
        early_stopping_patience=2,
        grad_accum=1,
        metric="f1",
    )
    result = train(cfg, progress=False)
    assert result.stopped_early and result.steps == 3 and result.best_step == 1
    assert all("bleu-4" in h for h in result.history)


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_generation_strategies(backbone, store, samples, strategy) -> None:  # type: ignore[no-untyped-def]
    model = FusionModel(backbone.model, store.dim)
    collator = make_collator(FusionConfig(), backbone.tokenizer, store, backbone.is_encoder_decoder)
    gen = GenerationConfig(strategy=strategy, max_new_tokens=5, num_beams=2, top_k=5, top_p=0.9, batch_size=2)
    out = generate_responses(model, backbone.tokenizer, samples, collator, gen)
    assert len(out) == 3 and all(isinstance(t, str) for t in out)
    assert out == generate_responses(model, backbone.tokenizer, samples, collator, gen)  # seeded


def test_greedy_generation_does_not_depend_on_batch_padding(backbone, store, samples) -> None:  # type: ignore[no-untyped-def]
    model = FusionModel(backbone.model, store.dim)
    torch.nn.init.normal_(model.modality.embedding.weight, std=0.5)
    collator = make_collator(FusionConfig(), backbone.tokenizer, store, backbone.is_encoder_decoder)
    gen = GenerationConfig(max_new_tokens=6, batch_size=8)
    model.eval()
    batched = generate_responses(model, backbone.tokenizer, samples, collator, gen)
    alone = [generate_responses(model, backbone.tokenizer, [s], collator, gen)[0] for s in samples]
    assert batched == alone


def test_config_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="did you mean 'batch_size'"):
        FusionConfig.from_dict({"train": {"batch_sise": 2}})
    with pytest.raises(ValueError, match=r"data\.ablation"):
        FusionConfig.from_dict({"data": {"ablation": "no_images"}})
    with pytest.raises(ValueError, match="expected an integer"):
        FusionConfig.from_dict({"train": {"epochs": "three"}})


def test_feature_store_round_trip(tmp_path, store) -> None:  # type: ignore[no-untyped-def]
    loaded = ImageFeatureStore.load(store.save(tmp_path / "f.npz"))
    assert loaded.ids == store.ids and (loaded.vectors == store.vectors).all()
    with pytest.raises(KeyError, match="sample x: image 'nope'"):
        store.lookup(["nope"], where="sample x")
