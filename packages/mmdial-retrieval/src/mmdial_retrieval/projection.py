"""A small linear projection trained on captioned images, applied on top of the offline ConSE image side.

``fit_projection`` learns ``W, b`` (initialised to the identity) so that ``normalize(image @ W + b)`` is close
to the MiniLM embedding of the image's caption (symmetric InfoNCE, weight decay towards the identity). The
file (``.npz``) carries the weights, the training settings and a content digest that becomes part of the
encoder id (``offline:conse-v1+proj-<digest>``), so caches never mix projected and raw embeddings.

Example:
    >>> import numpy as np, tempfile, os
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(size=(64, 8)).astype("float32"); txt = img @ rng.normal(size=(8, 8)).astype("float32")
    >>> path = os.path.join(tempfile.mkdtemp(), "proj.npz")
    >>> result = fit_projection(img, txt, path, epochs=50, seed=0)
    >>> result.val_recall_at_1 >= result.val_recall_at_1_before
    True
    >>> (weight, bias), digest = load_projection(path)
    >>> weight.shape, len(digest)
    ((8, 8), 64)
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_retrieval._extras import require
from mmdial_retrieval.encoder import l2_normalize


@dataclass
class ProjectionResult:
    """What :func:`fit_projection` measured: text->image Recall@1 on the held-out part, before and after."""

    path: str
    train_size: int
    val_size: int
    val_recall_at_1_before: float
    val_recall_at_1: float
    final_loss: float


def _recall_at_1(images: np.ndarray, texts: np.ndarray) -> float:
    if len(images) == 0:
        return float("nan")
    scores = l2_normalize(texts) @ l2_normalize(images).T
    return float(np.mean(scores.argmax(axis=1) == np.arange(len(texts))))


def fit_projection(
    image_embeddings: np.ndarray,
    caption_embeddings: np.ndarray,
    out: str | os.PathLike[str],
    *,
    epochs: int = 300,
    lr: float = 1e-2,
    temperature: float = 0.05,
    identity_decay: float = 1e-3,
    val_fraction: float = 0.2,
    seed: int = 0,
    provenance: dict[str, Any] | None = None,
) -> ProjectionResult:
    """Train the projection on pairs (row i of both arrays is one captioned image) and save it atomically.

    Args:
        image_embeddings: ``(n, d)`` unprojected image embeddings.
        caption_embeddings: ``(n, d)`` text embeddings of the captions.
        out: Output ``.npz`` path.
        epochs: Full-batch Adam steps.
        lr: Learning rate.
        temperature: InfoNCE temperature.
        identity_decay: Weight of ``||W - I||^2``.
        val_fraction: Held-out share (by seeded permutation) used only to report Recall@1.
        seed: Seed of the split and of torch.
        provenance: Extra record stored in the file.
    """
    torch = require("torch", "offline")
    x = np.asarray(image_embeddings, np.float32)
    y = l2_normalize(caption_embeddings)
    if x.shape != y.shape or x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need matching (n, d) arrays with n >= 2, got {x.shape} and {y.shape}")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(len(x) * val_fraction) if len(x) >= 10 else 0
    val, train = order[:n_val], order[n_val:]
    gen = torch.Generator().manual_seed(seed)
    dim = x.shape[1]
    weight = torch.nn.Parameter(torch.eye(dim) + 1e-3 * torch.randn(dim, dim, generator=gen))
    bias = torch.nn.Parameter(torch.zeros(dim))
    opt = torch.optim.Adam([weight, bias], lr=lr)
    xt, yt = torch.from_numpy(x[train]), torch.from_numpy(y[train])
    eye = torch.eye(dim)
    targets = torch.arange(len(train))
    loss = torch.zeros(())
    for _ in range(epochs):
        opt.zero_grad()
        z = torch.nn.functional.normalize(xt @ weight + bias, dim=-1)
        logits = yt @ z.T / temperature
        loss = (
            torch.nn.functional.cross_entropy(logits, targets) + torch.nn.functional.cross_entropy(logits.T, targets)
        ) / 2
        loss = loss + identity_decay * ((weight - eye) ** 2).sum()
        loss.backward()
        opt.step()
    w = weight.detach().numpy().astype(np.float32)
    b = bias.detach().numpy().astype(np.float32)
    before = _recall_at_1(x[val], y[val])
    after = _recall_at_1(x[val] @ w + b, y[val])
    result = ProjectionResult(str(out), len(train), len(val), before, after, float(loss.item()))
    meta = {
        "kind": "mmdial-retrieval/projection",
        "version": 1,
        "dim": dim,
        "epochs": epochs,
        "lr": lr,
        "temperature": temperature,
        "identity_decay": identity_decay,
        "seed": seed,
        "result": asdict(result),
        "provenance": provenance,
    }
    save_projection(out, w, b, meta)
    return result


def save_projection(path: str | os.PathLike[str], weight: np.ndarray, bias: np.ndarray, meta: dict[str, Any]) -> None:
    """Write ``weight``, ``bias`` and ``meta`` (JSON) to ``path`` atomically."""
    from mmdial_retrieval.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, weight=weight, bias=bias, meta=np.asarray(json.dumps(meta)))


def load_projection(path: str | os.PathLike[str]) -> tuple[tuple[np.ndarray, np.ndarray], str]:
    """``((weight, bias), sha256 of weight and bias)`` from a projection file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: projection file not found (train one with `mmdial retrieval fit-projection`)")
    with np.load(path, allow_pickle=False) as data:
        weight = data["weight"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    digest = hashlib.sha256(weight.tobytes() + bias.tobytes()).hexdigest()
    return (weight, bias), digest
