"""Pool embedding and text scoring on the local engine vs a naive reference, and local vs ray (when installed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmdial_data.engines.testing import RAY_WARNING_FILTER, local_ray_cluster
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
    np.testing.assert_allclose(got.vectors, want, rtol=0, atol=1e-5)
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
        np.testing.assert_allclose(top_scores, sims[row][order], rtol=0, atol=1e-6)
    assert load_embeddings(tmp_path / "pool").ids == pool.ids


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    pytest.importorskip("ray.data", reason='the ray engine is optional: pip install "mmdial-retrieval[ray]"')
    with local_ray_cluster(num_cpus=2):
        yield


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
    np.testing.assert_allclose(dist.vectors, local.vectors, rtol=0, atol=1e-6)
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
