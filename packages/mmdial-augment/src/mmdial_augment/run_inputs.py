"""What an augment run starts from: its inputs read (:func:`load_dialogues`), the retrieval encoder by name
(:func:`get_retrieval_encoder`) and the seeds (:func:`seed_everything`); used by :mod:`mmdial_augment.pipeline`,
which re-exports these names.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mmdial_augment.config import AugmentConfig
    from mmdial_data import Dialogue
    from mmdial_retrieval.encoder import DualEncoder


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and (if imported) torch."""
    random.seed(seed)
    np.random.seed(seed)
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def get_retrieval_encoder(name: str) -> DualEncoder:
    """``mmdial_retrieval``'s encoder registry (``offline``, ``openclip:...``, ``sentence``)."""
    try:
        from mmdial_retrieval import get_encoder  # type: ignore[attr-defined]
    except ImportError:
        from mmdial_retrieval.registry import get_encoder
    return get_encoder(name)


def load_dialogues(config: AugmentConfig) -> list[Dialogue]:
    """Read every input (readers or unified files); ``config.limit`` caps the number of dialogues.

    Raises:
        mmdial_data.MMDialDataError: No input, or no dialogue in the inputs.
    """
    from mmdial_data import MMDialDataError, read_dialogues, read_source

    if not config.inputs:
        raise MMDialDataError("config has no inputs")
    out: list[Dialogue] = []
    for spec in config.inputs:
        if config.limit is not None and len(out) >= config.limit:
            break
        if spec.unified:
            if not Path(spec.unified).exists():
                raise FileNotFoundError(f"{spec.unified}: no such unified dataset (file or shard folder)")
            it = read_dialogues(spec.unified)
        else:
            assert spec.reader is not None
            if not Path(spec.path).exists():
                raise FileNotFoundError(f"{spec.path}: no such input for reader {spec.reader!r}")
            it = read_source(spec.reader, spec.path, split=spec.split, options=spec.options or None)
        for d in it:
            if config.limit is not None and len(out) >= config.limit:
                break
            out.append(d)
    if not out:
        where = ", ".join(s.unified or s.path for s in config.inputs)
        raise MMDialDataError("empty dataset: the inputs hold no dialogue", path=where)
    return out
