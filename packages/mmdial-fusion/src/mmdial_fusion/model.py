"""The fusion model: any transformers encoder-decoder or decoder-only LM reading projected image slots.

Inputs (see :class:`mmdial_fusion.collate.FusionCollator`): the context text ``input_ids``/``attention_mask``
(padded on the right), image slots ``image_features`` ``(B, N, d_img)`` with ``image_mask`` (1 = a real image)
and ``image_types`` (:data:`~mmdial_fusion.projection.TURN_IMAGE` slots first, then
:data:`~mmdial_fusion.projection.ENTITY_IMAGE`), and the response ``labels`` (``-100`` = padding).

Each sample's real slots are packed in order, padding last (first for decoder-only, see below):

- encoder-decoder (T5): encoder input ``[context text | turn images | entity images | pad]``; the response is the
  decoder target. Packing keeps image slots right after the last real text token, so with T5's relative
  positions the amount of padding (text or image) never changes the output.
- decoder-only (GPT-2, Llama): ``[pad | context text | turn images | entity images | response]``, left padded,
  ``position_ids`` counted over real slots only; the loss is on the response tokens only (context and image
  slots get label ``-100``). Generation feeds the same layout without the response.

The modality-type embedding is added to the context slots (text and images); response tokens use the plain
token embedding both in training and in generation.

Example:
    >>> import torch
    >>> from mmdial_fusion.backbones import load_backbone
    >>> bb = load_backbone("tiny-t5")
    >>> model = FusionModel(bb.model, image_dim=8)
    >>> batch = {"input_ids": torch.tensor([[5, 6, 1]]), "attention_mask": torch.ones(1, 3, dtype=torch.long),
    ...          "image_features": torch.zeros(1, 2, 8), "image_mask": torch.tensor([[1, 0]]),
    ...          "image_types": torch.tensor([[1, 0]]), "labels": torch.tensor([[7, 1]])}
    >>> model(**batch).logits.shape[:2]
    torch.Size([1, 2])
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mmdial_fusion.projection import TEXT, ModalityEmbedding, VisualProjection

if TYPE_CHECKING:
    from transformers import PreTrainedModel

FUSION_CONFIG = "fusion_config.json"
FUSION_WEIGHTS = "fusion_head.pt"
BACKBONE_DIR = "backbone"


@dataclass(frozen=True)
class PackedInputs:
    """Backbone inputs after packing text, image and (decoder-only training) response slots."""

    inputs_embeds: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor | None
    labels: torch.Tensor | None


def pack_slots(masks: list[torch.Tensor], *, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Order each row's real slots first (``side="right"`` padding) or last (``"left"``), keeping their order.

    Args:
        masks: Per segment, a ``(B, S_i)`` mask of real slots; segments are concatenated in this order.
        side: Where the padding goes.

    Returns:
        ``(index, mask)``: ``(B, L)`` gather indices into the concatenated segments and the packed mask, with
        ``L`` the largest number of real slots of a row.

    Example:
        >>> idx, mask = pack_slots([torch.tensor([[1, 1, 0], [1, 0, 0]]), torch.tensor([[1, 0], [1, 1]])],
        ...                        side="right")
        >>> idx.tolist(), mask.tolist()
        ([[0, 1, 3], [0, 3, 4]], [[1, 1, 1], [1, 1, 1]])
        >>> idx, mask = pack_slots([torch.tensor([[1, 0], [1, 1]]), torch.tensor([[0], [1]])], side="left")
        >>> idx.tolist(), mask.tolist()
        ([[1, 2, 0], [0, 1, 2]], [[0, 0, 1], [1, 1, 1]])
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    valid = torch.cat([m.bool() for m in masks], dim=1)
    total = valid.shape[1]
    pos = torch.arange(total, device=valid.device).expand_as(valid)
    invalid_first = valid if side == "left" else ~valid
    order = torch.argsort(invalid_first.long() * total + pos, dim=1)
    length = int(valid.sum(dim=1).max().item()) if valid.numel() else 0
    index = order[:, total - length :] if side == "left" else order[:, :length]
    return index, valid.gather(1, index).long()


@dataclass(frozen=True)
class FusionSettings:
    """What is needed to rebuild the fusion head around a saved backbone."""

    image_dim: int
    hidden_size: int
    layer_norm: bool = False
    is_encoder_decoder: bool = True


class FusionModel(nn.Module):
    """A backbone plus the shared visual projection and the modality-type embedding.

    Args:
        backbone: A transformers encoder-decoder (``config.is_encoder_decoder``) or causal LM.
        image_dim: Size of the image features.
        layer_norm: Add ``LayerNorm(hidden)`` after the projection.
    """

    def __init__(self, backbone: PreTrainedModel, image_dim: int, *, layer_norm: bool = False):
        super().__init__()
        self.backbone = backbone
        hidden = int(backbone.get_input_embeddings().embedding_dim)
        self.settings = FusionSettings(
            image_dim=image_dim,
            hidden_size=hidden,
            layer_norm=layer_norm,
            is_encoder_decoder=bool(backbone.config.is_encoder_decoder),
        )
        self.projection = VisualProjection(image_dim, hidden, layer_norm=layer_norm)
        self.modality = ModalityEmbedding(hidden)

    @property
    def is_encoder_decoder(self) -> bool:
        """True for T5-style backbones, False for decoder-only causal LMs."""
        return self.settings.is_encoder_decoder

    def pack(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_features: torch.Tensor | None = None,
        image_mask: torch.Tensor | None = None,
        image_types: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        *,
        for_generation: bool = False,
    ) -> PackedInputs:
        """Embed and pack the slots into backbone inputs (see the module docstring for the layouts)."""
        embed = self.backbone.get_input_embeddings()
        batch = input_ids.shape[0]
        device = input_ids.device
        text = embed(input_ids)
        text = text + self.modality(torch.full_like(input_ids, TEXT)).to(text.dtype)
        segments = [text]
        masks = [attention_mask]
        if image_features is not None and image_features.shape[1] > 0:
            if image_mask is None or image_types is None:
                raise ValueError("image_features need image_mask and image_types")
            images = self.projection(image_features.to(self.projection.mlp[0].weight.dtype))
            images = (images + self.modality(image_types)).to(text.dtype)
            segments.append(images)
            masks.append(image_mask)
        causal_labels = None
        if not self.is_encoder_decoder and labels is not None and not for_generation:
            response_mask = labels.ne(-100)
            response_ids = labels.masked_fill(~response_mask, int(self.backbone.config.pad_token_id or 0))
            segments.append(embed(response_ids))
            masks.append(response_mask.long())
            ignore = torch.full((batch, sum(m.shape[1] for m in masks[:-1])), -100, dtype=labels.dtype, device=device)
            causal_labels = torch.cat([ignore, labels], dim=1)
        index, packed_mask = pack_slots(masks, side="right" if self.is_encoder_decoder else "left")
        stacked = torch.cat(segments, dim=1)
        gathered = stacked.gather(1, index.unsqueeze(-1).expand(-1, -1, stacked.shape[-1]))
        if self.is_encoder_decoder:
            return PackedInputs(gathered, packed_mask, None, labels)
        position_ids = (packed_mask.cumsum(dim=1) - 1).clamp(min=0)
        packed_labels = None
        if causal_labels is not None:
            packed_labels = causal_labels.gather(1, index).masked_fill(packed_mask.eq(0), -100)
        return PackedInputs(gathered, packed_mask, position_ids, packed_labels)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_features: torch.Tensor | None = None,
        image_mask: torch.Tensor | None = None,
        image_types: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the backbone on the packed slots; returns its output (``loss`` when ``labels`` are given).

        For decoder-only backbones the returned ``logits`` cover the packed sequence (context, images,
        response); for encoder-decoders they cover the response (decoder) positions.
        """
        packed = self.pack(input_ids, attention_mask, image_features, image_mask, image_types, labels)
        if self.is_encoder_decoder:
            return self.backbone(
                inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask, labels=packed.labels, **kwargs
            )
        return self.backbone(
            inputs_embeds=packed.inputs_embeds,
            attention_mask=packed.attention_mask,
            position_ids=packed.position_ids,
            labels=packed.labels,
            **kwargs,
        )

    def sample_losses(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_features: torch.Tensor | None = None,
        image_mask: torch.Tensor | None = None,
        image_types: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row, the summed response cross-entropy (nats) and its number of response tokens: ``(B,)`` each.

        ``nll.sum() / tokens.sum()`` is the token-weighted loss :meth:`forward` returns for the batch. For
        decoder-only backbones the output head is applied to the response positions only (the context's logits
        are never needed), so this is cheaper than :meth:`forward` on long contexts.
        """
        if labels is None:
            raise ValueError("sample_losses needs labels (the response tokens)")
        packed = self.pack(input_ids, attention_mask, image_features, image_mask, image_types, labels)
        if packed.labels is None:
            raise ValueError("no labels after packing")
        if self.is_encoder_decoder:
            logits = self.backbone(
                inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask, labels=packed.labels
            ).logits
            targets = packed.labels
        else:
            hidden = self.backbone.base_model(
                inputs_embeds=packed.inputs_embeds,
                attention_mask=packed.attention_mask,
                position_ids=packed.position_ids,
            ).last_hidden_state[:, :-1]
            targets = packed.labels[:, 1:]  # position t predicts token t + 1 (the causal LM shift)
            keep = targets.ne(-100)
            head = self.backbone.get_output_embeddings()
            picked = head(hidden[keep]).float()
            nll_flat = nn.functional.cross_entropy(picked, targets[keep], reduction="none")
            nll = torch.zeros(targets.shape, dtype=torch.float32, device=targets.device)
            nll[keep] = nll_flat
            return nll.sum(dim=1), keep.sum(dim=1)
        keep = targets.ne(-100)
        nll = nn.functional.cross_entropy(
            logits.float().transpose(1, 2), targets.masked_fill(~keep, 0), reduction="none"
        ).masked_fill(~keep, 0.0)
        return nll.sum(dim=1), keep.sum(dim=1)

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_features: torch.Tensor | None = None,
        image_mask: torch.Tensor | None = None,
        image_types: torch.Tensor | None = None,
        **generate_kwargs: Any,
    ) -> torch.Tensor:
        """Generate response token ids (only the new tokens; for T5 without the decoder start token)."""
        packed = self.pack(input_ids, attention_mask, image_features, image_mask, image_types, for_generation=True)
        out = self.backbone.generate(
            inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask, **generate_kwargs
        )
        if self.is_encoder_decoder and out.shape[1] > 0:
            out = out[:, 1:]
        return out

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """Write ``backbone/`` (transformers format), the fusion head weights and its settings."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.backbone.save_pretrained(directory / BACKBONE_DIR)
        head = {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}
        torch.save(head, directory / FUSION_WEIGHTS)
        (directory / FUSION_CONFIG).write_text(json.dumps(asdict(self.settings), indent=2) + "\n", encoding="utf-8")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike[str], **backbone_kwargs: Any) -> FusionModel:
        """Load a model written by :meth:`save_pretrained`."""
        from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

        directory = Path(directory)
        config_path = directory / FUSION_CONFIG
        if not config_path.is_file():
            raise FileNotFoundError(f"{config_path}: not a fusion model directory (missing {FUSION_CONFIG})")
        settings = FusionSettings(**json.loads(config_path.read_text(encoding="utf-8")))
        auto = AutoModelForSeq2SeqLM if settings.is_encoder_decoder else AutoModelForCausalLM
        backbone = auto.from_pretrained(directory / BACKBONE_DIR, **backbone_kwargs)
        model = cls(backbone, settings.image_dim, layer_norm=settings.layer_norm)
        head = torch.load(directory / FUSION_WEIGHTS, map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict(head, strict=False)
        missing = [k for k in missing if not k.startswith("backbone.")]
        if missing or unexpected:
            raise ValueError(f"{directory / FUSION_WEIGHTS}: missing {missing}, unexpected {unexpected}")
        return model
