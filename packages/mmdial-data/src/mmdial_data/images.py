"""Resolving :class:`~mmdial_data.schema.ImageRef` URIs under an image root, safely.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.png").write_bytes(b"x")
    >>> resolve_image_path("a.png", root).name
    'a.png'
    >>> resolve_image_path("../a.png", root)
    Traceback (most recent call last):
    ...
    mmdial_data.errors.ImagePathError: ../a.png: uri '../a.png' escapes the image root
"""

from __future__ import annotations

import os
from pathlib import Path

from mmdial_data.errors import ImagePathError
from mmdial_data.validate import check_image_uri


def resolve_image_path(uri: str, root: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    """The file of ``uri`` under ``root``; raises :class:`ImagePathError` if it escapes the root or is missing.

    Symlinks are resolved before the containment check, so a link pointing outside the root is refused too.
    """
    problem = check_image_uri(uri)
    if problem:
        raise ImagePathError(problem, path=uri)
    if uri.startswith(("http://", "https://", "s3://", "gs://")):
        raise ImagePathError("is a URL, not a file under the image root", path=uri)
    base = Path(root).resolve()
    target = (base / uri).resolve()
    if not target.is_relative_to(base):
        raise ImagePathError(f"resolves outside the image root {base}", path=uri)
    if must_exist and not target.is_file():
        raise ImagePathError(f"no such image file under {base}", path=uri)
    return target
