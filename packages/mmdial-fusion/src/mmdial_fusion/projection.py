"""The visual projection shared by turn- and entity-level images, and the modality-type embedding.

ReSee maps every image embedding with ``Linear(d_img, d_img) -> ReLU -> Linear(d_img, hidden)`` (optionally
followed by ``LayerNorm(hidden)``) into the backbone's embedding space. A learned modality-type embedding
(text, turn-level image, entity-level image) is added to every context slot; it starts at zero so that a
text-only input gives exactly the backbone's output before training.

Example:
    >>> import torch
    >>> proj = VisualProjection(image_dim=6, hidden_size=4)
    >>> proj(torch.zeros(2, 3, 6)).shape
    torch.Size([2, 3, 4])
"""

from __future__ import annotations

import torch
from torch import nn

#: Modality-type ids: text slots, turn-level image slots, entity-level image slots.
TEXT, TURN_IMAGE, ENTITY_IMAGE = 0, 1, 2
MODALITY_TYPES = 3


class VisualProjection(nn.Module):
    """``Linear(d_img, d_img) -> ReLU -> Linear(d_img, hidden)`` (+ optional ``LayerNorm(hidden)``)."""

    def __init__(self, image_dim: int, hidden_size: int, *, layer_norm: bool = False):
        super().__init__()
        self.image_dim = image_dim
        self.hidden_size = hidden_size
        self.mlp = nn.Sequential(nn.Linear(image_dim, image_dim), nn.ReLU(), nn.Linear(image_dim, hidden_size))
        self.norm: nn.Module = nn.LayerNorm(hidden_size) if layer_norm else nn.Identity()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Project ``(..., image_dim)`` features to ``(..., hidden_size)``."""
        out: torch.Tensor = self.norm(self.mlp(features))
        return out


class ModalityEmbedding(nn.Module):
    """A learned embedding per modality type (:data:`TEXT`, :data:`TURN_IMAGE`, :data:`ENTITY_IMAGE`).

    Zero-initialised, so text-only inputs start exactly at the backbone.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(MODALITY_TYPES, hidden_size)
        nn.init.zeros_(self.embedding.weight)

    def forward(self, types: torch.Tensor) -> torch.Tensor:
        """Embeddings of the type ids ``types`` (any shape) -> ``(*types.shape, hidden)``."""
        out: torch.Tensor = self.embedding(types)
        return out
