"""Backbone presets: the tiny ones are configs held as data (model_configs/*.json), loaded into the real classes."""

from __future__ import annotations

import json

import pytest
import torch

from mmdial_fusion.backbones import MODEL_CONFIGS, get_backbone, list_backbones, load_backbone, tiny_from_config


def test_every_json_config_is_a_registered_preset() -> None:
    files = sorted(p.stem for p in MODEL_CONFIGS.glob("*.json"))
    assert files == ["tiny-gpt2", "tiny-llama", "tiny-t5"]
    assert set(files) <= {b.name for b in list_backbones()}
    assert get_backbone("tiny-t5").description == "tiny random T5ForConditionalGeneration (tests, benchmarks)"


@pytest.mark.parametrize(
    ("name", "cls", "encoder_decoder", "width"),
    [
        ("tiny-t5", "T5ForConditionalGeneration", True, ("d_model", 32)),
        ("tiny-gpt2", "GPT2LMHeadModel", False, ("n_embd", 32)),
        ("tiny-llama", "LlamaForCausalLM", False, ("hidden_size", 32)),
    ],
)
def test_tiny_presets_build_the_real_classes_from_their_json(
    name: str, cls: str, encoder_decoder: bool, width: tuple[str, int]
) -> None:
    bb = load_backbone(name, seed=0)
    assert type(bb.model).__name__ == cls and bb.is_encoder_decoder is encoder_decoder
    assert getattr(bb.model.config, width[0]) == width[1]
    assert bb.model.config.vocab_size == len(bb.tokenizer)
    assert bb.model.config.pad_token_id == bb.tokenizer.pad_token_id
    assert bb.model.config.eos_token_id == bb.tokenizer.eos_token_id


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    spec = json.loads((MODEL_CONFIGS / "tiny-llama.json").read_text())
    a, b, c = (tiny_from_config(spec, seed=s).model.state_dict() for s in (1, 1, 2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
