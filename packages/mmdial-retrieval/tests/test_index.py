"""faiss indexes against a naive numpy full-matrix search on seeded data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmdial_data.testing import FLOAT32_UNIT_ATOL
from mmdial_retrieval import l2_normalize
from mmdial_retrieval.index import IndexParams, VectorIndex, choose_index_params


def _data(n: int, dim: int, seed: int = 0, clusters: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if clusters:
        centers = rng.normal(size=(clusters, dim))
        x = centers[rng.integers(0, clusters, size=n)] + 0.5 * rng.normal(size=(n, dim))
    else:
        x = rng.normal(size=(n, dim))
    return l2_normalize(x)


def _naive(base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ base.T
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return rows, np.take_along_axis(scores, rows, axis=1)


def test_flat_equals_numpy_full_matrix_search() -> None:
    base, queries = _data(3000, 48, seed=1), _data(64, 48, seed=2)
    ids = [f"id{i}" for i in range(len(base))]
    index = VectorIndex.build(base, ids, captions=[f"caption {i}" for i in range(len(base))])
    assert index.params.kind == "flat"
    hits = index.search(queries, k=10, batch_size=7)  # several batches
    rows, scores = _naive(base, queries, 10)
    np.testing.assert_array_equal(hits.rows, rows)
    np.testing.assert_allclose(hits.scores, scores, rtol=0, atol=FLOAT32_UNIT_ATOL)  # faiss vs numpy sums
    assert hits.ids[5] == [f"id{r}" for r in rows[5]]
    assert hits.captions[5] == [f"caption {r}" for r in rows[5]]


def test_hnsw_scores_are_exact_and_recall_high() -> None:
    base, queries = _data(10000, 32, seed=3, clusters=50), _data(200, 32, seed=4, clusters=50)
    index = VectorIndex.build(base, [str(i) for i in range(len(base))], params="hnsw")
    assert index.params.kind == "hnsw" and index.params.hnsw_m == 32
    hits = index.search(queries, k=10, ef_search=256)
    rows, _ = _naive(base, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(hits.rows, rows, strict=True)])
    assert recall >= 0.95
    # returned scores are the true inner products of the returned rows
    np.testing.assert_allclose(
        hits.scores, np.einsum("qd,qkd->qk", queries, base[hits.rows]), rtol=0, atol=FLOAT32_UNIT_ATOL
    )


def test_ivfpq_finds_most_true_neighbours() -> None:
    base, queries = _data(3000, 16, seed=5, clusters=50), _data(100, 16, seed=6, clusters=50)
    params = IndexParams("ivfpq", 16, nlist=16, pq_m=8, nprobe=16, train_size=3000)
    index = VectorIndex.build(base, [str(i) for i in range(len(base))], params=params)
    hits = index.search(queries, k=10)
    rows, _ = _naive(base, queries, 10)
    top1_in_top10 = np.mean([r[0] in set(h) for r, h in zip(rows, hits.rows, strict=True)])
    assert top1_in_top10 >= 0.9
    with pytest.raises(TypeError, match="rebuild"):
        index.vectors()


def test_choose_index_params_thresholds() -> None:
    assert choose_index_params(99_999, 512).kind == "flat"
    assert choose_index_params(100_000, 512).kind == "hnsw"
    p = choose_index_params(30_000_000, 512)
    assert p.kind == "ivfpq" and 512 % p.pq_m == 0 and p.nlist == 4096  # the power of two nearest sqrt(30M) = 5477


def test_save_load_roundtrip_is_portable(tmp_path) -> None:
    base, queries = _data(500, 16, seed=7), _data(20, 16, seed=8)
    index = VectorIndex.build(
        base, [f"h{i}" for i in range(500)], captions=[None] * 499 + ["last"], params="hnsw", encoder_id="test:enc"
    )
    before = index.search(queries, k=5)
    folder = index.save(tmp_path / "idx")
    meta = json.loads((folder / "index.json").read_text())
    assert meta["params"]["kind"] == "hnsw" and meta["encoder_id"] == "test:enc"
    assert str(tmp_path) not in (folder / "index.json").read_text()  # no machine-specific paths
    moved = tmp_path / "elsewhere"
    folder.rename(moved)
    loaded = VectorIndex.load(moved)
    after = loaded.search(queries, k=5)
    assert after.ids == before.ids and loaded.captions[-1] == "last"
    np.testing.assert_array_equal(after.scores, before.scores)
    mapped = VectorIndex.load(moved, mmap=True).search(queries, k=5)
    assert mapped.ids == before.ids


def test_merge_shards_equals_search_over_union() -> None:
    base, queries = _data(1200, 24, seed=9), _data(30, 24, seed=10)
    ids = [f"x{i}" for i in range(1200)]
    a = VectorIndex.build(base[:700], ids[:700], encoder_id="e")
    b = VectorIndex.build(base[600:], ids[600:], params="hnsw", encoder_id="e")  # overlaps a on 600..699
    merged = VectorIndex.merge([a, b])
    assert len(merged) == 1200 and merged.ids == ids
    rows, scores = _naive(base, queries, 10)
    hits = merged.search(queries, k=10)
    assert hits.ids == [[ids[r] for r in row] for row in rows]
    np.testing.assert_allclose(hits.scores, scores, rtol=0, atol=FLOAT32_UNIT_ATOL)
    with pytest.raises(ValueError, match="encoders"):
        VectorIndex.merge([a, VectorIndex.build(base[:5], ids[:5], encoder_id="other")])


def test_search_caps_k_and_checks_dim() -> None:
    index = VectorIndex.build(_data(3, 4), ["a", "b", "c"])
    assert [len(r) for r in index.search(_data(2, 4, seed=1), k=10).ids] == [3, 3]
    with pytest.raises(ValueError, match="dim"):
        index.search(np.zeros((1, 5), np.float32))
    with pytest.raises(ValueError, match="unique"):
        VectorIndex.build(_data(2, 4), ["a", "a"])


def test_index_from_embeddings_keeps_the_encoder_id_through_save_and_load(tmp_path) -> None:
    """An index built from an embed_pool result records its encoder; save/load and repr keep it (not None)."""
    from mmdial_retrieval.embed import EmbedResult

    result = EmbedResult([f"i{k}" for k in range(6)], _data(6, 4), "offline:test-v1", cache_id="conse:base")
    index = VectorIndex.from_embeddings(result, captions=[f"c{k}" for k in range(6)])
    assert index.encoder_id == "offline:test-v1" and index.captions[2] == "c2"
    loaded = VectorIndex.load(index.save(tmp_path / "idx"))
    assert loaded.encoder_id == "offline:test-v1"
    assert "encoder_id='offline:test-v1'" in repr(loaded)
    assert f"{len(loaded)} vectors of {loaded.encoder_id}" == "6 vectors of offline:test-v1"  # notebook 04's line
