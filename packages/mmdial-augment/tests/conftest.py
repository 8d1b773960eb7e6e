"""Shared fixtures: a tiny captioned image pool, the seeded tiny open_clip encoder, tiny real transformers
models (Llama causal LM, BLIP VQA, ViT-GPT2 captioner) with tokenizers built offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmdial_data import Dialogue, Turn

WORDS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "[DEC]",
    "<s>",
    "</s>",
    "a",
    "the",
    "dog",
    "cat",
    "red",
    "apple",
    "car",
    "blue",
    "sky",
    "tree",
    "green",
    "ball",
    "what",
    "phrase",
    "can",
    "describe",
    "this",
    "picture",
    "?",
    "picture:",
    "question:",
    "answer:",
    "my",
    "is",
    "i",
    "like",
    "an",
    "image",
    ".",
    ",",
]

#: Pool images: (file, colour, caption).
POOL = [
    ("dog.png", (200, 120, 40), "a brown dog"),
    ("cat.png", (90, 90, 90), "a grey cat"),
    ("apple.png", (220, 20, 30), "a red apple"),
    ("car.png", (20, 40, 220), "a blue car"),
    ("tree.png", (30, 160, 40), "a green tree"),
    ("ball.png", (240, 220, 30), "a yellow ball"),
]


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    rows = []
    for name, colour, caption in POOL:
        arr = np.clip(np.array(colour)[None, None, :] + rng.integers(-30, 30, (32, 32, 3)), 0, 255)
        Image.fromarray(arr.astype(np.uint8)).save(root / name)
        rows.append({"file": name, "caption": caption})
    (root / "captions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def encoder():
    from mmdial_retrieval import get_encoder

    return get_encoder("openclip:mmdial-tiny")


def make_pool(image_dir: Path, encoder):
    from mmdial_augment.pool import ImagePool, with_embeddings

    pool = ImagePool(
        [f"t:{n}" for n, _, _ in POOL],
        [n for n, _, _ in POOL],
        [str(image_dir / n) for n, _, _ in POOL],
        [c for _, _, c in POOL],
        "tiny",
        str(image_dir),
    )
    return with_embeddings(pool, encoder)


@pytest.fixture
def pool(image_dir, encoder):
    return make_pool(image_dir, encoder)


@pytest.fixture(scope="session")
def word_tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WordLevel fast tokenizer (tokenizers library) over :data:`WORDS`."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_lm(word_tokenizer_file: Path, tmp_path_factory: pytest.TempPathFactory):
    """A seeded random LlamaForCausalLM with its tokenizer, also saved to a folder (``.path``)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    tok = PreTrainedTokenizerFast(
        tokenizer_file=str(word_tokenizer_file), pad_token="[PAD]", unk_token="[UNK]", bos_token="<s>", eos_token="</s>"
    )
    cfg = LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
    )
    model = LlamaForCausalLM(cfg).eval()
    folder = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model, tok, folder


@pytest.fixture(scope="session")
def tiny_blip(tmp_path_factory: pytest.TempPathFactory):
    """A seeded random BlipForQuestionAnswering with a BlipProcessor (BERT WordPiece vocab written here)."""
    import torch
    from transformers import BertTokenizerFast, BlipConfig, BlipForQuestionAnswering, BlipImageProcessor, BlipProcessor

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("blip")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    proc = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tok)
    cfg = BlipConfig(
        text_config={
            "vocab_size": len(WORDS),
            "hidden_size": 16,
            "encoder_hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "pad_token_id": 0,
            "bos_token_id": WORDS.index("[DEC]"),
            "sep_token_id": 3,
            "initializer_range": 0.5,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 16,
            "initializer_range": 0.5,
        },
        initializer_range=0.5,
    )
    return BlipForQuestionAnswering(cfg).eval(), proc


def _dialogue(did: str, *texts: str) -> Dialogue:
    return Dialogue(
        did, "test", "train", [Turn(i, "AB"[i % 2], ("speaker_a", "speaker_b")[i % 2], t) for i, t in enumerate(texts)]
    )


@pytest.fixture
def dialogue():
    """Factory: ``dialogue(id, *texts)`` -> a Dialogue with alternating speakers."""
    return _dialogue


@pytest.fixture
def pool_factory(image_dir, encoder):
    """Factory: a fresh embedded copy of the tiny pool."""
    return lambda: make_pool(image_dir, encoder)
