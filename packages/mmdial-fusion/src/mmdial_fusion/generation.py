"""Generate responses for samples (greedy, beam, top-k/top-p sampling) and score them per ablation.

Example:
    >>> from mmdial_fusion.backbones import load_backbone
    >>> from mmdial_fusion.model import FusionModel
    >>> from mmdial_fusion.collate import FusionCollator
    >>> from mmdial_fusion.samples import FusionSample
    >>> bb = load_backbone("tiny-gpt2")
    >>> model = FusionModel(bb.model, image_dim=4)
    >>> collate = FusionCollator(bb.tokenizer, None, is_encoder_decoder=False, ablation="text_only")
    >>> out = generate_responses(model, bb.tokenizer, [FusionSample("d#1", "d", ["hi"], [0], "hello", 1)],
    ...                          collate, GenerationConfig(max_new_tokens=3))
    >>> len(out)
    1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from mmdial_fusion.collate import FusionCollator
from mmdial_fusion.config import GenerationConfig
from mmdial_fusion.evaluation import score_responses
from mmdial_fusion.model import FusionModel
from mmdial_fusion.samples import FusionSample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def generate_responses(
    model: FusionModel,
    tokenizer: PreTrainedTokenizerBase,
    samples: Sequence[FusionSample],
    collator: FusionCollator,
    config: GenerationConfig | None = None,
    *,
    seed: int = 0,
    progress: bool = False,
) -> list[str]:
    """Decode one response per sample, in order."""
    config = config or GenerationConfig()
    collate = dataclasses.replace(collator, with_labels=False)
    device = _device_of(model)
    kwargs: dict[str, Any] = config.generate_kwargs()
    kwargs.update(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model.eval()
    out: list[str] = []
    starts = range(0, len(samples), config.batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="generate", unit="batch")
    for start in starts:
        batch = collate(samples[start : start + config.batch_size])
        batch = {k: v.to(device) for k, v in batch.items()}
        ids = model.generate(**batch, **kwargs)
        out += [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
    return out


def evaluate_ablations(
    model: FusionModel,
    tokenizer: PreTrainedTokenizerBase,
    samples: Sequence[FusionSample],
    collator: FusionCollator,
    ablations: Sequence[str],
    config: GenerationConfig | None = None,
) -> dict[str, dict[str, float]]:
    """Generate and score the same samples under each ablation: ``{ablation: scores}``."""
    refs = [s.response for s in samples]
    results = {}
    for ablation in ablations:
        collate = dataclasses.replace(collator, ablation=ablation)
        hyps = generate_responses(model, tokenizer, samples, collate, config)
        results[ablation] = score_responses(hyps, refs)
    return results
