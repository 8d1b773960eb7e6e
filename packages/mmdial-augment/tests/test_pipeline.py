"""The pipeline end to end on tiny models: outputs, determinism, resume after a crash, bad input."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from mmdial_augment.chunks import ResumeMismatchError
from mmdial_augment.config import AugmentConfig
from mmdial_augment.pipeline import AugmentPipeline
from mmdial_augment.pool import PoolError, load_pool
from mmdial_augment.vqa import CaptionLMVQA
from mmdial_data import MMDialDataError, read_dialogues, write_dialogues

TEXTS = [
    ("Hi, how are you?", "I just bought a red apple at the market.", "Nice, I prefer a green tree in my garden."),
    ("Hello!", "Yes."),
    ("Guess what.", "My dog chased a yellow ball all day.", "Did the cat join?", "No, it slept in the car."),
    ("Morning.",),
]


@pytest.fixture
def dataset(tmp_path, dialogue):
    path = tmp_path / "in.jsonl"
    write_dialogues([dialogue(f"t/train/{i}", *t) for i, t in enumerate(TEXTS)], path)
    return path


def config(tmp_path, dataset, image_dir, **kw):
    data = {
        "inputs": [{"unified": str(dataset)}],
        "pool": {"path": str(image_dir / "captions.jsonl"), "kind": "captions"},
        "output_dir": str(tmp_path / "run"),
        "encoder": "openclip:mmdial-tiny",
        "sentence_encoder": "openclip:mmdial-tiny",
        "thresholds": {"max_entity_score": -1.0, "image_score": -1.0, "sent_sim": -1.0},
        "vqa": {"backend": "lm-caption", "top_n": 3},
        "chunk_size": 1,
        "report_examples": 4,
    }
    data.update(kw)
    return AugmentConfig.from_dict(data)


def pipeline(cfg, tiny_lm, pool=None, encoder=None):
    model, tok, _ = tiny_lm
    return AugmentPipeline(
        cfg, vqa=CaptionLMVQA(model, tok), pool=pool, encoder=encoder, sentence_encoder=encoder, progress=False
    )


def test_run_writes_all_outputs(tmp_path, dataset, image_dir, tiny_lm, encoder, pool):
    cfg = config(tmp_path, dataset, image_dir)
    res = pipeline(cfg, tiny_lm, pool, encoder).run()
    rows = pq.read_table(res.features_path).to_pydict()
    # candidates: every turn after the first of each dialogue
    assert res.n_candidates == sum(len(t) - 1 for t in TEXTS) == len(rows["utterance"])
    assert res.n_replaced == res.n_replaceable == res.n_candidates  # all thresholds at -1
    assert all(len(x) == 3 for x in rows["topn_image_ids"])
    for ids, scores, chosen, best in zip(
        rows["topn_image_ids"], rows["topn_vqa_scores"], rows["chosen_image_id"], rows["chosen_score"], strict=True
    ):
        assert chosen == ids[scores.index(max(scores))] and best == max(scores)
    assert set(rows["vqa_backend"]) == {"lm-caption"}
    out = list(read_dialogues(res.augmented_path))
    replaced = [t for d in out for t in d.turns if t.images]
    assert len(replaced) == res.n_replaced
    t = replaced[0]
    assert t.text == "" and t.images[0].level == "replacement" and t.images[0].score is not None
    assert t.annotations.extra["imad"]["original_text"] == rows["utterance"][0]
    html = res.report_path.read_text()
    for part in ("Score histograms", "Threshold curves", "Examples", "Plausibility", "data:image/png;base64"):
        assert part in html
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["seed"] == 0 and prov["fingerprint"] == AugmentPipeline(cfg).fingerprint() != cfg.fingerprint()


def test_threshold_rule_and_min_confidence_filter(tmp_path, dataset, image_dir, tiny_lm, encoder, pool):
    cfg = config(
        tmp_path,
        dataset,
        image_dir,
        thresholds={"max_entity_score": 0.0, "image_score": -1.0, "sent_sim": -1.0},
        vqa={"backend": "lm-caption", "top_n": 2, "min_confidence": 0.0},
    )
    res = pipeline(cfg, tiny_lm, pool, encoder).run(report=False)
    rows = pq.read_table(res.features_path).to_pydict()
    for nouns, rep in zip(rows["nouns"], rows["replaceable"], strict=True):
        assert rep == bool(nouns)  # max_entity_score > 0 only with a noun (random tiny model: positive cosine)
    assert res.n_replaced == 0  # log-probabilities are < 0
    assert all("min_confidence" in r for r, rep in zip(rows["reason"], rows["replaceable"], strict=True) if rep)


def test_fixed_seed_gives_identical_outputs(tmp_path, dataset, image_dir, tiny_lm, encoder, pool_factory):
    a = pipeline(config(tmp_path / "a", dataset, image_dir), tiny_lm, pool_factory(), encoder).run(report=False)
    b = pipeline(config(tmp_path / "b", dataset, image_dir), tiny_lm, pool_factory(), encoder).run(report=False)
    assert pq.read_table(a.features_path).equals(pq.read_table(b.features_path))
    assert a.augmented_path.read_bytes() == b.augmented_path.read_bytes()


def test_crash_mid_run_resumes_without_redoing_finished_chunks(
    tmp_path, dataset, image_dir, tiny_lm, encoder, pool_factory, monkeypatch
):
    cfg = config(tmp_path, dataset, image_dir)
    calls = []
    original = AugmentPipeline.process_chunk

    def crashing(self, cands, *args):
        calls.append([c.dialogue_id for c in cands])
        if len(calls) == 3:
            raise RuntimeError("simulated crash")
        return original(self, cands, *args)

    monkeypatch.setattr(AugmentPipeline, "process_chunk", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        pipeline(cfg, tiny_lm, pool_factory(), encoder).run()
    assert sorted(p.name for p in (tmp_path / "run" / "chunks").glob("*.parquet")) == [
        "chunk-00000.parquet",
        "chunk-00001.parquet",
    ]
    calls.clear()
    res = pipeline(cfg, tiny_lm, pool_factory(), encoder).run(report=False)
    assert res.chunks_reused == 2 and res.chunks_computed == 2
    assert calls == [["t/train/2"] * 3, []]  # only chunks 2 and 3 (the last has no candidate)
    monkeypatch.setattr(AugmentPipeline, "process_chunk", original)
    fresh = pipeline(config(tmp_path / "fresh", dataset, image_dir), tiny_lm, pool_factory(), encoder).run(report=False)
    assert pq.read_table(res.features_path).equals(pq.read_table(fresh.features_path))
    with pytest.raises(ResumeMismatchError, match="another config"):
        pipeline(config(tmp_path, dataset, image_dir, seed=1), tiny_lm, pool_factory(), encoder).run()


def test_limit_and_empty_dataset(tmp_path, dataset, image_dir, tiny_lm, encoder, pool):
    res = pipeline(config(tmp_path, dataset, image_dir, limit=1), tiny_lm, pool, encoder).run(report=False)
    assert res.n_dialogues == 1 and res.n_candidates == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(MMDialDataError, match="empty dataset"):
        pipeline(config(tmp_path / "e", empty, image_dir), tiny_lm, pool, encoder).run()


def test_missing_pool_and_vanished_images(tmp_path, dataset, image_dir, tiny_lm, encoder):
    import shutil

    cfg = config(tmp_path, dataset, tmp_path / "no-such-pool")
    with pytest.raises(PoolError, match="not found"):
        load_pool(cfg.pool, encoder, workdir=tmp_path / "p", cache_dir=tmp_path / "c")
    cfg = config(tmp_path, dataset, tmp_path / "nopool", pool={"path": str(tmp_path / "x"), "kind": "pool"})
    with pytest.raises(PoolError, match=r"pool\.json"):
        load_pool(cfg.pool, encoder, workdir=tmp_path / "p", cache_dir=tmp_path / "c")
    # index a copy, then delete one image: reported skip, or an error with on_missing=raise
    images = tmp_path / "imgs"
    shutil.copytree(image_dir, images)
    cfg = config(tmp_path, dataset, images)
    first = load_pool(cfg.pool, encoder, workdir=tmp_path / "p", cache_dir=tmp_path / "c")
    assert len(first) == 6 and first.captions[first.uris.index("dog.png")] == "a brown dog"
    (images / "dog.png").unlink()
    again = load_pool(cfg.pool, encoder, workdir=tmp_path / "p", cache_dir=tmp_path / "c")
    assert len(again) == 5 and [s.reason for s in again.skipped] == ["file vanished since indexing"]
    cfg.pool.on_missing = "raise"
    with pytest.raises(PoolError, match="vanished"):
        load_pool(cfg.pool, encoder, workdir=tmp_path / "p", cache_dir=tmp_path / "c")


def test_image_vanishing_during_stage2_is_a_reported_skip(tmp_path, dataset, image_dir, tiny_lm, encoder):
    import shutil

    from mmdial_augment.pool import ImagePool, with_embeddings

    images = tmp_path / "imgs"
    shutil.copytree(image_dir, images)
    files = sorted(p.name for p in images.glob("*.png"))
    pool = with_embeddings(ImagePool(files, files, [str(images / f) for f in files], files, "t", str(images)), encoder)
    for f in files[:-1]:
        (images / f).unlink()
    res = pipeline(
        config(tmp_path, dataset, images, vqa={"backend": "lm-caption", "top_n": 6}), tiny_lm, pool, encoder
    ).run()
    rows = pq.read_table(res.features_path).to_pydict()
    assert set(rows["chosen_image_id"]) == {files[-1]}
    assert all(len(s) == 5 for s in rows["skipped_images"])
    assert res.skipped and "Skipped (5)" in res.report_path.read_text()


def test_cli_run_and_report(tmp_path, dataset, image_dir, tiny_lm):
    import yaml

    from mmdial_data.cli import main

    _, _, lm_folder = tiny_lm
    cfg = {
        "inputs": [{"unified": str(dataset)}],
        "pool": {"path": str(image_dir / "captions.jsonl"), "kind": "captions"},
        "output_dir": "out",
        "encoder": "openclip:mmdial-tiny",
        "sentence_encoder": "openclip:mmdial-tiny",
        "thresholds": {"max_entity_score": -1.0, "image_score": -1.0, "sent_sim": -1.0},
        "vqa": {"backend": "lm-caption", "top_n": 2, "options": {"model": str(lm_folder)}},
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["augment", "run", str(path), "--limit", "2", "--no-progress"]) == 0
    assert (tmp_path / "out" / "features.parquet").is_file()
    (tmp_path / "out" / "report.html").unlink()
    assert main(["augment", "report", str(tmp_path / "out")]) == 0
    assert "IMAD augmentation report" in (tmp_path / "out" / "report.html").read_text()
    path.write_text(yaml.safe_dump({**cfg, "vqa": {"bakend": "blip"}}))
    assert main(["augment", "run", str(path)]) == 2


def test_shared_embedding_cache_and_unified_shard_folder(tmp_path, dialogue, image_dir, tiny_lm, encoder):
    """A retrieval pool folder + its EmbeddingCache (as notebook 02 writes them) are reused, not re-embedded;
    a shard folder as written by `mmdial build` is an input; the cache folder is not in the fingerprint."""
    from mmdial_retrieval import EmbeddingCache, ImagePool, embed_pool

    shards = tmp_path / "dataset" / "data"
    write_dialogues(
        [dialogue(f"t/train/{i}", *t) for i, t in enumerate(TEXTS[:2])], shards / "train" / "part-00000.parquet"
    )
    write_dialogues(
        [dialogue(f"t/validation/{i}", *t) for i, t in enumerate(TEXTS[2:])],
        shards / "validation" / "part-00000.parquet",
    )
    rpool = ImagePool.create(tmp_path / "shared" / "pool")
    rpool.add_captions_file(image_dir / "captions.jsonl")
    rpool.save()
    cache = tmp_path / "shared" / "embeddings"
    made = embed_pool(rpool, encoder, EmbeddingCache(cache), num_workers=0, progress=False)
    assert made.embedded_now == 6
    kw = {"inputs": [{"unified": str(shards)}], "pool": {"path": str(tmp_path / "shared" / "pool"), "kind": "pool"}}
    cfg = config(tmp_path, None, image_dir, **kw, embedding_cache=str(cache))
    model, tok, _ = tiny_lm
    p = AugmentPipeline(cfg, vqa=CaptionLMVQA(model, tok), encoder=encoder, sentence_encoder=encoder, progress=False)
    res = p.run(report=False)
    assert res.n_dialogues == 4 and res.n_candidates == sum(len(t) - 1 for t in TEXTS)
    assert p.pool.embedding_stats["embedded_now"] == 0 and p.pool.embedding_stats["from_cache"] == 6
    assert not (tmp_path / "run" / "cache").exists()
    assert cfg.fingerprint() == config(tmp_path, None, image_dir, **kw).fingerprint()
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["pool"]["embeddings"]["from_cache"] == 6
