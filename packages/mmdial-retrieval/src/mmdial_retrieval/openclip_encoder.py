"""open_clip dual encoders: any open_clip model, by pretrained tag, local checkpoint, or seeded random weights.

Names: ``openclip:<model>[:<pretrained tag or local checkpoint path>]``. Examples:
``openclip:ViT-B-32:openai`` (research default; needs the weights once or ``HF_HUB_OFFLINE=1`` with a cache),
``openclip:ViT-B-32:/models/vit-b-32.pt`` (local checkpoint), ``openclip:mmdial-tiny`` (the project's tiny
config from ``model_configs/``, random weights seeded by ``seed``: for tests and benchmarks).

Example:
    >>> enc = OpenClipEncoder("mmdial-tiny", seed=0)  # doctest: +SKIP
    >>> enc.encode_text(["a dog"]).shape  # doctest: +SKIP
    (1, 32)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_data.names import did_you_mean
from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import DualEncoder

if TYPE_CHECKING:
    from PIL import Image

#: Folder of the project's own open_clip model configs (``mmdial-tiny-clip.json`` -> model ``mmdial-tiny-clip``).
MODEL_CONFIG_DIR = Path(__file__).parent / "model_configs"
#: Short aliases of the project's configs.
ALIASES = {"mmdial-tiny": "mmdial-tiny-clip"}

_registered = False


def register_model_configs() -> None:
    """Add the project's model configs to open_clip's registry (idempotent)."""
    global _registered
    open_clip = require("open_clip", "openclip")
    if not _registered:
        open_clip.add_model_config(MODEL_CONFIG_DIR)
        _registered = True


class OpenClipEncoder(DualEncoder):
    """An open_clip model as a :class:`DualEncoder`.

    Args:
        model: open_clip model name (``ViT-B-32``) or one of :data:`ALIASES`.
        pretrained: Pretrained tag (``openai``) or a local checkpoint file; None gives random weights.
        seed: Seed of the random initialisation (used when ``pretrained`` is None).
        device: torch device.
    """

    def __init__(self, model: str, pretrained: str | None = None, *, seed: int = 0, device: str = "cpu"):
        torch = require("torch", "openclip")
        open_clip = require("open_clip", "openclip")
        register_model_configs()
        name = ALIASES.get(model, model)
        if name not in open_clip.list_models():
            raise KeyError(f"unknown open_clip model {model!r}{did_you_mean(model, open_clip.list_models())}")
        is_path = bool(pretrained) and (os.sep in pretrained or pretrained.endswith((".pt", ".bin", ".safetensors")))
        if is_path and not Path(pretrained).is_file():
            raise FileNotFoundError(f"{pretrained}: open_clip checkpoint not found")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self._model, _, self._preprocess = open_clip.create_model_and_transforms(
                name, pretrained=pretrained or None, device=device
            )
        self._model.eval()
        self._tokenizer = open_clip.get_tokenizer(name)
        self.device = device
        self.model_name = name
        self.pretrained = pretrained
        self.seed = seed
        tag = pretrained if pretrained else f"random-seed{seed}"
        self.encoder_id = f"openclip:{name}:{tag}"
        with torch.inference_mode():
            self.dim = int(self._model.encode_text(self._tokenizer(["x"]).to(device)).shape[-1])

    def preprocess(self, image: Image.Image) -> Any:
        """open_clip's own eval transform of one RGB image."""
        return self._preprocess(image)

    def image_transform(self) -> Any:
        """open_clip's torchvision transform (picklable)."""
        return self._preprocess

    def _encode_image_batch(self, batch: Any) -> np.ndarray:
        torch = require("torch", "openclip")
        with torch.inference_mode():
            out: np.ndarray = self._model.encode_image(batch.to(self.device)).float().cpu().numpy()
        return out

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        torch = require("torch", "openclip")
        with torch.inference_mode():
            out: np.ndarray = self._model.encode_text(self._tokenizer(texts).to(self.device)).float().cpu().numpy()
        return out

    def info(self) -> dict[str, Any]:
        """Model name, pretrained tag or path, seed."""
        base = super().info()
        base.update({"model": self.model_name, "pretrained": self.pretrained, "seed": self.seed})
        return base
