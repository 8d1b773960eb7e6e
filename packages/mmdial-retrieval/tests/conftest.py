"""Shared fixtures: real encoders (built once per session) and small real image folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def conse_encoder():
    """The training-free ConSE encoder (``conse``)."""
    from mmdial_retrieval import get_encoder

    return get_encoder("conse")


@pytest.fixture(scope="session")
def offline_encoder():
    """The default offline encoder: ConSE + caption transfer with the shipped weights."""
    from mmdial_retrieval import get_encoder

    return get_encoder("offline")


@pytest.fixture(scope="session")
def tiny_clip():
    from mmdial_retrieval import get_encoder

    return get_encoder("openclip:mmdial-tiny")


@pytest.fixture(scope="session")
def skimage_photos() -> dict[str, Path]:
    """scikit-image's bundled photos by name."""
    data = pytest.importorskip("skimage.data", reason="scikit-image is needed for its bundled photos")
    folder = Path(data.__file__).parent
    names = {
        "chelsea": "chelsea.png",
        "coffee": "coffee.png",
        "rocket": "rocket.jpg",
        "astronaut": "astronaut.png",
        "horse": "horse.png",
        "motorcycle": "motorcycle_left.png",
    }
    return {k: folder / v for k, v in names.items()}


@pytest.fixture
def photo_folder(tmp_path, skimage_photos) -> Path:
    """A folder with four real photos (copied from scikit-image), one in a sub-folder."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for name in ("chelsea", "coffee", "rocket"):
        shutil.copy(skimage_photos[name], root / skimage_photos[name].name)
    shutil.copy(skimage_photos["astronaut"], root / "sub" / "astronaut.png")
    return root
