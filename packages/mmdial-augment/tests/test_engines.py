"""The pipeline's ``engine`` option: chunks (stage 1, decision, stage 2) and pool embedding on an engine give the
same features and decisions as the in-process run; on Ray (when installed) with every model built in the actors."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmdial_augment.config import AugmentConfig
from mmdial_augment.pipeline import AugmentPipeline, ShippedComponents
from mmdial_augment.vqa import CaptionLMVQA
from mmdial_data import write_dialogues
from mmdial_data.engines.testing import RAY_WARNING_FILTER, ray_cluster_or_skip
from mmdial_data.testing import FLOAT32_UNIT_ATOL

TEXTS = [
    ("Hi, how are you?", "I just bought a red apple at the market.", "Nice, I prefer a green tree in my garden."),
    ("Hello!", "Yes."),
    ("Guess what.", "My dog chased a yellow ball all day.", "Did the cat join?", "No, it slept in the car."),
    ("Morning.",),
]
#: Exact columns (ids, decisions, choices) and float columns compared within 1e-6.
EXACT = ["dialogue_id", "turn_index", "image_id", "nouns", "threshold", "replaceable", "topn_image_ids"]
EXACT += ["chosen_image_id", "replaced", "reason", "vqa_backend"]
CLOSE = ["image_score", "max_entity_score", "sent_sim", "bleu", "chosen_score"]


@pytest.fixture
def dataset(tmp_path: Path, dialogue) -> Path:
    path = tmp_path / "in.jsonl"
    write_dialogues([dialogue(f"t/train/{i}", *t) for i, t in enumerate(TEXTS)], path)
    return path


def make_config(tmp_path: Path, dataset: Path, image_dir: Path, name: str, **kw: Any) -> AugmentConfig:
    cfg = {
        "inputs": [{"unified": str(dataset)}],
        "pool": {"path": str(image_dir / "captions.jsonl"), "kind": "captions"},
        "output_dir": str(tmp_path / name),
        "encoder": "openclip:mmdial-tiny",
        "sentence_encoder": "openclip:mmdial-tiny",
        # image_score splits the six candidates 3/3 (scores 0.17 and 0.22 either side); VQA cutoff in stage 2
        "thresholds": {"max_entity_score": -1.0, "image_score": 0.2, "sent_sim": -1.0},
        "vqa": {"backend": "lm-caption", "top_n": 3, "min_confidence": -3.64},
        "chunk_size": 1,
    }
    cfg.update(kw)
    return AugmentConfig.from_dict(cfg)


def assert_same_features(a: Path, b: Path) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.schema == tb.schema and ta.num_rows == tb.num_rows == 6
    for col in EXACT:
        assert ta.column(col).to_pylist() == tb.column(col).to_pylist(), col
    for col in CLOSE:
        x, y = ta.column(col).to_pylist(), tb.column(col).to_pylist()
        assert [v is None for v in x] == [v is None for v in y], col
        np.testing.assert_allclose(
            [v for v in y if v is not None],
            [v for v in x if v is not None],
            rtol=0,
            atol=FLOAT32_UNIT_ATOL,
            err_msg=col,
        )
    assert set(ta.column("replaceable").to_pylist()) == {True, False}  # both decisions occur


def test_chunks_on_an_engine_match_the_in_process_run(
    tmp_path: Path, dataset: Path, image_dir: Path, tiny_lm, encoder
) -> None:
    from mmdial_data.engines import LocalEngine

    model, tok, _ = tiny_lm
    comps = {"vqa": CaptionLMVQA(model, tok), "encoder": encoder, "sentence_encoder": encoder}
    local_cfg = make_config(tmp_path, dataset, image_dir, "local")
    local = AugmentPipeline(local_cfg, progress=False, **comps).run(report=False)
    engine_cfg = make_config(tmp_path, dataset, image_dir, "engine")
    run = AugmentPipeline(engine_cfg, progress=False, engine=LocalEngine(), **comps)
    dist = run.run(report=False)
    assert_same_features(local.features_path, dist.features_path)
    assert (dist.n_replaceable, dist.n_replaced, dist.chunks_computed) == (local.n_replaceable, local.n_replaced, 4)
    assert pq.read_table(dist.augmented_path).equals(pq.read_table(local.augmented_path))
    assert not (tmp_path / "engine" / "engine-chunks").exists()
    assert sorted(p.name for p in (tmp_path / "engine" / "chunks").iterdir()) == [
        f"chunk-{k:05d}.parquet" for k in range(4)
    ]
    # the engine is not part of the fingerprint: the engine's folder resumes in process, nothing recomputed
    again = AugmentPipeline(engine_cfg, progress=False, **comps).run(report=False)
    assert (again.chunks_computed, again.chunks_reused) == (0, 4)
    # built components travel to workers once, named (not addressed) in the shard digests
    shipped = ShippedComponents(run.shipped_components())
    assert repr(shipped) == "ShippedComponents(['encoder', 'sentence_encoder', 'vqa'])"
    assert sorted(pickle.loads(pickle.dumps(shipped)).components) == ["encoder", "sentence_encoder", "vqa"]


def test_engine_config_field_and_cli_option(tmp_path: Path, dataset: Path, image_dir: Path) -> None:
    import yaml

    from mmdial_data.cli import main

    cfg = make_config(tmp_path, dataset, image_dir, "x", engine="ray", engine_options={"workers": 2})
    assert cfg.fingerprint() == make_config(tmp_path, dataset, image_dir, "x").fingerprint()
    assert AugmentPipeline(cfg).engine.describe()["workers"] == 2  # type: ignore[union-attr]
    assert AugmentPipeline(make_config(tmp_path, dataset, image_dir, "x")).engine is None
    with pytest.raises(ValueError, match="unknown engine 'rya'; did you mean 'ray'"):
        make_config(tmp_path, dataset, image_dir, "x", engine="rya")
    with pytest.raises(ValueError, match="need an engine other than 'local'"):
        make_config(tmp_path, dataset, image_dir, "x", engine_options={"workers": 2})
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(make_config(tmp_path, dataset, image_dir, "x").to_dict()))
    assert main(["augment", "run", str(path), "--engine-workers", "2"]) == 2  # the config's engine is local


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    yield from ray_cluster_or_skip("mmdial-augment")


@pytest.mark.slow
@pytest.mark.filterwarnings(RAY_WARNING_FILTER)  # Ray Data's DataContext warns about its own deprecated fields
def test_ray_engine_gives_identical_features_and_decisions(
    cluster: None, tmp_path: Path, dataset: Path, image_dir: Path, tiny_lm
) -> None:
    # no component passed in: each actor builds encoders, captioner, VQA (saved tiny LM) and nouns from the config
    _, _, lm_folder = tiny_lm
    vqa = {"backend": "lm-caption", "top_n": 3, "min_confidence": -3.64, "options": {"model": str(lm_folder)}}
    local_cfg = make_config(tmp_path, dataset, image_dir, "local", vqa=vqa)
    local = AugmentPipeline(local_cfg, progress=False).run(report=False)
    ray_cfg = make_config(tmp_path, dataset, image_dir, "ray", vqa=vqa, engine="ray", engine_options={"workers": 2})
    dist = AugmentPipeline(ray_cfg, progress=False).run(report=False)
    assert_same_features(local.features_path, dist.features_path)
    assert (dist.n_replaceable, dist.n_replaced) == (local.n_replaceable, local.n_replaced)
    # the pool was embedded on Ray too, into the run's own cache (the engine's shards removed afterwards)
    assert (tmp_path / "ray" / "cache").is_dir()
    assert not (tmp_path / "ray" / "cache" / "engine-runs").exists()
