"""Pool embedding and text scoring on the local engine vs a naive reference, and local vs ray (when installed);
``embed_pool(engine=...)`` against the in-process path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmdial_data.engines.testing import RAY_WARNING_FILTER, ray_cluster_or_skip
from mmdial_data.testing import FLOAT32_UNIT_ATOL
from mmdial_retrieval import EmbeddingCache, ImagePool, embed_pool
from mmdial_retrieval.embed import EmbedResult
from mmdial_retrieval.engines import embed_images, load_embeddings, score_texts

pytest.importorskip("open_clip", reason='needs open_clip: pip install "mmdial-retrieval[openclip]"')

ENCODER = "openclip:mmdial-tiny"
TEXTS = ["a red square", "blue sky", "green tree in a park", "dark night", "a yellow ball", "grey cat", "x"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    from PIL import Image

    root = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(0)
    items = []
    for i in range(21):
        arr = rng.integers(0, 255, (24 + i, 32, 3), dtype=np.uint8)
        Image.fromarray(arr).save(root / f"{i:02d}.png")
        items.append((f"img{i:02d}", str(root / f"{i:02d}.png")))
    (root / "broken.png").write_bytes(b"not an image")
    items.insert(5, ("broken", str(root / "broken.png")))
    return items


def test_local_embedding_matches_encoder_and_reports_broken_files(
    images: list[tuple[str, str]], tmp_path: Path
) -> None:
    from mmdial_retrieval import get_encoder

    got = embed_images(images, ENCODER, out_dir=tmp_path, batch_size=4, shard_size=8, progress=False)
    good = [(i, p) for i, p in images if i != "broken"]
    assert got.ids == [i for i, _ in good]
    assert [i for i, _ in got.failed] == ["broken"]
    want = get_encoder(ENCODER).encode_images([p for _, p in good], batch_size=4)
    np.testing.assert_allclose(got.vectors, want, rtol=0, atol=FLOAT32_UNIT_ATOL)
    again = embed_images(images, ENCODER, out_dir=tmp_path, batch_size=4, shard_size=8, progress=False)
    assert again.run is not None and again.run.computed == [] and np.array_equal(again.vectors, got.vectors)


def test_local_scores_match_brute_force(images: list[tuple[str, str]], tmp_path: Path) -> None:
    from mmdial_retrieval import get_encoder

    pool = embed_images(images, ENCODER, out_dir=tmp_path / "pool", batch_size=4, shard_size=8, progress=False)
    run = score_texts(
        list(enumerate(TEXTS)),
        ENCODER,
        tmp_path / "pool",
        out_dir=tmp_path / "scores",
        k=3,
        batch_size=3,
        shard_size=4,
        progress=False,
    )
    table = run.table()
    sims = get_encoder(ENCODER).encode_text(TEXTS) @ pool.vectors.T
    for row, (top_ids, top_scores) in enumerate(
        zip(table.column("top_ids").to_pylist(), table.column("top_scores").to_pylist(), strict=True)
    ):
        order = np.argsort(-sims[row], kind="stable")[:3]
        assert top_ids == [pool.ids[j] for j in order]
        np.testing.assert_allclose(top_scores, sims[row][order], rtol=0, atol=FLOAT32_UNIT_ATOL)
    assert load_embeddings(tmp_path / "pool").ids == pool.ids


@pytest.fixture
def pool(images: list[tuple[str, str]], tmp_path: Path) -> ImagePool:
    """The 21 images as a retrieval pool; one of them breaks after it was added (an unreadable file)."""
    src = tmp_path / "src"
    src.mkdir()
    for image_id, path in images:
        if image_id != "broken":
            shutil.copy(path, src / Path(path).name)
    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(src)
    victim = pool.path_of(pool.items[3])
    victim.write_bytes(victim.read_bytes()[:60])
    return pool


def assert_same_embedding(a: EmbedResult, b: EmbedResult) -> None:
    assert a.ids == b.ids and len(a.ids) == 20
    assert (a.encoder_id, a.cache_id, a.embedded_now, a.from_cache) == (b.encoder_id, b.cache_id, 20, 0)
    assert (b.embedded_now, b.from_cache) == (20, 0)
    assert [(p.path, p.kind) for p in a.failed] == [(p.path, p.kind) for p in b.failed] and len(b.failed) == 1
    np.testing.assert_allclose(b.vectors, a.vectors, rtol=0, atol=FLOAT32_UNIT_ATOL)


def test_embed_pool_engine_option_gives_the_in_process_result(pool: ImagePool, tmp_path: Path) -> None:
    from mmdial_data.engines import LocalEngine
    from mmdial_retrieval import get_encoder
    from mmdial_retrieval.cache import encoder_slug

    enc = get_encoder(ENCODER)
    kw = {"batch_size": 4, "shard_size": 8, "progress": False}
    local = embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-local"), num_workers=0, **kw)
    dist = embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-engine"), engine=LocalEngine(), **kw)
    assert_same_embedding(local, dist)
    # the engine's shards are gone once the vectors are in the cache, which the local path then reuses
    assert [p.name for p in (tmp_path / "c-engine").iterdir()] == [encoder_slug(enc.image_cache_id)]
    again = embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-engine"), num_workers=0, **kw)
    assert (again.embedded_now, again.from_cache) == (0, 20) and np.array_equal(again.vectors, dist.vectors)
    with pytest.raises(KeyError, match="did you mean 'ray'"):
        embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-x"), engine="rya", **kw)


def test_engine_caches_the_base_vectors_of_a_projected_encoder(
    tmp_path: Path, photo_folder: Path, conse_encoder: object
) -> None:
    from mmdial_data.engines import LocalEngine
    from mmdial_retrieval import get_encoder
    from mmdial_retrieval.projection import save_projection

    pool = ImagePool.create(tmp_path / "pool")
    pool.add_folder(photo_folder)
    rng = np.random.default_rng(0)
    weight = (np.eye(384) + 0.3 * rng.standard_normal((384, 384))).astype(np.float32)
    save_projection(tmp_path / "proj.npz", weight, np.zeros(384, np.float32), {"kind": "test"})
    projected = get_encoder(f"offline:{tmp_path / 'proj.npz'}")
    local = embed_pool(pool, projected, EmbeddingCache(tmp_path / "a"), num_workers=0, progress=False)
    dist = embed_pool(pool, projected, EmbeddingCache(tmp_path / "b"), engine=LocalEngine(), progress=False)
    assert dist.ids == local.ids and dist.cache_id == local.cache_id == "offline:conse-v1"
    np.testing.assert_allclose(dist.vectors, local.vectors, rtol=0, atol=FLOAT32_UNIT_ATOL)
    raw = embed_pool(pool, conse_encoder, EmbeddingCache(tmp_path / "b"), num_workers=0, progress=False)
    assert (raw.embedded_now, raw.from_cache) == (0, 4)  # the engine stored unprojected ConSE vectors


def test_cli_engine_options(pool: ImagePool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mmdial_data.cli import main

    args = ["retrieval", "embed", str(pool.folder), "--encoder", ENCODER, "--cache", str(tmp_path / "c")]
    assert main([*args, "--engine-workers", "2"]) == 2
    assert "--engine-workers needs --engine ray" in capsys.readouterr().err
    assert main([*args, "--engine", "local"]) == 0
    assert "20 images (20 embedded now, 0 from cache, 1 failed)" in capsys.readouterr().out


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    yield from ray_cluster_or_skip("mmdial-retrieval")


@pytest.mark.slow
@pytest.mark.filterwarnings(RAY_WARNING_FILTER)  # Ray Data's DataContext warns about its own deprecated fields
def test_ray_engine_gives_identical_embeddings_and_scores(
    cluster: None, images: list[tuple[str, str]], tmp_path: Path
) -> None:
    kw = {"batch_size": 4, "shard_size": 8, "progress": False}
    local = embed_images(images, ENCODER, out_dir=tmp_path / "local", **kw)
    dist = embed_images(images, ENCODER, out_dir=tmp_path / "ray", engine="ray", engine_options={"workers": 2}, **kw)
    assert dist.run is not None and dist.run.engine == "ray"
    assert os.getpid() not in {r.pid for r in dist.run.reports}  # computed in actors, not in the driver
    assert dist.ids == local.ids and dist.failed == local.failed
    np.testing.assert_allclose(dist.vectors, local.vectors, rtol=0, atol=FLOAT32_UNIT_ATOL)
    items = list(enumerate(TEXTS * 3))
    a = score_texts(
        items,
        ENCODER,
        tmp_path / "local",
        out_dir=tmp_path / "s-local",
        k=4,
        batch_size=4,
        shard_size=5,
        progress=False,
    ).table()
    b = score_texts(
        items,
        ENCODER,
        tmp_path / "ray",
        out_dir=tmp_path / "s-ray",
        k=4,
        batch_size=4,
        shard_size=5,
        engine="ray",
        engine_options={"workers": 2},
        progress=False,
    ).table()
    assert a.column("item_id").to_pylist() == b.column("item_id").to_pylist()
    assert a.column("top_ids").to_pylist() == b.column("top_ids").to_pylist()
    np.testing.assert_allclose(
        np.asarray(b.column("top_scores").to_pylist()),
        np.asarray(a.column("top_scores").to_pylist()),
        rtol=0,
        atol=1e-6,
    )


@pytest.mark.slow
@pytest.mark.filterwarnings(RAY_WARNING_FILTER)
def test_embed_pool_on_ray_gives_the_in_process_result(cluster: None, pool: ImagePool, tmp_path: Path) -> None:
    from mmdial_retrieval import get_encoder

    enc = get_encoder(ENCODER)  # an instance: pickled once to each actor
    kw = {"batch_size": 4, "shard_size": 8, "progress": False}
    local = embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-local"), num_workers=0, **kw)
    dist = embed_pool(pool, enc, EmbeddingCache(tmp_path / "c-ray"), engine="ray", engine_options={"workers": 2}, **kw)
    assert_same_embedding(local, dist)
