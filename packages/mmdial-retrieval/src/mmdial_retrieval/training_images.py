"""Openly licensed captioned images for training the offline encoder, all installable from package registries.

Four sources, each a function returning :class:`CaptionedImage` records (path, caption, source):

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
- :func:`easy_vqa_images`: the *train* split of PyPI's ``easy-vqa`` (MIT): 4,000 64x64 pictures of one coloured
  shape, captioned from easy-vqa's own questions and answers (:func:`easy_vqa_attributes`): ``"a teal circle"``.
  Its test split is never read here: it is the visual-dependency probe's held-out data (``mmdial fusion probe``).

Rendered images are written once into a folder (``render_dir``) and reused. Nothing here reads Tux Paint: it is
the held-out evaluation of the encoder trained on these images.

Example:
    >>> glyph_caption("LATIN CAPITAL LETTER Q"), glyph_caption("DIGIT SEVEN"), glyph_caption("EURO SIGN")
    ('the letter Q', 'the number seven', 'euro sign')
    >>> openclipart_caption("animals/mammals/dogs/bored_dog_01.png")
    'bored dog (dogs, mammals, animals)'
    >>> openclipart_caption("animals/mammals/canguro_architetto_franc_01.png")
    'canguro (mammals, animals)'
    >>> easy_vqa_caption({"colour": "teal", "shape": "circle"}), easy_vqa_caption({"colour": "red"})
    ('a teal circle', 'a red shape')
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
#: Colours and shapes of easy-vqa's pictures.
EASY_VQA_COLOURS = ("black", "blue", "brown", "gray", "green", "red", "teal", "yellow")
EASY_VQA_SHAPES = ("circle", "rectangle", "triangle")
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
    #: Images of one group are held out together when the encoder's settings are chosen (images that are alike
    #: beyond their caption: one openclipart folder, one Unicode block); empty: the caption is the group.
    group: str = ""


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
        out.append(CaptionedImage(path, openclipart_caption(rel), "openclipart", "openclipart/" + "/".join(folders)))
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
        out.append(CaptionedImage(path, name.lower(), "emoji", f"emoji/{cp >> 7:04x}"))  # 128-code-point runs
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
                    out.append(CaptionedImage(path, glyph_caption(name), "glyphs", f"glyphs/{lo:04x}"))
    return out


_EV_NAMED = re.compile(r"^what is the (\w+) shape\?$")
_EV_COLOUR_Q = re.compile(r"^what (color is the (\w+)|is the color of the (\w+))\?$")
_EV_SHAPE_Q = re.compile(r"^what shape (is in the image|does the image contain|is present)\?$")
_EV_PRESENT = re.compile(r"^(is there a|does the image contain a|is a) (\w+)( shape)?( in the image| present)?\?$")
_EV_ABSENT = re.compile(
    r"^(is there not a|does the image not contain a|is no) (\w+)( shape)?( in the image| present)?\?$"
)


def easy_vqa_attributes(split: str) -> dict[int, dict[str, str]]:
    """easy-vqa image number -> ``{"colour": ..., "shape": ...}`` as far as its questions of ``split`` tell.

    Read from the questions whose answer names the attribute ("what color is the shape?" -> the colour, "what
    shape is present?" -> the shape, "what color is the circle?" -> also the shape, "what is the red shape?" ->
    also the colour) and from the yes/no questions about one ("is there a blue shape?" answered yes, "is there not
    a triangle?" answered no). Two different values for one image raise ``ValueError``.
    """
    import easy_vqa

    if split not in ("train", "test"):
        raise ValueError(f"easy-vqa splits are 'train' and 'test', got {split!r}")
    questions, answers, image_ids = (
        easy_vqa.get_train_questions() if split == "train" else easy_vqa.get_test_questions()
    )
    out: dict[int, dict[str, str]] = {}

    def note(i: int, value: str | None) -> None:
        kind = "colour" if value in EASY_VQA_COLOURS else "shape" if value in EASY_VQA_SHAPES else None
        if kind is None or value is None:
            return
        if out.setdefault(i, {}).setdefault(kind, value) != value:
            raise ValueError(f"easy-vqa {split} image {i}: {kind}s {out[i][kind]!r} and {value!r}")

    for q, a, i in zip(questions, answers, image_ids, strict=True):
        i = int(i)
        if (m := _EV_COLOUR_Q.match(q)) is not None:
            note(i, a)
            note(i, m.group(2) or m.group(3))
        elif _EV_SHAPE_Q.match(q):
            note(i, a)
        elif (m := _EV_NAMED.match(q)) is not None:
            note(i, m.group(1))
            note(i, a)
        else:
            m = _EV_PRESENT.match(q) if a == "yes" else _EV_ABSENT.match(q) if a == "no" else None
            if m is not None:
                note(i, m.group(2))
    return out


def easy_vqa_caption(attributes: dict[str, str]) -> str:
    """``"a <colour> <shape>"`` from :func:`easy_vqa_attributes`' record (``shape`` when the shape is unknown)."""
    return " ".join(
        ["a", *([attributes["colour"]] if "colour" in attributes else []), attributes.get("shape", "shape")]
    )


def easy_vqa_images(split: str = "train") -> list[CaptionedImage]:
    """easy-vqa's pictures of ``split`` whose colour or shape is known, captioned by :func:`easy_vqa_caption`."""
    try:
        import easy_vqa
    except ImportError as exc:
        raise FileNotFoundError("easy-vqa is not installed; install it with: pip install easy-vqa") from exc
    paths = easy_vqa.get_train_image_paths() if split == "train" else easy_vqa.get_test_image_paths()
    attrs = easy_vqa_attributes(split)
    return [CaptionedImage(Path(paths[i]), easy_vqa_caption(attrs[i]), "easy-vqa") for i in sorted(attrs)]
