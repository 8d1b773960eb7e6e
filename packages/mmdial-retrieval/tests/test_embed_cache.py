"""Embedding cache and pipeline: resume after a crash mid-shard loses and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmdial_data.testing import FLOAT32_UNIT_ATOL
from mmdial_retrieval import DualEncoder, EmbeddingCache, ImagePool, Retriever, embed_pool
from mmdial_retrieval.embed import embed_paths


class CrashAfter(DualEncoder):
    """Delegates to a real encoder and raises after ``batches`` forward passes (a simulated kill)."""

    def __init__(self, inner: DualEncoder, batches: int):
        self.inner, self.left = inner, batches
        self.encoder_id, self.dim = inner.encoder_id, inner.dim

    def image_transform(self):
        return self.inner.image_transform()

    def encode_preprocessed(self, batch):
        if self.left == 0:
            raise KeyboardInterrupt("simulated crash")
        self.left -= 1
        return self.inner.encode_preprocessed(batch)


@pytest.fixture
def drawn_pool(tmp_path) -> ImagePool:
    """23 distinct drawn images (different shapes and colors) plus one corrupt file."""
    src = tmp_path / "drawn"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(23):
        im = Image.new("RGB", (48 + i, 40), tuple(int(c) for c in rng.integers(0, 255, 3)))
        d = ImageDraw.Draw(im)
        d.ellipse((i % 10, 5, 30 + i, 35), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        im.save(src / f"img{i:02d}.png")
    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(src)
    return pool


def test_resume_after_crash_mid_shard(tmp_path, drawn_pool, tiny_clip) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    # 4 images per batch, 8 per shard: crash during the 6th batch = in the middle of the third shard
    with pytest.raises(KeyboardInterrupt):
        embed_pool(
            drawn_pool, CrashAfter(tiny_clip, 5), cache, batch_size=4, shard_size=8, num_workers=0, progress=False
        )
    shards = cache.shard_files(tiny_clip.encoder_id)
    assert len(shards) == 2
    # also leave a half-written temporary behind, as a kill during np.savez would
    (shards[0].parent / ".shard-000002.npz.tmp-crash").write_bytes(b"PK\x03\x04 half")
    fresh = EmbeddingCache(tmp_path / "cache")
    assert len(fresh.hashes(tiny_clip.encoder_id)) == 16
    result = embed_pool(drawn_pool, tiny_clip, fresh, batch_size=4, shard_size=8, num_workers=0, progress=False)
    assert (result.from_cache, result.embedded_now) == (16, 7)
    assert result.ids == drawn_pool.ids()
    assert not list(shards[0].parent.glob(".*tmp*"))
    # every image is in exactly one shard
    stored = []
    for shard in fresh.shard_files(tiny_clip.encoder_id):
        with np.load(shard) as data:
            stored.extend(data["hashes"].tolist())
    assert sorted(stored) == sorted(drawn_pool.ids())
    # and the vectors equal an uninterrupted run without a cache
    reference, failures = embed_paths(drawn_pool.paths(), tiny_clip, batch_size=5, num_workers=0)
    assert failures == []
    np.testing.assert_allclose(result.vectors, reference, rtol=0, atol=FLOAT32_UNIT_ATOL)
    # a re-run embeds nothing
    again = embed_pool(drawn_pool, tiny_clip, EmbeddingCache(tmp_path / "cache"), progress=False, num_workers=0)
    assert (again.embedded_now, again.from_cache) == (0, 23)


def test_worker_processes_give_the_same_vectors(tmp_path, drawn_pool, tiny_clip) -> None:
    serial, _ = embed_paths(drawn_pool.paths(), tiny_clip, batch_size=6, num_workers=0)
    parallel, _ = embed_paths(drawn_pool.paths(), tiny_clip, batch_size=6, num_workers=2)
    np.testing.assert_allclose(parallel, serial, rtol=0, atol=FLOAT32_UNIT_ATOL)
    threaded, _ = embed_paths(drawn_pool.paths(), tiny_clip, batch_size=6, threads=2)
    np.testing.assert_allclose(threaded, serial, rtol=0, atol=FLOAT32_UNIT_ATOL)


@pytest.mark.parametrize("threads", [1, 3])
def test_threaded_decoding_keeps_order_and_reports_failures(tmp_path, drawn_pool, tiny_clip, threads) -> None:
    paths = drawn_pool.paths()
    broken = tmp_path / "broken.png"
    broken.write_bytes(paths[0].read_bytes()[:50])
    mixed = [*paths[:7], broken, *paths[7:], tmp_path / "missing.png"]
    serial, serial_failed = embed_paths(mixed, tiny_clip, batch_size=4, num_workers=0)
    threaded, failed = embed_paths(mixed, tiny_clip, batch_size=4, threads=threads)
    assert [pos for pos, _ in failed] == [pos for pos, _ in serial_failed] == [7, 24]
    np.testing.assert_allclose(threaded, serial, rtol=0, atol=FLOAT32_UNIT_ATOL)
    cache = EmbeddingCache(tmp_path / "cache")
    result = embed_pool(drawn_pool, tiny_clip, cache, batch_size=5, shard_size=10, threads=threads, progress=False)
    assert result.ids == drawn_pool.ids() and result.embedded_now == 23
    np.testing.assert_allclose(
        result.vectors, serial, rtol=0, atol=FLOAT32_UNIT_ATOL
    )  # serial holds the 23 readable ones


def test_file_broken_after_pool_add_is_reported(tmp_path, drawn_pool, tiny_clip) -> None:
    victim = drawn_pool.path_of(drawn_pool.items[3])
    victim.write_bytes(victim.read_bytes()[:60])
    result = embed_pool(drawn_pool, tiny_clip, EmbeddingCache(tmp_path / "c"), num_workers=0, progress=False)
    assert len(result.ids) == 22 and drawn_pool.items[3].image_id not in result.ids
    assert [(Path(p.path).name, p.kind) for p in result.failed] == [("img03.png", "unreadable")]


def test_cache_is_keyed_by_encoder(tmp_path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.write_shard("enc:a", ["h1"], np.ones((1, 3), np.float32))
    assert ("enc:a", "h1") in cache and ("enc:b", "h1") not in cache
    with pytest.raises(ValueError, match="dim 3"):
        cache.write_shard("enc:a", ["h2"], np.ones((1, 4), np.float32))
    with pytest.raises(KeyError, match="h9"):
        cache.get("enc:a", ["h9"])


def test_retriever_text_and_image_search(tmp_path, photo_folder, conse_encoder) -> None:
    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(photo_folder)
    retriever = Retriever.from_pool(
        pool, conse_encoder, EmbeddingCache(tmp_path / "cache"), num_workers=0, progress=False
    )
    hits = retriever.search_text(["a cup of coffee", "a cat"], k=2)
    assert [pool.get(h[0]).uri for h in hits.ids] == ["coffee.png", "chelsea.png"]
    same = retriever.search_images([photo_folder / "rocket.jpg"], k=1)
    assert pool.get(same.ids[0][0]).uri == "rocket.jpg" and same.scores[0][0] == pytest.approx(
        1.0, abs=FLOAT32_UNIT_ATOL
    )
    other = Retriever.from_pool(pool, conse_encoder, num_workers=0, progress=False).index
    other.encoder_id = "openclip:x"
    with pytest.raises(ValueError, match="built with"):
        Retriever(conse_encoder, other)


def test_projected_offline_encoder_reuses_the_raw_cache(tmp_path, photo_folder, conse_encoder) -> None:
    from mmdial_retrieval import get_encoder
    from mmdial_retrieval.cache import encoder_slug
    from mmdial_retrieval.index import VectorIndex
    from mmdial_retrieval.projection import save_projection

    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(photo_folder)
    cache = EmbeddingCache(tmp_path / "cache")
    raw = embed_pool(pool, conse_encoder, cache, num_workers=0, progress=False)
    assert raw.embedded_now == 4 and raw.cache_id == raw.encoder_id == "offline:conse-v1"

    rng = np.random.default_rng(0)
    weight = (np.eye(384) + 0.3 * rng.standard_normal((384, 384))).astype(np.float32)
    bias = (0.1 * rng.standard_normal(384)).astype(np.float32)
    save_projection(tmp_path / "proj.npz", weight, bias, {"kind": "test"})
    projected = get_encoder(f"conse:{tmp_path / 'proj.npz'}")
    assert get_encoder(f"offline:{tmp_path / 'proj.npz'}").encoder_id == projected.encoder_id  # older spelling
    assert projected.encoder_id.startswith("offline:conse-v1+proj-")
    assert projected.image_cache_id == "offline:conse-v1"

    result = embed_pool(pool, projected, cache, num_workers=0, progress=False)
    assert (result.embedded_now, result.from_cache) == (0, 4)  # nothing re-embedded
    assert result.encoder_id == projected.encoder_id and result.cache_id == "offline:conse-v1"
    # one encoder folder (raw ConSE vectors), none for the projected id
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [encoder_slug("offline:conse-v1")]
    # naive reference: the projected encoder on the image files directly
    naive = projected.encode_images([pool.path_of(item) for item in pool.items])
    np.testing.assert_allclose(result.vectors, naive, rtol=0, atol=FLOAT32_UNIT_ATOL)
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1.0, rtol=0, atol=FLOAT32_UNIT_ATOL)
    assert not np.allclose(result.vectors, raw.vectors, atol=1e-2)  # the projection really is applied

    # the index records the projected id, also after save/load
    retriever = Retriever.from_pool(pool, projected, cache, num_workers=0, progress=False)
    retriever.index.save(tmp_path / "index")
    assert VectorIndex.load(tmp_path / "index").encoder_id == projected.encoder_id
    assert projected.info()["projection_sha256"].startswith(projected.encoder_id.rsplit("proj-", 1)[1])
    with pytest.raises(ValueError, match="built with"):
        Retriever(conse_encoder, VectorIndex.load(tmp_path / "index"))
