"""Image URIs of :class:`~mmdial_data.schema.ImageRef`: which are safe (:func:`check_image_uri`: a relative path
that stays under the image root, or a URL) and the file each names under an image root
(:func:`resolve_image_path`).

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
import re
from pathlib import Path, PurePosixPath

from mmdial_data.errors import ImagePathError

#: URI prefixes taken as URLs (not paths under the image root).
URL_PREFIXES = ("http://", "https://", "s3://", "gs://")
#: :data:`URL_PREFIXES` as a regular expression (for Arrow's regex kernels).
URL_PATTERN = "^(?:" + "|".join(re.escape(p) for p in URL_PREFIXES) + ")"


def _is_url(uri: str) -> bool:
    return uri.startswith(URL_PREFIXES)


def check_image_uri(uri: str) -> str | None:
    """Return why ``uri`` is not a safe relative path or URL, or None when it is.

    >>> check_image_uri("coco/val/1.jpg") is None
    True
    >>> check_image_uri("../etc/passwd")
    "uri '../etc/passwd' escapes the image root"
    """
    if not uri:
        return "empty uri"
    if _is_url(uri):
        return None
    p = PurePosixPath(uri.replace("\\", "/"))
    if p.is_absolute() or (len(uri) > 1 and uri[1] == ":"):
        return f"uri {uri!r} is absolute; use a path relative to the image root"
    if ".." in p.parts:
        return f"uri {uri!r} escapes the image root"
    return None


def resolve_image_path(uri: str, root: str | os.PathLike[str], *, must_exist: bool = True) -> Path:
    """The file of ``uri`` under ``root``; raises :class:`ImagePathError` if it escapes the root or is missing.

    Symlinks are resolved before the containment check, so a link pointing outside the root is refused too.
    """
    problem = check_image_uri(uri)
    if problem:
        raise ImagePathError(problem, path=uri)
    if _is_url(uri):
        raise ImagePathError("is a URL, not a file under the image root", path=uri)
    base = Path(root).resolve()
    target = (base / uri).resolve()
    if not target.is_relative_to(base):
        raise ImagePathError(f"resolves outside the image root {base}", path=uri)
    if must_exist and not target.is_file():
        raise ImagePathError(f"no such image file under {base}", path=uri)
    return target
