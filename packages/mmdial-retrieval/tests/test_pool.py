"""Image pools: every source format, content-hash ids, corrupt files reported."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from mmdial_retrieval.images import ImageLoadError, check_image, content_id
from mmdial_retrieval.pool import TUXPAINT_STAMPS, ImagePool


def _png_bytes(color: str, size: tuple[int, int] = (20, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def messy_folder(tmp_path) -> Path:
    """Good images plus a truncated PNG, a zero-byte file, a text file named .jpg, a JPEG named .png, a duplicate."""
    root = tmp_path / "messy"
    root.mkdir()
    (root / "red.png").write_bytes(_png_bytes("red"))
    (root / "blue.png").write_bytes(_png_bytes("blue"))
    big = _png_bytes("green", (300, 300))
    (root / "truncated.png").write_bytes(big[: len(big) // 2])
    (root / "empty.png").write_bytes(b"")
    (root / "notes.jpg").write_text("this is not an image")
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), "yellow").save(buf, format="JPEG")
    (root / "actually_jpeg.png").write_bytes(buf.getvalue())
    (root / "red_copy.png").write_bytes(_png_bytes("red"))
    return root


def test_corrupt_images_are_reported_not_fatal(tmp_path, messy_folder) -> None:
    pool = ImagePool.create(tmp_path / "pool")
    report = pool.add_folder(messy_folder, source="messy")
    assert sorted(i.uri for i in pool) == ["actually_jpeg.png", "blue.png", "red.png"]
    problems = {Path(p.path).name: p for p in report.problems}
    assert problems["truncated.png"].kind == "unreadable" and "truncated" in problems["truncated.png"].reason
    assert problems["empty.png"].kind == "unreadable" and "0 bytes" in problems["empty.png"].reason
    assert problems["notes.jpg"].kind == "unreadable" and "not an image" in problems["notes.jpg"].reason
    assert problems["actually_jpeg.png"].kind == "format-mismatch"
    assert "content is JPEG" in problems["actually_jpeg.png"].reason
    dup = problems["red_copy.png"]
    assert dup.kind == "duplicate" and dup.duplicate_of == content_id(_png_bytes("red"))
    assert report.summary() == "messy: 3 added, 5 problems (1 duplicate, 1 format-mismatch, 3 unreadable)"
    # the report is persisted with the pool
    reopened = ImagePool.open(tmp_path / "pool")
    assert len(reopened.problems) == 5 and reopened.ids() == pool.ids()
    meta = json.loads((tmp_path / "pool" / "pool.json").read_text())
    assert meta["count"] == 3 and meta["additions"][0]["problems"] == 5 and "versions" in meta["provenance"]


def test_check_image_errors_name_the_file(messy_folder) -> None:
    with pytest.raises(ImageLoadError, match=r"empty\.png: empty file"):
        check_image(messy_folder / "empty.png")
    with pytest.raises(ImageLoadError, match=r"missing\.png: cannot read"):
        check_image(messy_folder / "missing.png")


def test_content_hash_ids_are_stable_across_names_and_roots(tmp_path, photo_folder) -> None:
    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(photo_folder)
    assert len(pool) == 4 and pool.items[-1].uri == "sub/astronaut.png"
    item = pool.items[0]
    assert item.image_id == content_id(pool.path_of(item).read_bytes()) and len(item.image_id) == 32
    assert (item.width, item.height) == (451, 300)  # chelsea.png
    moved = tmp_path / "moved"
    shutil.copytree(photo_folder, moved)
    reopened = ImagePool.open(tmp_path / "pool", roots={"photos": str(moved)})
    assert reopened.path_of(item) == moved / item.uri
    ref = item.to_image_ref(level="entity", entity="cat", score=0.5)
    assert (ref.image_id, ref.uri, ref.source, ref.entity) == (item.image_id, "chelsea.png", "photos", "cat")


def test_captions_csv_and_jsonl(tmp_path, photo_folder) -> None:
    csv_file = photo_folder / "captions.csv"
    csv_file.write_text('file,caption\nchelsea.png,"a cat, sitting"\nsub/astronaut.png,an astronaut\nnope.png,x\n')
    pool = ImagePool.create(tmp_path / "pool")
    report = pool.add_captions_file(csv_file)
    assert [i.caption for i in pool] == ["a cat, sitting", "an astronaut"]
    assert [(Path(p.path).name, p.kind) for p in report.problems] == [("nope.png", "missing")]
    jsonl = tmp_path / "caps.jsonl"
    jsonl.write_text(
        json.dumps({"image": "coffee.png", "text": "coffee"})
        + "\n\n"
        + json.dumps({"image": "rocket.jpg", "caption": "a rocket"})
        + "\n"
    )
    pool.add_captions_file(jsonl, image_root=photo_folder, source="photos")
    assert pool.captions()[2:] == ["coffee", "a rocket"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image": "a.png"}\n{broken\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 2: invalid JSON"):
        pool.add_captions_file(bad, image_root=photo_folder)


def test_coco_annotations(tmp_path, photo_folder) -> None:
    coco = {
        "images": [{"id": 1, "file_name": "chelsea.png"}, {"id": 2, "file_name": "coffee.png"}],
        "annotations": [
            {"id": 11, "image_id": 1, "caption": "A cat looking left."},
            {"id": 10, "image_id": 1, "caption": "An orange cat."},
            {"id": 12, "image_id": 2, "caption": " A cup of coffee "},
        ],
    }
    ann = tmp_path / "captions_val.json"
    ann.write_text(json.dumps(coco))
    pool = ImagePool.create(tmp_path / "pool")
    pool.add("coco", ann, image_root=photo_folder)
    assert [(i.caption, i.extra_captions) for i in pool] == [
        ("An orange cat.", ["A cat looking left."]),
        ("A cup of coffee", []),
    ]
    with pytest.raises(ValueError, match="unknown pool source format 'cocoa'; did you mean 'coco'"):
        pool.add("cocoa", ann)


def test_tuxpaint_layout_first_line_is_caption(tmp_path) -> None:
    stamps = tmp_path / "stamps" / "animals" / "cats"
    stamps.mkdir(parents=True)
    (stamps / "cat.png").write_bytes(_png_bytes("orange"))
    (stamps / "cat.txt").write_text("A sleepy cat.\nfr.utf8=Un chat.\n")
    (stamps / "cat_mirror.png").write_bytes(_png_bytes("gray"))
    pool = ImagePool.create(tmp_path / "pool")
    report = pool.add_tuxpaint(tmp_path / "stamps")
    assert [(i.uri, i.caption) for i in pool] == [("animals/cats/cat.png", "A sleepy cat.")]
    assert [p.kind for p in report.problems] == ["no-caption"]


@pytest.mark.skipif(
    not TUXPAINT_STAMPS.is_dir(),
    reason="Debian package tuxpaint-stamps-default not installed (apt-get install tuxpaint-stamps-default)",
)
def test_real_tuxpaint_stamps(tmp_path) -> None:
    pool = ImagePool.create(tmp_path / "pool")
    report = pool.add_tuxpaint()
    assert len(pool) > 300
    assert all(i.caption for i in pool)
    assert all(p.kind in {"no-caption", "duplicate", "format-mismatch", "unreadable"} for p in report.problems)
    by_uri = {i.uri: i.caption for i in pool}
    if "symbols/money/us/coins/001penny.png" in by_uri:
        assert by_uri["symbols/money/us/coins/001penny.png"] == "A US 1 cent piece ($.01) called a penny."


def test_a_registered_source_format_is_used_by_add_and_the_augment_config(tmp_path, photo_folder) -> None:
    from mmdial_augment.config import PoolSpec
    from mmdial_retrieval import pool_sources
    from mmdial_retrieval.pool_items import Candidate

    def read_named(path, *, image_root=None):  # captions from the file names: "red_square.png" -> "red square"
        root = Path(path).resolve()
        files = sorted(root.glob("*.png"))
        candidates = [Candidate(p, p.name, p.stem.replace("_", " ")) for p in files]
        return pool_sources.SourceListing(root, candidates, {"format": "named", "path": str(root)}, "named")

    with pytest.raises(ValueError, match="kind must be one of pool, captions, coco, folder, tuxpaint, got 'named'"):
        PoolSpec(path="x", kind="named").validate("config.pool")
    pool_sources.register_pool_source("named", read_named)
    try:
        PoolSpec(path="x", kind="named").validate("config.pool")
        pool = ImagePool.create(tmp_path / "pool")
        report = pool.add("named", photo_folder)
        expected = sorted(p.stem.replace("_", " ") for p in photo_folder.glob("*.png"))
        assert report.source == "named" and report.added == len(expected) > 0
        assert sorted(i.caption for i in pool) == expected
        assert pool.additions[-1] == {
            "format": "named",
            "path": str(photo_folder.resolve()),
            "source": "named",
            "added": len(expected),
            "problems": 0,
        }
    finally:
        pool_sources.POOL_SOURCES.unregister("named")
    with pytest.raises(ValueError, match="unknown pool source format 'named'"):
        pool.add("named", photo_folder)
