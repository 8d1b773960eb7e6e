"""The batched tokenizers/encoders and the vectorized n-gram matching against their plain definitions.

Both whitespace encoders are checked (polars kernels when polars is installed, one ``str.split`` over
the joined corpus otherwise) and must give the same ids.
"""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from mmdial_metrics import ngrams
from mmdial_metrics.bleu_statistics import encode_all
from mmdial_metrics.ngrams import WHITESPACE, clipped_matches, encode, encode_split, encode_texts

try:
    import polars  # noqa: F401

    ENCODERS = [False, None]
except ImportError:  # pragma: no cover - polars is a test dependency
    ENCODERS = [False]


@pytest.fixture(params=ENCODERS, ids=lambda v: "python" if v is False else "polars")
def encoder(request, monkeypatch):
    monkeypatch.setattr(ngrams, "USE_POLARS", request.param)
    return request.param


def _decode(enc: ngrams.Encoded) -> list[list[str]]:
    inverse = {i: t for t, i in ngrams._VOCAB.items()}
    ids = enc.ids.tolist()
    out, at = [], 0
    for n in enc.lengths.tolist():
        out.append([inverse[i] for i in ids[at : at + n]])
        at += n
    return out


def _noise(rng: random.Random, n: int, alphabet: str) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(n)]


def test_whitespace_is_what_str_split_splits_on():
    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_encode_split_equals_str_split(encoder):
    rng = random.Random(0)
    texts = [*_noise(rng, 2000, "ab  éü👍\x00\x01.," + WHITESPACE), "", " ", "a", "\u3000a\x1fb\x85"]
    assert _decode(encode_split(texts)) == [t.split() for t in texts]
    assert _decode(encode_texts(texts * 3, lowercase=True)) == [t.lower().split() for t in texts * 3]
    every_separator = ["\x00 \x01", "\x02 \x03", "a b"]  # the joined path has no free separator: per-text split
    assert _decode(encode_split(every_separator)) == [t.split() for t in every_separator]
    assert _decode(encode_split(["only"])) == [["only"]] and len(encode_split([]).lengths) == 0


def test_encoders_give_the_same_ids(monkeypatch):
    pytest.importorskip("polars")
    rng = random.Random(1)
    texts = _noise(rng, 500, "abcd \t\n\u2003")
    monkeypatch.setattr(ngrams, "_VOCAB", {})
    monkeypatch.setattr(ngrams, "USE_POLARS", False)
    plain = encode_split(texts)
    monkeypatch.setattr(ngrams, "_VOCAB", {})
    monkeypatch.setattr(ngrams, "USE_POLARS", None)
    fast = encode_split(texts)
    assert plain.ids.tolist() == fast.ids.tolist() and plain.lengths.tolist() == fast.lengths.tolist()


@pytest.mark.samples
@pytest.mark.parametrize("rstrip", [False, True])
def test_encode_all_13a_equals_sacrebleu(real_pairs, encoder, rstrip):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    hyps, refs = real_pairs
    rng = random.Random(2)
    noise = _noise(rng, 3000, 'ab1,.- &;<>"quotamp9$%/\n\t\u00a0\x00')
    lines = hyps + [r for g in refs for r in g] + noise + ["<skipped>a.b", "x&amp;lt;y", "1.,2", "a..", "-", "3.5.7"]
    reference = Tokenizer13a()
    expected = [reference(x.rstrip() if rstrip else x).split() for x in lines]
    assert _decode(encode_all(lines, tokenizer="13a", rstrip=rstrip)) == expected
    assert _decode(encode_all(lines, tokenizer="none")) == [x.split() for x in lines]


def _clipped_reference(hyps, refs, owner, max_order):
    matches = np.zeros((len(hyps), max_order), dtype=np.int64)
    for i, h in enumerate(hyps):
        mine = [refs[j] for j in range(len(refs)) if owner[j] == i]
        for n in range(1, max_order + 1):
            counts = Counter(tuple(h[k : k + n]) for k in range(len(h) - n + 1))
            best: Counter = Counter()
            for r in mine:
                for g, c in Counter(tuple(r[k : k + n]) for k in range(len(r) - n + 1)).items():
                    best[g] = max(best[g], c)
            matches[i, n - 1] = sum(min(c, best[g]) for g, c in counts.items())
    return matches


@pytest.mark.parametrize("seed", range(4))
def test_clipped_matches_equal_counter_definition(seed):
    rng = random.Random(seed)
    vocab = "abcde"[: 2 + seed]
    hyps = [[rng.choice(vocab) for _ in range(rng.randint(0, 9))] for _ in range(60)]
    if seed % 2:  # one reference each, in order
        owner = list(range(len(hyps)))
    else:  # 0-3 references per hypothesis (some none), owners shuffled
        owner = [i for i in range(len(hyps)) for _ in range(rng.randint(0, 3))]
        rng.shuffle(owner)
    refs = [[rng.choice(vocab) for _ in range(rng.randint(0, 9))] for _ in owner]
    got, totals = clipped_matches(encode(hyps), encode(refs), owner, 5)
    assert got.tolist() == _clipped_reference(hyps, refs, owner, 5).tolist()
    chunked, _ = clipped_matches(encode(hyps), encode(refs), owner, 5, chunk_tokens=7)  # many small chunks
    assert chunked.tolist() == got.tolist()
    assert totals.tolist() == [[max(len(h) - n + 1, 0) for n in range(1, 6)] for h in hyps]


@pytest.mark.samples
def test_scores_do_not_depend_on_the_encoder(real_pairs, monkeypatch):
    pytest.importorskip("polars")
    import mmdial_metrics as mm

    hyps, refs = real_pairs
    results = []
    for use in (False, None):
        monkeypatch.setattr(ngrams, "USE_POLARS", use)
        results.append(
            [
                mm.bleu(hyps, refs).score,
                mm.nltk_sentence_bleu(hyps, refs, smoothing=1).score,
                mm.cider_d(hyps, refs).score,
                mm.distinct(hyps, n=2).score,
                mm.entropy(hyps, n=3).score,
            ]
        )
    assert results[0] == results[1]


@pytest.mark.parametrize("alphabet", ["ab", "abcdef"])
def test_lcs_lengths_equal_dynamic_programming(alphabet):
    from mmdial_metrics.lcs import lcs_lengths, lcs_table

    rng = random.Random(len(alphabet))
    sizes = [0, 1, 2, 7, 40, 63, 64, 65, 90]  # one 64-bit word up to 64 tokens, Python ints beyond
    xs = [[rng.choice(alphabet) for _ in range(rng.choice(sizes))] for _ in range(400)]
    ys = [[rng.choice(alphabet) for _ in range(rng.choice(sizes))] for _ in range(400)]
    expected = [lcs_table(x, y)[-1][-1] for x, y in zip(xs, ys, strict=True)]
    assert lcs_lengths(encode(xs), encode(ys)).tolist() == expected
    assert lcs_lengths(encode(xs), encode(ys), chunk_tokens=50).tolist() == expected  # many chunks


def test_rouge_tokens_on_bytes(encoder):
    from mmdial_metrics.rouge_scores import _LOWER_TO_ASCII, encode_rouge
    from mmdial_metrics.tokenize import tokenize_rouge

    special = {chr(c) for c in range(128, 0x110000) if any(ord(x) < 128 for x in chr(c).lower())}
    assert special == set(_LOWER_TO_ASCII)
    assert all(chr(c).lower() == lower for c, lower in ((ord(k), v) for k, v in _LOWER_TO_ASCII.items()))
    rng = random.Random(3)
    lines = [*_noise(rng, 2000, "aZ9 .'-\t\nÉéİKΣσß👍\x00"), "", "ΣΑΣ.", "It's 5 O'CLOCK"]
    assert _decode(encode_rouge(lines)) == [tokenize_rouge(x) for x in lines]
    assert _decode(encode_rouge(["a b", "c\x00d"])) == [["a", "b"], ["c", "d"]]
