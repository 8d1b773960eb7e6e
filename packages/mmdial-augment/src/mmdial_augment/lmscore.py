"""Causal-LM continuation scoring in length-sorted, right-padded batches (the ``lm-caption`` hot path).

A *pair* is ``(prompt_ids, continuation_ids)``; its score is the mean log-probability of the continuation's
tokens, each given everything before it, under teacher forcing: exactly what a plain forward of
``prompt + continuation`` alone gives, up to float32 rounding (padding and batch composition change the
summation order of the matrix products, about 1e-6 relative per layer).

How it stays close to the model's own forward speed:

- pairs from many utterances go into one list, sorted by length (longest first) and cut into batches of at
  most ``batch_size`` sequences, so rows of one batch have nearly the same length and little padding;
- the vocabulary projection and its log-softmax run only at the positions that predict a continuation token
  (transformers' ``logits_to_keep`` with a boolean mask; older versions fall back to the full logits);
- no Python loop per token: targets, row indices and counts are built once per batch as tensors.

Example:
    >>> plan_batches([3, 9, 5, 9, 1], batch_size=2)
    [[1, 3], [2, 0], [4]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Pair = tuple[Sequence[int], Sequence[int]]


def plan_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length (longest first, ties by index) in runs of ``batch_size``."""
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size} is below 1; pass 1 or more sequences per forward")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass
class TokenBatch:
    """One forward pass: right-padded ``prompt + continuation`` rows and where their scored tokens are.

    Attributes:
        items: Index of each row in the list of pairs.
        input_ids: ``(rows, width)`` token ids, padded on the right with the pad id.
        attention_mask: ``(rows, width)``, 1 on real tokens.
        keep: ``(rows, width)`` bool, True at the positions whose next token is a scored continuation token.
        targets: ``(keep.sum(),)`` the token each kept position predicts (row-major order).
        row_of_target: ``(keep.sum(),)`` the row of each target.
        counts: ``(rows,)`` scored tokens per row.
    """

    items: list[int]
    input_ids: Any
    attention_mask: Any
    keep: Any
    targets: Any
    row_of_target: Any
    counts: Any

    @property
    def n_tokens(self) -> int:
        """Real (non-padding) tokens in the batch."""
        return int(self.attention_mask.sum())


def build_batches(pairs: Sequence[Pair], batch_size: int, pad_id: int) -> list[TokenBatch]:
    """The batches :func:`mean_logprobs` runs for ``pairs`` (pairs with an empty continuation are left out)."""
    import torch

    seqs = [list(p) + list(c) for p, c in pairs]
    live = [i for i, (_, c) in enumerate(pairs) if len(c)]
    plan = plan_batches([len(seqs[i]) for i in live], batch_size)
    out = []
    for group in plan:
        items = [live[j] for j in group]
        width = len(seqs[items[0]])
        ids = torch.full((len(items), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(items), width), dtype=torch.long)
        keep = torch.zeros((len(items), width), dtype=torch.bool)
        for r, i in enumerate(items):
            s, n_prompt = seqs[i], len(pairs[i][0])
            ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
            attn[r, : len(s)] = 1
            keep[r, max(n_prompt, 1) - 1 : len(s) - 1] = True  # position t predicts token t + 1
        shifted = torch.full_like(ids, pad_id)
        shifted[:, :-1] = ids[:, 1:]
        rows = torch.arange(len(items)).unsqueeze(1).expand_as(keep)
        out.append(TokenBatch(items, ids, attn, keep, shifted[keep], rows[keep], keep.sum(1)))
    return out


class ContinuationScorer:
    """Runs :class:`TokenBatch` es through a causal LM and reduces them to mean log-probabilities.

    Args:
        model: A transformers causal LM (``model(input_ids=, attention_mask=).logits``).
        device: torch device of the model.
    """

    def __init__(self, model: Any, device: str = "cpu") -> None:
        self.model = model
        self.device = device
        #: Whether the model takes a boolean ``logits_to_keep`` mask (None until the first batch tells).
        self.sliced_logits: bool | None = None

    def kept_logits(self, batch: TokenBatch) -> Any:
        """Logits at the kept positions only, ``(keep.sum(), vocab)``."""
        import torch

        ids = batch.input_ids.to(self.device)
        attn = batch.attention_mask.to(self.device)
        keep = batch.keep.to(self.device)
        n = int(batch.keep.sum())
        with torch.inference_mode():
            if self.sliced_logits is not False:
                try:
                    logits = self.model(input_ids=ids, attention_mask=attn, logits_to_keep=keep).logits
                except (TypeError, IndexError, RuntimeError, ValueError):
                    logits = None
                if logits is not None and logits.ndim == 2 and logits.shape[0] == n:
                    self.sliced_logits = True
                    return logits
                self.sliced_logits = False
            return self.model(input_ids=ids, attention_mask=attn).logits[keep]

    def batch_scores(self, batch: TokenBatch) -> np.ndarray:
        """Mean continuation log-probability of each row of ``batch`` (float32 arithmetic, float64 out)."""
        import torch

        with torch.inference_mode():
            logits = self.kept_logits(batch).float()
            targets = batch.targets.to(logits.device)
            logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            sums = torch.zeros(len(batch.items), dtype=logp.dtype, device=logp.device)
            sums.index_add_(0, batch.row_of_target.to(logp.device), logp)
            mean = sums / batch.counts.to(logp.device)
        return mean.cpu().numpy().astype(np.float64)

    def mean_logprobs(self, pairs: Sequence[Pair], batch_size: int, pad_id: int) -> np.ndarray:
        """Scores of ``pairs`` in their order; an empty continuation scores 0."""
        out = np.zeros(len(pairs), dtype=np.float64)
        for batch in build_batches(pairs, batch_size, pad_id):
            out[batch.items] = self.batch_scores(batch)
        return out


def pure_forward(model: Any, batches: Sequence[TokenBatch], device: str = "cpu") -> int:
    """The model's plain forward (full logits) over ``batches``: the yardstick of the benchmarks. Returns the
    number of real tokens run."""
    import torch

    n = 0
    with torch.inference_mode():
        for b in batches:
            model(input_ids=b.input_ids.to(device), attention_mask=b.attention_mask.to(device))
            n += b.n_tokens
    return n
