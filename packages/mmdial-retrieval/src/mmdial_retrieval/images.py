"""Reading images safely: content-hash ids, decoding with errors that name the file, format checks.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 3), "red").save(buf, format="PNG")
    >>> content_id(b"abc")[:8]
    'ba7816bf'
    >>> load_rgb(Image.open(buf)).size
    (4, 3)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mmdial_data.errors import MMDialDataError

if TYPE_CHECKING:
    from PIL import Image

#: File extensions treated as images when scanning folders.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")

#: Hex characters of the SHA-256 digest kept in image ids (128 bits).
ID_HEX_CHARS = 32

_EXT_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".gif": "GIF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


class ImageLoadError(MMDialDataError):
    """An image file is missing, empty, truncated or not an image."""


def content_id(data: bytes) -> str:
    """The image id: the first :data:`ID_HEX_CHARS` hex characters of the SHA-256 of the file bytes."""
    return hashlib.sha256(data).hexdigest()[:ID_HEX_CHARS]


@dataclass(frozen=True)
class CheckedImage:
    """Result of :func:`check_image`: id, size, decoded format, and a note (format mismatch) if any."""

    image_id: str
    width: int
    height: int
    format: str
    note: str | None = None


def check_image(path: str | os.PathLike[str]) -> CheckedImage:
    """Hash and fully decode an image file.

    Raises:
        ImageLoadError: Missing, zero bytes, truncated, or not decodable (the message says which).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageLoadError(f"cannot read image: {exc.strerror or exc}", path=path) from exc
    if not data:
        raise ImageLoadError("empty file (0 bytes)", path=path)
    import io

    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or "?"
            im.load()
            width, height = im.size
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not an image (unrecognised content)", path=path) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"corrupt image: {exc}", path=path) from exc
    expected = _EXT_FORMATS.get(path.suffix.lower())
    note = None
    if expected is not None and expected != fmt and not (expected == "TIFF" and fmt == "MPO"):
        note = f"extension {path.suffix} but content is {fmt}"
    return CheckedImage(content_id(data), width, height, fmt, note)


def load_rgb(image: str | os.PathLike[str] | Image.Image) -> Image.Image:
    """Open a path (or take a PIL image) and return it decoded as RGB (alpha composited on white).

    Raises:
        ImageLoadError: The file cannot be decoded.
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        return _to_rgb(image)
    try:
        with Image.open(image) as im:
            im.load()
            return _to_rgb(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"cannot decode image: {exc}", path=image) from exc


def _to_rgb(im: Image.Image) -> Image.Image:
    from PIL import Image

    if im.mode == "RGB":
        return im
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA"):
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im.convert("RGB")
