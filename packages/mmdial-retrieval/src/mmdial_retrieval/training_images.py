"""Openly licensed captioned images for training the offline encoder, all installable from package registries.

Three sources, each a function returning :class:`CaptionedImage` records (path, caption, source):

- :func:`openclipart_images`: Debian's ``openclipart-png`` (public-domain clip art, ``/usr/share/openclipart/png``).
  The caption is the title in the file name plus the category folders: ``bored_dog_01.png`` under
  ``animals/mammals/dogs`` -> ``"bored dog (dogs, mammals, animals)"``. File names end with the author's name cut
  to fit (``canguro_architetto_franc_01``): when a name is long (20+ characters) and ends in a two-digit counter
  or was cut, its last two ``_`` words are taken for that name and dropped. Words with digits and single letters
  are dropped. Folders dominated by one kind of image that is not an object (computer icons, stars and other
  shapes, gradients/patterns, flags, playing cards) are left out by default (:data:`OPENCLIPART_SKIP`).
- :func:`emoji_images`: Debian's ``fonts-noto-color-emoji`` (OFL-1.1): every single-code-point emoji of the font,
  rendered with Pillow, captioned by its Unicode name in lower case (``"red apple"``).
- :func:`glyph_images`: Debian's ``fonts-dejavu-core`` (free licence, Bitstream Vera derivative): letters, digits
  and the symbol blocks of :data:`GLYPH_BLOCKS` (currency, arrows, mathematical operators, geometric shapes,
  miscellaneous symbols, dingbats), each in two fonts and two styles (filled, outlined), captioned by the Unicode
  name, with letters and digits said in plain words (``LATIN SMALL LETTER A`` -> ``"the letter a"``,
  ``DIGIT ZERO`` -> ``"the number zero"``).

Rendered images are written once into a folder (``render_dir``) and reused. Nothing here reads Tux Paint: it is
the held-out evaluation of the encoder trained on these images.

Example:
    >>> glyph_caption("LATIN CAPITAL LETTER Q"), glyph_caption("DIGIT SEVEN"), glyph_caption("EURO SIGN")
    ('the letter Q', 'the number seven', 'euro sign')
    >>> openclipart_caption("animals/mammals/dogs/bored_dog_01.png")
    'bored dog (dogs, mammals, animals)'
    >>> openclipart_caption("animals/mammals/canguro_architetto_franc_01.png")
    'canguro (mammals, animals)'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Where Debian's openclipart-png installs its images.
OPENCLIPART_PNG = Path("/usr/share/openclipart/png")
#: Debian's fonts-noto-color-emoji.
NOTO_EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
#: Debian's fonts-dejavu-core: a bold sans and a serif face.
DEJAVU_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
)
#: openclipart folders (relative paths, or a folder name anywhere in the path) left out by default.
OPENCLIPART_SKIP = ("computer", "shapes", "special", "flags", "cards")
#: Unicode ranges rendered by :func:`glyph_images` (inclusive).
GLYPH_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x21, 0x21),  # exclamation mark
    (0x23, 0x26),  # number sign, dollar, percent, ampersand
    (0x2B, 0x2B),  # plus
    (0x2D, 0x2D),  # hyphen-minus
    (0x30, 0x39),  # digits
    (0x3D, 0x3D),  # equals
    (0x3F, 0x3F),  # question mark
    (0x41, 0x5A),  # capital letters
    (0x61, 0x7A),  # small letters
    (0xA2, 0xA5),  # cent, pound, currency, yen
    (0x20A0, 0x20BF),  # currency symbols
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
    (0x25A0, 0x25FF),  # geometric shapes
    (0x2600, 0x26FF),  # miscellaneous symbols (chess, music, weather, ...)
    (0x2700, 0x27BF),  # dingbats
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows
)


@dataclass(frozen=True)
class CaptionedImage:
    """One training pair: an image file and its caption, with the source it came from."""

    path: Path
    caption: str
    source: str


def openclipart_caption(relative: str) -> str:
    """The caption of an openclipart file from its path below the ``png`` folder (see the module docs)."""
    parts = relative.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    match = re.match(r"^(.*?)(?:_(\d{2}|r))?$", stem)
    base = match.group(1) if match else stem
    words = base.split("_")
    if ((match and match.group(2)) or len(base) >= 23) and len(base) >= 20 and len(words) >= 3:
        words = words[:-2]  # the author's name, cut to fit the file-name length
    title = [w for t in words for w in re.split(r"[-+.]", t) if len(w) > 1 and not any(c.isdigit() for c in w)]
    folders = [f.replace("_", " ") for f in parts[:-1] if f not in ("unsorted", "special")]
    text = " ".join(title)
    return f"{text} ({', '.join(reversed(folders))})" if folders else text


def glyph_caption(name: str) -> str:
    """Plain words for a Unicode character name (letters and digits spelled out, the rest in lower case)."""
    letter = re.match(r"LATIN (CAPITAL|SMALL) LETTER ([A-Z])$", name)
    if letter:
        return f"the letter {letter.group(2) if letter.group(1) == 'CAPITAL' else letter.group(2).lower()}"
    digit = re.match(r"DIGIT ([A-Z]+)$", name)
    if digit:
        return f"the number {digit.group(1).lower()}"
    return name.lower()


def openclipart_images(root: Path = OPENCLIPART_PNG, skip: Sequence[str] = OPENCLIPART_SKIP) -> list[CaptionedImage]:
    """Every PNG below ``root`` outside ``skip``, captioned by :func:`openclipart_caption` (sorted by path)."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"{root}: openclipart images not found; install them with: apt-get install openclipart-png"
        )
    out = []
    for path in sorted(root.rglob("*.png")):
        rel = path.relative_to(root).as_posix()
        folders = rel.split("/")[:-1]
        if any(s in folders or rel.startswith(s + "/") for s in skip):
            continue
        out.append(CaptionedImage(path, openclipart_caption(rel), "openclipart"))
    return out


def _font_code_points(font_path: Path) -> list[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(font_path), lazy=True) as font:
        return sorted(font.getBestCmap())


def emoji_images(render_dir: Path, font_path: Path = NOTO_EMOJI_FONT) -> list[CaptionedImage]:
    """The font's single-code-point emoji (U+2000 and up, with a Unicode name), rendered to ``render_dir``."""
    from PIL import Image, ImageDraw, ImageFont

    if not font_path.is_file():
        raise FileNotFoundError(
            f"{font_path}: emoji font not found; install it with: apt-get install fonts-noto-color-emoji"
        )
    render_dir.mkdir(parents=True, exist_ok=True)
    font = ImageFont.truetype(str(font_path), 109)  # the size of the font's bitmaps
    out = []
    for cp in _font_code_points(font_path):
        name = unicodedata.name(chr(cp), "")
        if cp < 0x2000 or not name:
            continue
        path = render_dir / f"emoji-{cp:05x}.png"
        if not path.is_file():
            image = Image.new("RGBA", (136, 128), (0, 0, 0, 0))
            ImageDraw.Draw(image).text((0, 0), chr(cp), font=font, embedded_color=True)
            box = image.getbbox()
            if box is None:
                continue
            image.crop(box).save(path)
        out.append(CaptionedImage(path, name.lower(), "emoji"))
    return out


def glyph_images(
    render_dir: Path, fonts: Sequence[Path] = DEJAVU_FONTS, blocks: Sequence[tuple[int, int]] = GLYPH_BLOCKS
) -> list[CaptionedImage]:
    """Letters, digits and symbols (``blocks``) of each font, filled and outlined, rendered into ``render_dir``."""
    from PIL import Image, ImageDraw, ImageFont

    render_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for font_path in fonts:
        if not font_path.is_file():
            raise FileNotFoundError(f"{font_path}: font not found; install it with: apt-get install fonts-dejavu-core")
        have = set(_font_code_points(font_path))
        font = ImageFont.truetype(str(font_path), 160)
        for lo, hi in blocks:
            for cp in range(lo, hi + 1):
                name = unicodedata.name(chr(cp), "")
                if cp not in have or not name:
                    continue
                for style in ("filled", "outline"):
                    path = render_dir / f"{font_path.stem}-{cp:05x}-{style}.png"
                    if not path.is_file():
                        image = Image.new("RGBA", (260, 260), (0, 0, 0, 0))
                        draw = ImageDraw.Draw(image)
                        if style == "filled":
                            draw.text((30, 20), chr(cp), font=font, fill=(0, 0, 0, 255))
                        else:
                            draw.text((30, 20), chr(cp), font=font, fill=(255, 255, 255, 255), stroke_width=6,
                                      stroke_fill=(0, 0, 0, 255))  # fmt: skip
                        box = image.getbbox()
                        if box is None:
                            continue
                        image.crop(box).save(path)
                    out.append(CaptionedImage(path, glyph_caption(name), "glyphs"))
    return out
