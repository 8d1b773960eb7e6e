"""Encoders: the registry, the offline ConSE preset on real photos, open_clip tiny config, sentence encoder."""

from __future__ import annotations

import numpy as np
import pytest

from mmdial_data.testing import FLOAT32_UNIT_ATOL
from mmdial_retrieval import DualEncoder, get_encoder, list_encoders, register_encoder


def _check_normalized(x: np.ndarray, rows: int, dim: int) -> None:
    assert x.shape == (rows, dim) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=0, atol=FLOAT32_UNIT_ATOL)


def test_registry_lists_and_suggests() -> None:
    assert [e.name for e in list_encoders()] == ["conse", "offline", "openclip", "sentence"]
    with pytest.raises(KeyError, match="did you mean 'sentence'"):
        get_encoder("sentense")
    with pytest.raises(KeyError, match="openclip needs a model"):
        get_encoder("openclip")
    with pytest.raises(KeyError, match="did you mean 'ViT-B-32'"):
        get_encoder("openclip:ViT-B-23")
    with pytest.raises(ValueError, match="already registered"):
        register_encoder("offline", lambda arg: get_encoder("offline"))


def test_default_encoder_is_offline(monkeypatch, offline_encoder) -> None:
    monkeypatch.delenv("MMDIAL_ENCODER", raising=False)
    assert get_encoder() is offline_encoder
    assert offline_encoder.encoder_id.startswith("offline:knn-v2+") and len(offline_encoder.encoder_id) == 27


def test_conse_encoder_ranks_the_right_photo_first(conse_encoder, skimage_photos) -> None:
    names = ["chelsea", "coffee", "rocket", "astronaut"]
    images = conse_encoder.encode_images([skimage_photos[n] for n in names])
    texts = conse_encoder.encode_text(["a cat", "a cup of coffee", "a rocket", "an astronaut"])
    _check_normalized(images, 4, 384)
    _check_normalized(texts, 4, 384)
    scores = texts @ images.T
    assert [names[i] for i in scores.argmax(axis=1)] == names, scores.round(3)


def test_conse_encoder_imagenet_top1(conse_encoder, skimage_photos) -> None:
    """The mapped EfficientNet-Lite0 weights really classify: coffee -> espresso, chelsea -> a cat class."""
    from mmdial_retrieval.imagenet_classes import imagenet_class_synonyms
    from mmdial_retrieval.images import load_rgb

    classes = imagenet_class_synonyms()
    batch = conse_encoder.collate(
        [conse_encoder.preprocess(load_rgb(skimage_photos[n])) for n in ("coffee", "chelsea")]
    )
    probs = conse_encoder.class_probabilities(batch)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=FLOAT32_UNIT_ATOL)
    assert classes[int(probs[0].argmax())][0] == "espresso"
    assert classes[int(probs[1].argmax())][0] in {"tabby", "tiger cat", "Egyptian cat"}


def test_tiny_openclip_is_seeded_and_normalized(tiny_clip, skimage_photos) -> None:
    from mmdial_retrieval.openclip_encoder import OpenClipEncoder

    assert tiny_clip.encoder_id == "openclip:mmdial-tiny-clip:random-seed0"
    images = tiny_clip.encode_images([skimage_photos["coffee"], skimage_photos["rocket"]])
    _check_normalized(images, 2, 32)
    again = OpenClipEncoder("mmdial-tiny", seed=0)
    np.testing.assert_allclose(
        again.encode_images([skimage_photos["coffee"]]), images[:1], rtol=0, atol=FLOAT32_UNIT_ATOL
    )  # batch of 1 vs 2
    other = OpenClipEncoder("mmdial-tiny", seed=1)
    assert other.encoder_id.endswith("random-seed1")
    assert not np.allclose(other.encode_text(["a dog"]), tiny_clip.encode_text(["a dog"]))


def test_openclip_loads_a_local_checkpoint(tmp_path, tiny_clip) -> None:
    import torch

    from mmdial_retrieval.openclip_encoder import OpenClipEncoder

    ckpt = tmp_path / "tiny.pt"
    torch.save(tiny_clip._model.state_dict(), ckpt)
    loaded = OpenClipEncoder("mmdial-tiny", str(ckpt), seed=123)
    assert loaded.encoder_id == f"openclip:mmdial-tiny-clip:{ckpt}"
    np.testing.assert_allclose(
        loaded.encode_text(["a red car"]), tiny_clip.encode_text(["a red car"]), rtol=0, atol=FLOAT32_UNIT_ATOL
    )
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        OpenClipEncoder("mmdial-tiny", str(tmp_path / "missing.pt"))


def test_sentence_encoder_is_text_only() -> None:
    enc = get_encoder("sentence")
    a, b, c = enc.encode_text(["How is the weather today?", "What's the weather like?", "I sold my old guitar."])
    assert float(a @ b) > float(a @ c) + 0.3
    with pytest.raises(TypeError, match="text-only"):
        enc.encode_images([])
    assert isinstance(enc, DualEncoder) and enc.dim == 384


def test_empty_inputs(offline_encoder) -> None:
    assert offline_encoder.encode_text([]).shape == (0, 384)
    assert offline_encoder.encode_images([]).shape == (0, 384)


def test_class_embedding_cache_matches_fresh_and_rebuilds_corrupt_files(tmp_path, monkeypatch) -> None:
    from mmdial_retrieval import offline_encoder as oe

    fresh = oe.compute_class_embeddings()
    assert fresh.shape == (1000, 384) and fresh.dtype == np.float32
    first = oe.load_or_build_class_embeddings(cache_dir=tmp_path)  # computes and writes the file
    (path,) = tmp_path.glob("conse-classes-*.npz")
    assert path.name == f"conse-classes-{oe.class_embeddings_key()[:24]}.npz"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporaries left
    np.testing.assert_array_equal(first, fresh)

    calls: list[str] = []

    def counted(template: str = "a photo of a {}", device: str = "cpu") -> np.ndarray:
        calls.append(template)
        return fresh.copy()

    monkeypatch.setattr(oe, "compute_class_embeddings", counted)
    cached = oe.load_or_build_class_embeddings(cache_dir=tmp_path)
    assert calls == []  # read from disk, MiniLM not run
    np.testing.assert_array_equal(cached, fresh)
    assert cached.dtype == np.float32

    data = path.read_bytes()
    for broken in (data[: len(data) // 2], b"", b"not a zip file"):
        path.write_bytes(broken)
        rebuilt = oe.load_or_build_class_embeddings(cache_dir=tmp_path)
        np.testing.assert_array_equal(rebuilt, fresh)
        assert path.read_bytes() == data  # rewritten whole
    assert len(calls) == 3

    key = oe.class_embeddings_key()
    for bad in (fresh[:10], fresh.astype(np.float64), fresh * 2, np.full_like(fresh, np.nan)):
        with open(path, "wb") as fh:
            np.savez(fh, key=np.asarray(key), embeddings=bad)
        np.testing.assert_array_equal(oe.load_or_build_class_embeddings(cache_dir=tmp_path), fresh)
    assert len(calls) == 7
    with open(path, "wb") as fh:  # a file of another key (other MiniLM weights, classes or template)
        np.savez(fh, key=np.asarray("0" * 64), embeddings=fresh)
    oe.load_or_build_class_embeddings(cache_dir=tmp_path)
    assert len(calls) == 8
    # another template is another key, so another file
    assert oe.class_embeddings_key("a picture of a {}") != key
    oe.load_or_build_class_embeddings("a picture of a {}", cache_dir=tmp_path)
    assert calls[-1] == "a picture of a {}" and len(list(tmp_path.glob("conse-classes-*.npz"))) == 2


def test_conse_encoder_uses_the_class_cache(tmp_path, monkeypatch, conse_encoder) -> None:
    from mmdial_retrieval import offline_encoder as oe

    monkeypatch.setenv("MMDIAL_CACHE", str(tmp_path))
    assert oe.retrieval_cache_dir() == tmp_path / "retrieval"
    oe.class_text_embeddings.cache_clear()
    try:
        monkeypatch.setattr(oe, "compute_class_embeddings", lambda *a, **k: conse_encoder._classes.copy())
        oe.OfflineConSEEncoder()  # first construction fills the cache
        assert len(list((tmp_path / "retrieval").glob("conse-classes-*.npz"))) == 1
        oe.class_text_embeddings.cache_clear()
        monkeypatch.setattr(oe, "compute_class_embeddings", lambda *a, **k: pytest.fail("cache not used"))
        again = oe.OfflineConSEEncoder()
        np.testing.assert_array_equal(again._classes, conse_encoder._classes)
    finally:
        oe.class_text_embeddings.cache_clear()
