"""The trained offline encoder: deterministic training, a weights file that checks itself, the shipped weights."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mmdial_data.testing import FLOAT32_UNIT_ATOL
from mmdial_retrieval.trained_encoder import (
    SHIPPED_WEIGHTS,
    OfflineKnnEncoder,
    load_weights,
    train_offline_encoder,
    weights_digest,
)
from mmdial_retrieval.training_images import (
    DEJAVU_FONTS,
    easy_vqa_attributes,
    easy_vqa_caption,
    easy_vqa_images,
    glyph_images,
)

LETTERS = ((0x41, 0x5A), (0x61, 0x7A))  # 104 images per font with both styles
GRID = {"alpha": (0.3, 0.7), "k": (5,), "temperature": (0.05,)}


@pytest.fixture(scope="module")
def letters(tmp_path_factory):
    if not DEJAVU_FONTS[0].is_file():
        pytest.skip("needs Debian's fonts-dejavu-core")
    return glyph_images(tmp_path_factory.mktemp("glyphs"), fonts=DEJAVU_FONTS[:1], blocks=LETTERS)


def test_glyph_images_are_captioned_in_plain_words(letters) -> None:
    assert len(letters) == 104
    assert {im.caption for im in letters} == {
        f"the letter {c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    }
    assert all(im.path.is_file() and im.source == "glyphs" for im in letters)


def test_training_is_deterministic_and_recorded(tmp_path, letters) -> None:
    a = train_offline_encoder(
        tmp_path / "a.npz", letters, seed=3, pca_dim=16, grid=GRID, progress=False, log=lambda m: None
    )
    b = train_offline_encoder(
        tmp_path / "b.npz", letters, seed=3, pca_dim=16, grid=GRID, progress=False, log=lambda m: None
    )
    assert a.sha256 == b.sha256 and (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert a.pairs == {"glyphs": 104} and len(a.validation["grid"]) == 2
    w = load_weights(tmp_path / "a.npz")
    assert w.digest == a.sha256 and w.settings.pca_dim == 16 and w.settings.alpha in (0.3, 0.7)
    assert w.meta["seed"] == 3 and w.meta["data"]["captions"] == 52 and len(w.meta["data"]["sha256"]) == 64
    assert w.gallery.shape == (104, 16) and w.caption_embeddings.shape == (52, 384)
    other = train_offline_encoder(
        tmp_path / "c.npz", letters, seed=4, pca_dim=16, grid=GRID, progress=False, log=lambda m: None
    )
    # the letters' two groups are their Unicode blocks (capitals, small letters): one is held out whole
    assert a.validation["groups"] == 2 and a.validation["held_out_groups"] == 1
    assert other.validation["held_out_captions"] == a.validation["held_out_captions"] == 26
    ungrouped = [dataclasses.replace(im, group="") for im in letters]  # no group given: the caption is the group
    per_caption = train_offline_encoder(
        tmp_path / "d.npz", ungrouped, seed=3, pca_dim=16, grid=GRID, progress=False, log=lambda m: None
    )
    assert per_caption.validation["groups"] == 52 and per_caption.validation["held_out_captions"] == 10


def test_encoder_from_trained_weights_retrieves_its_letters(tmp_path, letters) -> None:
    train_offline_encoder(
        tmp_path / "w.npz", letters, seed=0, pca_dim=16, grid=GRID, progress=False, log=lambda m: None
    )
    enc = OfflineKnnEncoder(tmp_path / "w.npz")
    assert enc.encoder_id == f"offline:knn-v2+{load_weights(tmp_path / 'w.npz').digest[:12]}"
    images = enc.encode_images([im.path for im in letters[:8]])  # A, B, C, D filled and outlined
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, rtol=0, atol=FLOAT32_UNIT_ATOL)
    one = enc.encode_images([letters[0].path], batch_size=1)
    np.testing.assert_allclose(one, images[:1], rtol=0, atol=FLOAT32_UNIT_ATOL)  # batch of 1 vs 8
    # the images are in the gallery: the caption transfer finds their own caption first
    texts = enc.encode_text(["the letter A", "the letter B", "the letter C", "the letter D"])
    assert ((texts @ images.T).argmax(axis=1) // 2).tolist() == [0, 1, 2, 3]  # rows: A A B B C C D D


def test_damaged_or_foreign_weights_are_refused(tmp_path, letters) -> None:
    path = tmp_path / "w.npz"
    train_offline_encoder(path, letters, seed=0, pca_dim=16, grid=GRID, progress=False, log=lambda m: None)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["center"] = arrays["center"] + np.float32(1e-3)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="SHA-256"):
        load_weights(tmp_path / "bad.npz")
    arrays["meta"] = np.asarray(json.dumps({"kind": "something-else"}))
    np.savez(tmp_path / "foreign.npz", **arrays)
    with pytest.raises(ValueError, match="not an offline encoder weights file"):
        load_weights(tmp_path / "foreign.npz")
    with pytest.raises(FileNotFoundError, match="train-encoder"):
        load_weights(tmp_path / "missing.npz")


def test_shipped_weights_match_their_record() -> None:
    w = load_weights(SHIPPED_WEIGHTS)
    with np.load(SHIPPED_WEIGHTS) as data:
        assert weights_digest({k: data[k] for k in data.files if k != "meta"}) == w.meta["sha256"]
    assert set(w.meta["data"]["pairs"]) == {"openclipart", "emoji", "glyphs", "easy-vqa"}  # no Tux Paint
    assert w.meta["data"]["pairs"]["easy-vqa"] == 3961  # the train split only: its test split is the probe's
    assert (
        w.meta["seed"] == 0 and w.meta["validation"]["chosen_recall_at_10"] > w.meta["validation"]["conse_recall_at_10"]
    )


def test_whitening_is_a_setting_chosen_on_held_out_captions(tmp_path, letters) -> None:
    def fit(name: str, whiten: tuple[float, ...]):
        res = train_offline_encoder(
            tmp_path / name, letters, seed=0, pca_dim=16, grid={**GRID, "whiten": whiten}, progress=False,
            log=lambda m: None,
        )  # fmt: skip
        return res, load_weights(tmp_path / name)

    both, w = fit("both.npz", (0.0, 1.0))
    assert sorted({r["whiten"] for r in both.validation["grid"]}) == [0.0, 1.0] and len(both.validation["grid"]) == 4
    assert w.settings.whiten in (0.0, 1.0)
    _, plain = fit("plain.npz", (0.0,))
    _, white = fit("white.npz", (1.0,))
    # plain PCA keeps orthonormal components; whitening divides each by its standard deviation, which falls
    # along the components, so their norms rise
    np.testing.assert_allclose(np.linalg.norm(plain.pca_components, axis=0), 1.0, rtol=0, atol=FLOAT32_UNIT_ATOL)
    norms = np.linalg.norm(white.pca_components, axis=0)
    assert plain.settings.whiten == 0.0 and white.settings.whiten == 1.0
    assert np.all(np.diff(norms) >= 0) and norms[-1] > 2 * norms[0]


def test_easy_vqa_train_pictures_are_captioned_from_their_own_questions() -> None:
    import easy_vqa

    questions, answers, ids = easy_vqa.get_train_questions()
    said = {(q, a) for q, a, i in zip(questions, answers, ids, strict=True) if i == 0}
    assert {("what color is the shape?", "blue"), ("what is the blue shape?", "rectangle")} <= said
    attrs = easy_vqa_attributes("train")
    assert attrs[0] == {"colour": "blue", "shape": "rectangle"}
    # every answered "what shape ...?" question agrees with the record (written here without the module's regexes)
    for q, a, i in zip(questions, answers, ids, strict=True):
        if q.startswith("what shape"):
            assert attrs[int(i)]["shape"] == a
        if q in ("what color is the shape?", "what is the color of the shape?"):
            assert attrs[int(i)]["colour"] == a
    images = easy_vqa_images("train")
    assert len(images) == len(attrs) == 3961 and images[0].caption == "a blue rectangle"
    assert all(im.source == "easy-vqa" and "/train/" in im.path.as_posix() for im in images)
    assert easy_vqa_caption({"shape": "circle"}) == "a circle"
    with pytest.raises(ValueError, match="train"):
        easy_vqa_attributes("validation")
