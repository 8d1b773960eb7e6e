"""Stage 2's batched ``lm-caption`` path against a plain per-candidate forward (the old semantics).

The reference scores one candidate at a time: the unpadded ``prompt + utterance`` ids through the model, full
logits, a Python loop over the utterance's tokens. The batched path mixes utterances in one length-sorted,
right-padded batch and computes logits only where they are scored; that changes the float32 summation order
of the matrix products (other GEMM blocking for other row counts), not what is computed. A 2-layer float32
model rounds at about 1e-6 relative per layer, so scores agree within ``FLOAT32_RTOL`` (1e-4) relative /
``FLOAT32_UNIT_ATOL`` (1e-5) absolute; choices and accept/reject must be identical, and the test checks that
its score gaps are wider than that bound (so identical choices are implied, not luck).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmdial_augment.lmscore import ContinuationScorer, build_batches, plan_batches
from mmdial_augment.selection import select_images
from mmdial_augment.vqa import CaptionLMVQA
from mmdial_data.testing import FLOAT32_RTOL, FLOAT32_UNIT_ATOL

UTTERANCES = [
    "a red apple",
    "my dog is a brown dog",
    "i like the blue sky",
    "the cat",
    "what a green tree , i like this picture .",
    "ball",
]
ROWS = [[2, 0, 1, 5], [0, 1, 4], [3, 4, 0, 2, 5, 1], [1, 0], [4, 2, 3], [5, 0, 2]]


@pytest.fixture(scope="module")
def lm(word_tokenizer_file):
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(1234)
    tok = PreTrainedTokenizerFast(tokenizer_file=str(word_tokenizer_file), pad_token="[PAD]", unk_token="[UNK]")
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        initializer_range=0.2,  # sharper distributions than the default 0.02: scores spread, gaps are wide
    )
    return LlamaForCausalLM(cfg).eval(), tok


def reference(model, tok, vqa: CaptionLMVQA, utterance: str, caption: str) -> float:
    """One candidate alone: no padding, full logits, a loop over the utterance's tokens."""
    p_ids = tok(vqa.prompt(caption), add_special_tokens=False)["input_ids"]
    c_ids = tok(" " + utterance, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([p_ids + c_ids])).logits[0].double()
    logp = torch.log_softmax(logits, -1)
    return float(np.mean([logp[len(p_ids) + j - 1, t].item() for j, t in enumerate(c_ids)]))


def requests(pool):
    return [(u, rows, [1.0 - 0.1 * j for j in range(len(rows))]) for u, rows in zip(UTTERANCES, ROWS, strict=True)]


@pytest.mark.parametrize("batch_size", [1, 4, 10, 64])
def test_batched_selection_matches_per_candidate_reference(lm, pool, batch_size):
    model, tok = lm
    vqa = CaptionLMVQA(model, tok, batch_size=batch_size)
    ref = [
        np.array([reference(model, tok, vqa, u, pool.caption(r)) for r in rows])
        for u, rows in zip(UTTERANCES, ROWS, strict=True)
    ]
    best = np.array([s.max() for s in ref])
    cutoff = float(np.median(best))  # min_confidence that accepts some utterances and rejects others
    got = select_images(requests(pool), pool, vqa, min_confidence=cutoff)
    bound = FLOAT32_UNIT_ATOL + FLOAT32_RTOL * np.abs(best)
    for sel, r, rows in zip(got, ref, ROWS, strict=True):
        assert sel.vqa_scores == pytest.approx(r.tolist(), rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)
        assert sel.chosen == rows[int(np.argmax(r))]
        top2 = np.sort(r)[-2:] if len(r) > 1 else np.array([-np.inf, r[0]])
        assert top2[1] - top2[0] > 10 * bound.max()  # the choice is far from a tie at this tolerance
    assert [s.replaced for s in got] == [bool(b >= cutoff) for b in best]
    assert 0 < sum(s.replaced for s in got) < len(got)
    assert np.min(np.abs(best - cutoff)[best != cutoff], initial=np.inf) > 10 * bound.max()
    assert len({round(v, 4) for s in got for v in s.vqa_scores}) > 10  # captions and utterances change scores


def test_batches_mix_utterances_sorted_by_length(lm, pool):
    model, tok = lm
    vqa = CaptionLMVQA(model, tok, batch_size=4)
    pairs = vqa.token_pairs([(u, rows) for u, rows in zip(UTTERANCES, ROWS, strict=True)], pool)
    owner = [k for k, rows in enumerate(ROWS) for _ in rows]
    batches = build_batches(pairs, 4, pad_id=0)
    assert sorted(i for b in batches for i in b.items) == list(range(len(pairs)))  # every candidate once
    assert all(len(b.items) <= 4 for b in batches)
    assert any(len({owner[i] for i in b.items}) > 1 for b in batches)  # one batch holds several utterances
    lengths = [len(p) + len(c) for p, c in pairs]
    widths = [b.input_ids.shape[1] for b in batches]
    assert widths == sorted(widths, reverse=True)
    for b in batches:  # rows sorted longest first: a batch is as wide as its first row, no wider
        assert b.input_ids.shape[1] == lengths[b.items[0]] == max(lengths[i] for i in b.items)
    for b in batches:  # targets: exactly the utterance tokens of each row
        for row, i in enumerate(b.items):
            assert b.targets[b.row_of_target == row].tolist() == list(pairs[i][1])


class NoLogitsToKeep(torch.nn.Module):
    """A causal LM whose forward takes no ``logits_to_keep`` (transformers before 4.45)."""

    def __init__(self, model):
        super().__init__()
        self.inner = model

    def forward(self, input_ids, attention_mask):
        return self.inner(input_ids=input_ids, attention_mask=attention_mask)


def test_full_logits_fallback_gives_the_same_scores(lm, pool):
    model, tok = lm
    fast = CaptionLMVQA(model, tok, batch_size=5)
    slow = CaptionLMVQA(NoLogitsToKeep(model), tok, batch_size=5)
    reqs = [(u, rows) for u, rows in zip(UTTERANCES, ROWS, strict=True)]
    a, b = fast.score_many(reqs, pool), slow.score_many(reqs, pool)
    assert fast.scorer.sliced_logits is True and slow.scorer.sliced_logits is False
    for x, y in zip(a, b, strict=True):
        assert x == pytest.approx(y, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)


def test_score_and_continuation_logprob_agree_with_score_many(lm, pool):
    model, tok = lm
    vqa = CaptionLMVQA(model, tok, batch_size=3)
    many = vqa.score_many([(u, rows) for u, rows in zip(UTTERANCES, ROWS, strict=True)], pool)
    for u, rows, m in zip(UTTERANCES, ROWS, many, strict=True):
        assert vqa.score(u, pool, rows) == pytest.approx(m, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)
        prompts = [vqa.prompt(pool.caption(r)) for r in rows]
        assert vqa.continuation_logprob(prompts, " " + u) == pytest.approx(m, rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL)
    assert ContinuationScorer(model).mean_logprobs([([8, 9], [])], 4, 0).tolist() == [0.0]  # empty: 0, as before


def test_unreadable_image_is_skipped_in_the_batched_path(lm, pool, tmp_path):
    model, tok = lm
    vqa = CaptionLMVQA(model, tok, batch_size=4)
    broken = dataclasses.replace(pool, paths=[*pool.paths[:2], str(tmp_path / "gone.png"), *pool.paths[3:]])
    got = select_images(requests(broken), broken, vqa)
    ref = select_images(requests(pool), pool, vqa)
    for sel, full, rows in zip(got, ref, ROWS, strict=True):
        if 2 in rows:
            assert np.isnan(sel.vqa_scores[rows.index(2)]) and sel.chosen != 2
            assert any(s.startswith("t:apple.png") for s in sel.skipped_images)
        finite = [j for j, r in enumerate(rows) if r != 2]
        assert [sel.vqa_scores[j] for j in finite] == pytest.approx(
            [full.vqa_scores[j] for j in finite], rel=FLOAT32_RTOL, abs=FLOAT32_UNIT_ATOL
        )


def test_plan_batches_rejects_a_zero_batch():
    with pytest.raises(ValueError, match="batch_size 0"):
        plan_batches([1, 2], 0)
