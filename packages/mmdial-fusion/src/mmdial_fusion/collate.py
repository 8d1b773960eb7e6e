"""Turn :class:`~mmdial_fusion.samples.FusionSample` lists into model batches, with the ReSee ablations.

Batch tensors (see :class:`~mmdial_fusion.model.FusionModel`):

- ``input_ids``/``attention_mask`` ``(B, T)``: the context (turns joined by the separator, optional caption and
  entity text after separators), truncated from the left, padded on the right; T5 inputs end with EOS.
- ``image_features`` ``(B, N, d_img)``, ``image_mask`` ``(B, N)``, ``image_types`` ``(B, N)``: turn-level slots
  first, then entity-level; padded slots have mask 0 and type 0.
- ``labels`` ``(B, R)``: response ids + EOS, ``-100`` on padding (only when the collator has ``with_labels``).

Example:
    >>> import numpy as np
    >>> from mmdial_fusion.backbones import tiny_tokenizer
    >>> from mmdial_fusion.features import ImageFeatureStore
    >>> from mmdial_fusion.samples import FusionSample, VisualKnowledge
    >>> store = ImageFeatureStore(["a", "b"], np.ones((2, 4), dtype=np.float32))
    >>> s = FusionSample("d#1", "d", ["hi"], [0], "hello", 1, turn_images=[VisualKnowledge("a", "turn")],
    ...                  entity_images=[VisualKnowledge("b", "entity", entity="cat")])
    >>> batch = FusionCollator(tiny_tokenizer(), store, is_encoder_decoder=True)([s])
    >>> batch["image_types"].tolist()
    [[1, 2]]
    >>> no_turn = FusionCollator(tiny_tokenizer(), store, is_encoder_decoder=True, ablation="no_turn")
    >>> no_turn([s])["image_types"].tolist()
    [[2]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.projection import ENTITY_IMAGE, TURN_IMAGE
from mmdial_fusion.samples import FusionSample

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

#: Ablation name -> (use turn-level images, use entity-level images).
ABLATIONS: dict[str, tuple[bool, bool]] = {
    "full": (True, True),
    "no_turn": (False, True),
    "no_entity": (True, False),
    "text_only": (False, False),
}


def ablation_flags(name: str) -> tuple[bool, bool]:
    """``(use_turn, use_entity)`` of an ablation name; ``KeyError`` lists the valid names."""
    if name not in ABLATIONS:
        raise KeyError(f"unknown ablation {name!r}; choose one of {sorted(ABLATIONS)}")
    return ABLATIONS[name]


@dataclass
class FusionCollator:
    """Tokenise samples and gather their image features.

    Args:
        tokenizer: The backbone's tokenizer.
        features: Image id -> embedding (may be None for ``text_only``).
        is_encoder_decoder: T5-style (EOS after the context) or decoder-only.
        ablation: One of :data:`ABLATIONS`.
        max_context_tokens: Context budget (oldest tokens dropped).
        max_response_tokens: Response budget (including EOS).
        max_turn_images: Turn-level slots kept per sample.
        max_entity_images: Entity-level slots kept per sample.
        add_captions: Append the captions of the used turn-level images to the context text.
        add_entities: Append the entity words of the used entity-level images to the context text.
        separator: Text between turns; the tokenizer's ``sep_token`` or a newline when None.
        with_labels: Produce ``labels`` (training, scoring); False for generation.
    """

    tokenizer: PreTrainedTokenizerBase
    features: ImageFeatureStore | None
    is_encoder_decoder: bool
    ablation: str = "full"
    max_context_tokens: int = 256
    max_response_tokens: int = 64
    max_turn_images: int = 5
    max_entity_images: int = 6
    add_captions: bool = False
    add_entities: bool = False
    separator: str | None = None
    with_labels: bool = True

    def __post_init__(self) -> None:
        self.use_turn, self.use_entity = ablation_flags(self.ablation)
        if (self.use_turn or self.use_entity) and self.features is None:
            raise ValueError(f"ablation {self.ablation!r} uses images: pass an ImageFeatureStore")
        if self.tokenizer.pad_token_id is None or self.tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer needs pad and eos tokens")

    @property
    def sep(self) -> str:
        """The turn separator text."""
        if self.separator is not None:
            return self.separator
        sep_token = getattr(self.tokenizer, "sep_token", None)
        return f" {sep_token} " if sep_token else "\n"

    def slots(self, sample: FusionSample) -> tuple[list[str], list[int]]:
        """Image ids and modality types of the slots this collator gives ``sample`` (turn first, then entity)."""
        ids: list[str] = []
        types: list[int] = []
        if self.use_turn:
            for k in sample.turn_images[: self.max_turn_images]:
                ids.append(k.image_id)
                types.append(TURN_IMAGE)
        if self.use_entity:
            for k in sample.entity_images[: self.max_entity_images]:
                ids.append(k.image_id)
                types.append(ENTITY_IMAGE)
        return ids, types

    def context_text(self, sample: FusionSample) -> str:
        """The context string fed to the tokenizer (turns, then optional captions and entities)."""
        text = self.sep.join(t for t in sample.context if t.strip())
        if self.add_captions and self.use_turn:
            captions = [k.caption for k in sample.turn_images[: self.max_turn_images] if k.caption]
            if captions:
                text += self.sep + "; ".join(captions)
        if self.add_entities and self.use_entity:
            entities = [k.entity for k in sample.entity_images[: self.max_entity_images] if k.entity]
            if entities:
                text += self.sep + ", ".join(dict.fromkeys(entities))
        if not self.is_encoder_decoder:
            text += self.sep
        return text

    def _ids(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def __call__(self, samples: Sequence[FusionSample]) -> dict[str, torch.Tensor]:
        if not samples:
            raise ValueError("cannot collate an empty list of samples")
        pad, eos = int(self.tokenizer.pad_token_id), int(self.tokenizer.eos_token_id)
        contexts = []
        for s in samples:
            ids = self._ids(self.context_text(s))
            if self.is_encoder_decoder:
                ids = [*ids[-(self.max_context_tokens - 1) :], eos]
            else:
                ids = ids[-self.max_context_tokens :]
            contexts.append(ids)
        width = max(len(c) for c in contexts)
        input_ids = torch.full((len(samples), width), pad, dtype=torch.long)
        attention_mask = torch.zeros((len(samples), width), dtype=torch.long)
        for b, ids in enumerate(contexts):
            input_ids[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[b, : len(ids)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}

        slots = [self.slots(s) for s in samples]
        n_slots = max(len(ids) for ids, _ in slots)
        if self.features is not None:
            dim = self.features.dim
            feats = np.zeros((len(samples), n_slots, dim), dtype=np.float32)
            image_mask = torch.zeros((len(samples), n_slots), dtype=torch.long)
            image_types = torch.zeros((len(samples), n_slots), dtype=torch.long)
            for b, (s, (ids, types)) in enumerate(zip(samples, slots, strict=True)):
                if ids:
                    feats[b, : len(ids)] = self.features.lookup(ids, where=f"sample {s.sample_id}")
                    image_mask[b, : len(ids)] = 1
                    image_types[b, : len(ids)] = torch.tensor(types)
            batch.update(image_features=torch.from_numpy(feats), image_mask=image_mask, image_types=image_types)

        if self.with_labels:
            responses = [[*self._ids(s.response)[: self.max_response_tokens - 1], eos] for s in samples]
            rwidth = max(len(r) for r in responses)
            labels = torch.full((len(samples), rwidth), -100, dtype=torch.long)
            for b, ids in enumerate(responses):
                labels[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            batch["labels"] = labels
        return batch
