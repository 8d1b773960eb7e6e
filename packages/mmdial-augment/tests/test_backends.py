"""VQA backends (tiny random BLIP and Llama) and the VisionEncoderDecoder captioner (tiny ViT-GPT2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmdial_augment.captioners import VisionEncoderDecoderCaptioner, get_captioner
from mmdial_augment.vqa import BlipVQA, CaptionLMVQA, get_vqa_backend
from mmdial_data.testing import FLOAT32_RTOL, FLOAT32_UNIT_ATOL


def test_lm_caption_batched_matches_naive_per_prompt(tiny_lm, pool):
    model, tok, _ = tiny_lm
    vqa = CaptionLMVQA(model, tok, batch_size=4)
    rows = [0, 2, 1, 5, 3]
    got = vqa.score("a red apple", pool, rows)
    for r, g in zip(rows, got, strict=True):
        prompt = vqa.template.format(caption=pool.caption(r), question=vqa.question)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        c_ids = tok(" a red apple", add_special_tokens=False)["input_ids"]
        ids = torch.tensor([p_ids + c_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
        ref = np.mean([logp[len(p_ids) + j - 1, t].item() for j, t in enumerate(c_ids)])
        assert g == pytest.approx(ref, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)  # float32 LM, other padding
    assert len(set(np.round(got, 6))) > 1  # the caption changes the score


def test_lm_caption_loads_from_a_local_folder(tiny_lm, pool):
    model, tok, folder = tiny_lm
    a = get_vqa_backend("lm-caption", model=str(folder), batch_size=10).score("my dog", pool, [0, 1])
    b = CaptionLMVQA(model, tok).score("my dog", pool, [0, 1])
    assert a == pytest.approx(b, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)  # batch 10 vs 4


def test_blip_confidence_batched_equals_unbatched(tiny_blip, pool):
    model, proc = tiny_blip
    batched = BlipVQA(model, proc, batch_size=6).score("a red apple", pool, range(6))
    single = BlipVQA(model, proc, batch_size=1).score("a red apple", pool, range(6))
    assert batched == pytest.approx(single, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)
    assert (batched < 0).all() and len(set(np.round(batched, 6))) > 1


def test_blip_confidence_matches_naive_token_loop(tiny_blip, pool):
    from PIL import Image

    model, proc = tiny_blip
    vqa = BlipVQA(model, proc)
    image = Image.open(pool.paths[2]).convert("RGB")
    got = vqa.confidence([image], "the red apple")[0]
    # naive: IMAD's get_confidence written out step by step for one image
    inputs = proc(images=[image], text=[vqa.question], return_tensors="pt")
    labels = proc(text=["the red apple"], return_tensors="pt")["input_ids"][0].tolist()
    dec = [model.config.text_config.bos_token_id, *labels[:-1]]
    with torch.no_grad():
        img = model.vision_model(pixel_values=inputs["pixel_values"]).last_hidden_state
        q = model.text_encoder(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], encoder_hidden_states=img
        ).last_hidden_state
        logits = model.text_decoder(
            input_ids=torch.tensor([dec]), encoder_hidden_states=q, encoder_attention_mask=inputs["attention_mask"]
        ).logits[0]
    ref = np.mean([torch.log_softmax(logits[t], -1)[tok].item() for t, tok in enumerate(labels)])
    assert got == pytest.approx(ref, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)


def test_unknown_backends_suggest_names():
    with pytest.raises(KeyError, match="did you mean 'blip'"):
        get_vqa_backend("blipp")
    with pytest.raises(KeyError, match="pool-caption"):
        get_captioner("pool-captions")


def test_vision_encoder_decoder_captioner_tiny(pool, word_tokenizer_file):
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    torch.manual_seed(0)
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(word_tokenizer_file), pad_token="[PAD]", bos_token="<s>", eos_token="</s>", unk_token="[UNK]"
    )
    enc = ViTConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, image_size=32, patch_size=16
    )
    dec = GPT2Config(
        vocab_size=tok.vocab_size,
        n_embd=16,
        n_layer=1,
        n_head=2,
        n_positions=64,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    cfg = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
    cfg.decoder_start_token_id = tok.bos_token_id
    cfg.pad_token_id = tok.pad_token_id
    cfg.eos_token_id = tok.eos_token_id
    model = VisionEncoderDecoderModel(cfg)
    proc = ViTImageProcessor(size={"height": 32, "width": 32})
    cap = VisionEncoderDecoderCaptioner(model, proc, tok, max_length=6, num_beams=2, batch_size=2)
    first = cap(pool, [0, 1, 2, 0])
    assert len(first) == 4 and first[0] == first[3]
    assert all(isinstance(c, str) for c in first)
    again = VisionEncoderDecoderCaptioner(model, proc, tok, max_length=6, num_beams=2, batch_size=1)(pool, [0, 1, 2])
    assert again == first[:3]
