"""`mmdial export hf`: a DatasetDict saved to disk, images embedded as datasets.Image when resolvable."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmdial_data import Dialogue, ImageRef, Turn, read_source, write_dialogues
from mmdial_data.cli import main
from mmdial_data.testing import demo_dir


def test_export_roundtrip_with_images(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    root = tmp_path / "images"
    (root / "photos").mkdir(parents=True)
    Image.new("RGB", (4, 3), (200, 10, 10)).save(root / "photos" / "cake.png")
    dialogues = list(read_source("folder", demo_dir() / "folder"))  # turn 1 of c1: photos/cake.png
    dialogues.append(
        Dialogue(
            "x/test/1",
            "x",
            "test",
            [Turn(0, "A", "user", "", images=[ImageRef("u1", "https://example.org/a.jpg", "web")])],
        )
    )
    data = tmp_path / "d.parquet"
    write_dialogues(dialogues, data)
    out = tmp_path / "hf"
    assert main(["export", "hf", str(out), "--data", str(data), "--image-root", str(root)]) == 0
    dd = datasets.load_from_disk(str(out))
    assert sorted(dd) == ["test", "train"] and (len(dd["train"]), len(dd["test"])) == (2, 1)
    row = dd["train"][0]
    assert row["dialogue_id"] == "mychat/train/c1" and row["image_ids"] == ["photos/cake.png"]
    assert row["images"][0].size == (4, 3) and row["images"][0].getpixel((0, 0)) == (200, 10, 10)
    assert row["turns"][1]["images"][0]["uri"] == "photos/cake.png"
    assert dd["test"][0]["images"] == [] and dd["test"][0]["turns"][0]["images"][0]["uri"].startswith("https://")
    assert Dialogue.from_dict({k: v for k, v in row.items() if k not in ("images", "image_ids")}) == dialogues[0]
