"""Text-only sentence encoder (``sentence:<path>``): MiniLM by default, or any local sentence-transformers model.

Used for text-text similarity (utterance vs caption, IMAD's filtering features). It implements the
:class:`~mmdial_retrieval.encoder.DualEncoder` text side; ``encode_images`` raises ``TypeError``.

Example:
    >>> enc = SentenceEncoder()  # doctest: +SKIP
    >>> float(enc.encode_text(["hi there"]) @ enc.encode_text(["hello there"]).T) > 0.5  # doctest: +SKIP
    True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmdial_retrieval.encoder import DualEncoder


class SentenceEncoder(DualEncoder):
    """A sentence-transformers model loaded from a local directory (packaged MiniLM when ``path`` is None)."""

    modalities = ("text",)

    def __init__(self, path: str | Path | None = None, *, device: str = "cpu"):
        from mmdial_retrieval.text_models import load_sentence_model

        self.path = None if path is None else str(path)
        self.device = device
        self._model = load_sentence_model(self.path, device)
        self.dim = int(self._encode_texts(["dimension probe"]).shape[1])
        self.encoder_id = "sentence:all-MiniLM-L6-v2" if path is None else f"sentence:{Path(path).name}"

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        out: np.ndarray = self._model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return out.astype(np.float32)
