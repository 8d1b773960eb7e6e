"""The engine registry, the shard layout and the local engine: resumable, idempotent by shard id."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmdial_data.engines import get_engine, list_engines, read_shards, run_batches
from mmdial_data.engines.shards import DIGEST_KEY, plan_shards, shard_path, to_arrow
from mmdial_data.testing import FLOAT32_UNIT_ATOL


class Projector:
    """A seeded random projection standing in for a model: loaded once per worker, counts its loads."""

    loads = 0
    batches = 0

    def __init__(self, dim: int, seed: int = 0):
        type(self).loads += 1
        self.weight = np.random.default_rng(seed).standard_normal((4, dim)).astype(np.float32)

    def __call__(self, batch: list[dict[str, object]]) -> dict[str, object]:
        type(self).batches += 1
        x = np.asarray([item["x"] for item in batch], np.float32)
        return {"item_id": [item["id"] for item in batch], "vector": x @ self.weight}


def items(n: int) -> list[dict[str, object]]:
    rng = np.random.default_rng(1)
    return [{"id": f"i{i:04d}", "x": rng.standard_normal(4).tolist()} for i in range(n)]


@pytest.fixture(autouse=True)
def _reset_counters() -> None:
    Projector.loads = Projector.batches = 0


def reference(data: list[dict[str, object]], dim: int, seed: int = 0) -> np.ndarray:
    weight = np.random.default_rng(seed).standard_normal((4, dim)).astype(np.float32)
    return np.asarray([d["x"] for d in data], np.float32) @ weight


def test_registry_lists_and_suggests() -> None:
    assert list_engines() == ["local", "ray"]
    assert get_engine().name == "local"
    with pytest.raises(KeyError, match="did you mean 'local'"):
        get_engine("locl")


def test_local_matches_naive_reference_and_layout(tmp_path: Path) -> None:
    data = items(23)
    r = run_batches(
        data, Projector, worker_kwargs={"dim": 3}, out_dir=tmp_path, batch_size=4, shard_size=10, progress=False
    )
    assert Projector.loads == 1
    assert [p.name for p in r.shards] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert (r.n_items, r.n_shards, r.computed, r.reused, r.rows_written) == (23, 3, [0, 1, 2], [], 23)
    table = r.table()
    assert table.column("item_id").to_pylist() == [d["id"] for d in data]
    got = np.asarray(table.column("vector").to_pylist(), np.float32)
    np.testing.assert_allclose(got, reference(data, 3), rtol=0, atol=FLOAT32_UNIT_ATOL)
    # every shard records its digest and id
    meta = pq.read_schema(shard_path(tmp_path, 1)).metadata
    assert meta[DIGEST_KEY].decode() == plan_shards(data, shard_size=10, job_key=_key(3))[1].digest
    assert (tmp_path / "_job.json").is_file()


def _key(dim: int) -> str:
    from mmdial_data.engines.worker import job_key

    return job_key(Projector, {"dim": dim}, 4)


def test_rerun_is_idempotent_and_resumes_missing_or_corrupt_shards(tmp_path: Path) -> None:
    data = items(30)
    kw = {"worker_kwargs": {"dim": 2}, "out_dir": tmp_path, "batch_size": 5, "shard_size": 10, "progress": False}
    first = run_batches(data, Projector, **kw)
    before = read_shards(tmp_path)
    assert first.computed == [0, 1, 2]
    again = run_batches(data, Projector, **kw)
    assert (again.computed, again.reused) == ([], [0, 1, 2])
    # a lost shard and a half-written one (truncated file) are redone, nothing else
    shard_path(tmp_path, 0).unlink()
    path2 = shard_path(tmp_path, 2)
    path2.write_bytes(path2.read_bytes()[:40])
    Projector.batches = 0
    resumed = run_batches(data, Projector, **kw)
    assert (resumed.computed, resumed.reused) == ([0, 2], [1])
    assert Projector.batches == 4  # two shards of two batches
    assert read_shards(tmp_path).equals(before)


def test_changed_items_or_job_invalidate_only_their_shards(tmp_path: Path) -> None:
    data = items(30)
    kw = {"out_dir": tmp_path, "batch_size": 5, "shard_size": 10, "progress": False}
    run_batches(data, Projector, worker_kwargs={"dim": 2}, **kw)
    edited = list(data)
    edited[15] = {"id": "changed", "x": [0.0, 0.0, 0.0, 1.0]}
    r = run_batches(edited, Projector, worker_kwargs={"dim": 2}, **kw)
    assert r.computed == [1]
    assert read_shards(tmp_path).column("item_id").to_pylist()[15] == "changed"
    other = run_batches(edited, Projector, worker_kwargs={"dim": 3}, **kw)
    assert other.computed == [0, 1, 2]
    # fewer items: shards beyond the plan are removed, so the folder holds exactly this run
    shorter = run_batches(edited[:12], Projector, worker_kwargs={"dim": 3}, **kw)
    assert [p.name for p in shorter.shards] == ["part-00000.parquet", "part-00001.parquet"]
    assert read_shards(tmp_path).num_rows == 12


def test_stale_temp_files_are_removed_and_ignored(tmp_path: Path) -> None:
    (tmp_path / ".part-00000.parquet.tmp-123-abcd").write_bytes(b"partial")
    run_batches(items(3), Projector, worker_kwargs={"dim": 2}, out_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_job.json", "part-00000.parquet"]


def test_function_workers_with_kwargs_and_row_lists(tmp_path: Path) -> None:
    def tag(batch: list[int], prefix: str) -> list[dict[str, object]]:
        return [{"v": v, "tag": f"{prefix}{v}"} for v in batch]

    r = run_batches(
        range(7), tag, worker_kwargs={"prefix": "n"}, out_dir=tmp_path, batch_size=3, shard_size=5, progress=False
    )
    assert r.table().column("tag").to_pylist() == [f"n{i}" for i in range(7)]


def test_bad_worker_results_are_reported(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="a worker must return"):
        run_batches([1], lambda batch: 42, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="shard_size"):
        run_batches([1], lambda batch: {"x": batch}, out_dir=tmp_path, shard_size=0, progress=False)
    with pytest.raises(FileNotFoundError, match="no part"):
        read_shards(tmp_path / "nothing")
    assert to_arrow({"a": np.arange(3)}).column("a").to_pylist() == [0, 1, 2]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _broken_dailydialog(tmp_path: Path) -> Path:
    """The demo DailyDialog files with one misaligned act line (record "line 2") and its recipe."""
    from mmdial_data.testing import broken_dailydialog, demo_dir

    dd = broken_dailydialog(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    demo = demo_dir()
    recipe.write_text(
        f"name: broken\nsources:\n  - reader: dailydialog\n    paths: [{dd}]\n"
        f"  - reader: personachat\n    paths: [{demo / 'personachat'}]\n    max_dialogues: 1\n"
    )
    return recipe


def test_build_on_an_engine_replays_errors_and_skips_like_a_local_build(tmp_path: Path) -> None:
    from mmdial_data import MMDialDataError, build_dataset
    from mmdial_data.engines import LocalEngine

    recipe = _broken_dailydialog(tmp_path)
    for engine in (None, LocalEngine()):
        with pytest.raises(MMDialDataError, match="line 2: 3 utterances but 2 act") as err:
            build_dataset(recipe, tmp_path / "raise", engine=engine, progress=False)
        assert err.value.record == "line 2" and err.value.path is not None
    local = build_dataset(recipe, tmp_path / "local", on_error="skip", progress=False)
    dist = build_dataset(recipe, tmp_path / "engine", on_error="skip", engine=LocalEngine(), progress=False)
    assert local.skipped == dist.skipped and len(dist.skipped) == 1
    assert (local.dialogues, local.counts, local.per_source) == (dist.dialogues, dist.counts, dist.per_source)
    assert _tree(tmp_path / "local") == _tree(tmp_path / "engine")  # shards, card, plots, provenance
    assert not (tmp_path / "engine" / "engine-sources").exists()
    with pytest.raises(KeyError, match="did you mean 'ray'"):
        build_dataset(recipe, tmp_path / "typo", engine="rya", progress=False)
