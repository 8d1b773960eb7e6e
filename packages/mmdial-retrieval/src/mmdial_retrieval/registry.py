"""The encoder registry: ``list_encoders()``, ``get_encoder(name)``, ``register_encoder(...)``.

A name is ``<backend>[:<argument>]``: ``offline`` (the trained offline encoder, :mod:`mmdial_retrieval.trained_encoder`,
with the weights shipped in the package), ``offline:<weights file>``, ``conse`` / ``conse:<projection file>`` (the
training-free ConSE encoder, :mod:`mmdial_retrieval.offline_encoder`), ``openclip:<model>[:<weights>]``,
``sentence`` / ``sentence:<local model dir>``. With no name, ``get_encoder()`` uses ``$MMDIAL_ENCODER`` and
falls back to ``offline``, the preset that needs no downloads. ``offline:<file>`` given a ConSE projection file
(written by ``fit-projection`` before the trained encoder existed) builds the ConSE encoder with it.

Example:
    >>> [e.name for e in list_encoders()]
    ['conse', 'offline', 'openclip', 'sentence']
    >>> get_encoder("opencilp:ViT-B-32")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown encoder backend 'opencilp'; did you mean 'openclip'?
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmdial_data.names import did_you_mean
from mmdial_data.registry import Registry
from mmdial_retrieval.encoder import DualEncoder

#: The encoder used when none is named and ``$MMDIAL_ENCODER`` is unset.
DEFAULT_ENCODER = "offline"


@dataclass(frozen=True)
class EncoderBackend:
    """A registered backend: ``factory(argument or None) -> DualEncoder``."""

    name: str
    factory: Callable[[str | None], DualEncoder]
    description: str
    usage: str


#: Encoder backends by name (the part of an encoder name before the first ``:``).
ENCODER_BACKENDS: Registry[EncoderBackend] = Registry("encoder backend")
_INSTANCES: dict[str, DualEncoder] = {}


def suggest(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices``, or ``""`` (:func:`mmdial_data.names.did_you_mean`).

    >>> suggest("ofline", ["offline", "openclip"])
    "; did you mean 'offline'?"
    """
    return did_you_mean(name, choices)


def register_encoder(
    name: str,
    factory: Callable[[str | None], DualEncoder],
    *,
    description: str = "",
    usage: str = "",
    replace: bool = False,
) -> None:
    """Register a backend under ``name`` (the part before the first ``:`` of encoder names)."""
    if ":" in name:
        raise ValueError(f"backend names cannot contain ':' ({name!r})")
    ENCODER_BACKENDS.register(name, EncoderBackend(name, factory, description, usage or name), replace=replace)


def list_encoders() -> list[EncoderBackend]:
    """The registered backends, sorted by name."""
    return ENCODER_BACKENDS.values()


def get_encoder(name: str | None = None) -> DualEncoder:
    """Build (or reuse) the encoder named ``name``; see the module docs for the name syntax.

    Raises:
        mmdial_data.registry.UnknownNameError: Unknown backend (a ``KeyError``, with a "did you mean" hint).
        mmdial_retrieval.MissingExtraError: The backend's extra is not installed.
    """
    name = name or os.environ.get("MMDIAL_ENCODER") or DEFAULT_ENCODER
    if name in _INSTANCES:
        return _INSTANCES[name]
    backend, _, argument = name.partition(":")
    encoder = ENCODER_BACKENDS.get(backend).factory(argument or None)
    _INSTANCES[name] = encoder
    return encoder


def _offline(argument: str | None) -> DualEncoder:
    from mmdial_retrieval.trained_encoder import OfflineKnnEncoder

    if argument and _is_projection_file(argument):
        return _conse(argument)
    return OfflineKnnEncoder(argument)


def _is_projection_file(path: str) -> bool:
    """Whether ``path`` is a ConSE projection file (``fit-projection``: ``weight`` and ``bias`` arrays)."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {"weight", "bias"} <= set(data.files)
    except (OSError, ValueError):
        return False


def _conse(argument: str | None) -> DualEncoder:
    from mmdial_retrieval.offline_encoder import OfflineConSEEncoder

    return OfflineConSEEncoder(projection=argument)


def _openclip(argument: str | None) -> DualEncoder:
    from mmdial_retrieval.openclip_encoder import OpenClipEncoder

    if not argument:
        raise KeyError("openclip needs a model: openclip:<model>[:<pretrained tag or checkpoint path>]")
    model, _, pretrained = argument.partition(":")
    return OpenClipEncoder(model, pretrained or None)


def _sentence(argument: str | None) -> DualEncoder:
    from mmdial_retrieval.sentence_encoder import SentenceEncoder

    return SentenceEncoder(argument)


register_encoder(
    "offline",
    _offline,
    usage="offline[:<weights.npz>]",
    description="ConSE + caption transfer from openly licensed clip art, emoji and glyphs (trained); no downloads",
)
register_encoder(
    "conse",
    _conse,
    usage="conse[:<projection.npz>]",
    description="training-free ConSE: EfficientNet-Lite0 ImageNet classes -> MiniLM class-name embeddings",
)
register_encoder(
    "openclip",
    _openclip,
    usage="openclip:<model>[:<pretrained tag or checkpoint path>]",
    description="any open_clip model; 'openclip:mmdial-tiny' is a seeded random tiny model for tests",
)
register_encoder(
    "sentence",
    _sentence,
    usage="sentence[:<local sentence-transformers dir>]",
    description="text-only sentence encoder (packaged all-MiniLM-L6-v2 by default)",
)
