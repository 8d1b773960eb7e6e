"""Notebook HTML viewer and text rendering, with images resolved under an image root."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from mmdial_data import Annotations, Dialogue, DialogueAct, ImagePathError, ImageRef, Turn
from mmdial_data.images import resolve_image_path
from mmdial_data.viewer import render_dialogue_html, render_dialogue_text, set_image_root


def dialogue() -> Dialogue:
    return Dialogue(
        "demo/train/1",
        "demo",
        "train",
        [
            Turn(
                0,
                "A",
                "user",
                "look at my cat",
                annotations=Annotations(dialogue_acts=[DialogueAct("inform")], emotion="happiness"),
            ),
            Turn(1, "B", "system", "", images=[ImageRef("cat", "pets/cat.png", "demo", caption="a grey cat")]),
            Turn(2, "A", "user", "and this?", images=[ImageRef("gone", "pets/missing.png", "demo")]),
        ],
    )


@pytest.fixture()
def image_root(tmp_path: Path) -> Path:
    (tmp_path / "pets").mkdir()
    Image.new("RGB", (400, 300), (120, 120, 120)).save(tmp_path / "pets" / "cat.png")
    return tmp_path


def test_html_inlines_resolved_thumbnails_and_reports_missing(image_root: Path) -> None:
    html = render_dialogue_html(dialogue(), image_root=image_root)
    assert html.count('<img src="data:image/png;base64,') == 1
    assert 'alt="a grey cat"' in html
    assert "[image gone:" in html and "no such image file" in html
    assert "<details><summary>annotations</summary>acts: inform<br>emotion: happiness</details>" in html
    assert 'class="t r-user"' in html and 'class="t r-system"' in html


def test_repr_html_uses_the_configured_root(image_root: Path) -> None:
    d = dialogue()
    set_image_root(None)
    assert "<img" not in d._repr_html_()
    set_image_root(image_root)
    try:
        assert d._repr_html_().count("<img") == 1
    finally:
        set_image_root(None)


def test_thumbnail_is_small(image_root: Path) -> None:
    import base64
    import io

    html = render_dialogue_html(dialogue(), image_root=image_root)
    data = html.split("data:image/png;base64,")[1].split('"')[0]
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        assert max(im.size) == 160


def test_paths_escaping_the_root_are_refused(image_root: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / "outside.png"
    Image.new("RGB", (4, 4)).save(outside)
    (image_root / "link.png").symlink_to(outside)
    with pytest.raises(ImagePathError, match="resolves outside the image root"):
        resolve_image_path("link.png", image_root)
    with pytest.raises(ImagePathError, match="escapes the image root"):
        resolve_image_path("../outside.png", image_root)
    d = dialogue()
    d.turns[1].images[0].uri = "../outside.png"
    assert "escapes the image root" in render_dialogue_html(d, image_root=image_root)


def test_text_rendering() -> None:
    text = render_dialogue_text(dialogue())
    assert text.splitlines()[0] == "demo/train/1  (source demo, split train, 3 turns)"
    assert "      image cat [turn] pets/cat.png - a grey cat" in text
    assert "      inform emotion=happiness" in text
