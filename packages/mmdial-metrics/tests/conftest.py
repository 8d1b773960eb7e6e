"""Shared fixtures: real dialogue text from the dataset samples, turned into (hypothesis, references) pairs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest


def _texts() -> list[str]:
    from mmdial_data import read_source
    from mmdial_data.testing import samples_dir

    texts = [t.text for d in read_source("sgd", samples_dir("schema_guided_dialogue") / "train") for t in d.turns]
    texts += [t.text for d in read_source("dailydialog", samples_dir("dailydialog") / "validation") for t in d.turns]
    return [t for t in texts if t]


def perturb(text: str, rng: random.Random) -> str:
    """A hypothesis made from a reference: shuffled, truncated, with a word swapped in, or emptied."""
    words = text.split()
    r = rng.random()
    if r < 0.02:
        return ""
    if r < 0.3:
        rng.shuffle(words)
    if rng.random() < 0.3 and words:
        words[rng.randrange(len(words))] = rng.choice(["okay", "the", "yes", ",", "é", "Restaurant"])
    return " ".join(words[: max(1, len(words) - rng.randint(0, 3))])


@pytest.fixture(scope="session")
def real_pairs() -> tuple[list[str], list[list[str]]]:
    """3,000 (hypothesis, [reference]) pairs of real dialogue responses; one in three has a second reference."""
    texts = _texts()
    rng = random.Random(1234)
    refs = [rng.choice(texts) for _ in range(3000)]
    hyps = [perturb(r, rng) for r in refs]
    groups = [[r, rng.choice(texts)] if i % 3 == 0 else [r] for i, r in enumerate(refs)]
    return hyps, groups


@pytest.fixture(scope="session")
def single_ref_pairs(real_pairs: tuple[list[str], list[list[str]]]) -> tuple[list[str], list[list[str]]]:
    hyps, groups = real_pairs
    return hyps, [[g[0]] for g in groups]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, real_pairs) -> Path:
    """A seeded 3-layer BertModel (hidden 32) with a WordPiece vocabulary of the pairs' words and characters."""
    torch = pytest.importorskip("torch", reason='BERTScore needs torch: pip install "mmdial-metrics[bertscore]"')
    transformers = pytest.importorskip("transformers", reason='BERTScore needs "mmdial-metrics[bertscore]"')
    BertConfig, BertModel, BertTokenizer = transformers.BertConfig, transformers.BertModel, transformers.BertTokenizer

    hyps, refs = real_pairs
    texts = hyps[:400] + [r for g in refs[:400] for r in g]
    words = sorted({w for t in texts for w in t.lower().split()})[:1500]
    chars = sorted({c for t in texts for c in t.lower() if not c.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *chars, *("##" + c for c in chars)]
    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tok = BertTokenizer(str(folder / "vocab.txt"), model_max_length=64)
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return folder
