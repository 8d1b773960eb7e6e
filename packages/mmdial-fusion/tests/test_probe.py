"""The visual-dependency probe on small data: labels, the shuffled/removed variants, determinism, JSON format.

No accuracy thresholds and no timing assertions: the probe's numbers are measured, not tested (see the README).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("easy_vqa")

from mmdial_data.cli import main
from mmdial_fusion.probe import (
    SYSTEMS,
    TASKS,
    ProbeData,
    ProbeImage,
    bootstrap_interval,
    build_probe_data,
    easy_vqa_colours,
    majority_prior,
    probe_samples,
    remove_images,
    run_probe,
    shuffle_images,
)

# Checked by eye and by each image's most common non-background pixel: train 0 is (0, 0, 255), 2 (255, 0, 0),
# 3 (165, 42, 42); test 1 and 3 (255, 255, 0).
TRAIN_COLOURS = ["blue", "blue", "red", "brown", "red"]
TEST_COLOURS = ["red", "yellow", "blue", "yellow", "red"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("probe-cache")


@pytest.fixture(scope="module")
def data(cache_dir: Path) -> ProbeData:
    return build_probe_data("colour", n_train=5, n_test=5, cache_dir=cache_dir)


def test_easy_vqa_colours_are_exact() -> None:
    train, test = easy_vqa_colours("train"), easy_vqa_colours("test")
    assert [train[i] for i in range(5)] == TRAIN_COLOURS
    assert [test[i] for i in range(5)] == TEST_COLOURS
    assert set(train.values()) == set(test.values()) and len(set(train.values())) == 8


def test_dataset_builder_labels_and_images(data: ProbeData) -> None:
    question = TASKS["colour"].question
    assert [s.response for s in data.train] == [f"it's {c}" for c in TRAIN_COLOURS]
    assert [s.response for s in data.test] == [f"it's {c}" for c in TEST_COLOURS]
    assert data.answers == sorted({f"it's {c}" for c in TRAIN_COLOURS})
    for s in [*data.train, *data.test]:
        assert s.context == [question] and not s.entity_images
        assert len(s.turn_images) == 1 and s.turn_images[0].level == "turn" and s.turn_images[0].turn_index == 0
        assert s.turn_images[0].image_id in data.features
    train_ids = {s.turn_images[0].image_id for s in data.train}
    test_ids = {s.turn_images[0].image_id for s in data.test}
    assert len(train_ids) == 5 and len(test_ids) == 5 and not train_ids & test_ids
    assert data.encoder_id.startswith("offline:") and data.features.dim == 384
    assert [s.sample_id for s in data.test] == [f"probe-colour/test/{n}#1" for n in range(5)]


def test_embeddings_come_from_the_cache_the_second_time(data: ProbeData, cache_dir: Path) -> None:
    again = build_probe_data("colour", n_train=5, n_test=5, cache_dir=cache_dir)
    assert again.embedded_now == 0
    assert (again.features.vectors == data.features.vectors).all() and again.features.ids == data.features.ids


def test_shuffled_variant_permutes_images_and_keeps_texts() -> None:
    images = [ProbeImage(f"img{i}", f"{i}.png", c) for i, c in enumerate(["red", "blue"] * 10)]
    samples = probe_samples(images, TASKS["colour"], split="train")
    shuffled = shuffle_images(samples, seed=0)
    before = [s.turn_images[0].image_id for s in samples]
    after = [s.turn_images[0].image_id for s in shuffled]
    assert sorted(after) == sorted(before) and after != before
    assert sum(a != b for a, b in zip(after, before, strict=True)) >= len(before) // 2
    assert [(s.sample_id, s.context, s.response) for s in shuffled] == [
        (s.sample_id, s.context, s.response) for s in samples
    ]
    assert after == [s.turn_images[0].image_id for s in shuffle_images(samples, seed=0)]
    assert after != [s.turn_images[0].image_id for s in shuffle_images(samples, seed=1)]
    assert before == [s.turn_images[0].image_id for s in samples]  # the originals are untouched


def test_removed_variant_has_no_images() -> None:
    images = [ProbeImage(f"img{i}", f"{i}.png", "red") for i in range(3)]
    samples = probe_samples(images, TASKS["colour"], split="test")
    removed = remove_images(samples)
    assert all(not s.turn_images and not s.entity_images for s in removed)
    assert [(s.context, s.response) for s in removed] == [(s.context, s.response) for s in samples]
    assert all(len(s.turn_images) == 1 for s in samples)


def test_category_labels_are_top_level_folders(tmp_path: Path) -> None:
    from PIL import Image

    stamps = tmp_path / "stamps"
    colours = {"animals": "red", "food": "green", "space": "blue"}
    for category, colour in colours.items():
        for n in range(4):
            folder = stamps / category / "sub"
            folder.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (16 + n, 16), colour).save(folder / f"{n}.png")
            (folder / f"{n}.txt").write_text(f"a {category} stamp\n")
    Image.new("RGB", (9, 9), "white").save(stamps / "space" / "sub" / "rare.png")
    (stamps / "rare").mkdir()
    Image.new("RGB", (9, 9), "black").save(stamps / "rare" / "x.png")
    (stamps / "rare" / "x.txt").write_text("rare\n")
    data = build_probe_data(
        "category", n_train=8, n_test=4, seed=0, stamps=stamps, cache_dir=tmp_path / "cache", min_per_class=2
    )
    labels = Counter(s.response for s in [*data.train, *data.test])
    assert labels == {"animals": 4, "food": 4, "space": 4}  # 'rare' has one image, below min_per_class
    assert all(s.context == ["what is in my photo?"] for s in data.train)
    train_ids = {s.turn_images[0].image_id for s in data.train}
    assert not train_ids & {s.turn_images[0].image_id for s in data.test}


def test_prior_and_bootstrap() -> None:
    images = [ProbeImage(f"img{i}", f"{i}.png", c) for i, c in enumerate(["red", "red", "red", "blue"])]
    assert majority_prior(probe_samples(images, TASKS["colour"], split="test")) == 0.75
    low, high = bootstrap_interval([True, False] * 50, seed=0)
    assert low < 0.5 < high and (low, high) == bootstrap_interval([True, False] * 50, seed=0)


def test_tiny_run_is_deterministic_given_the_seed(data: ProbeData) -> None:
    kwargs = {"backbone": "tiny-gpt2", "steps": 3, "batch_size": 4, "seed": 0, "data": data}
    first, second = run_probe(**kwargs), run_probe(**kwargs)  # type: ignore[arg-type]
    assert list(first.systems) == list(SYSTEMS)
    for name in SYSTEMS:
        a, b = first.systems[name], second.systems[name]
        assert (a.predictions, a.accuracy, a.ci_low, a.ci_high, a.final_loss) == (
            b.predictions,
            b.accuracy,
            b.ci_low,
            b.ci_high,
            b.final_loss,
        )
        assert len(a.predictions) == 5 and set(a.predictions) <= set(data.answers)
    assert first.prior == second.prior == 0.4
    other = run_probe(**{**kwargs, "seed": 1})  # type: ignore[arg-type]
    assert other.systems["full"].final_loss != first.systems["full"].final_loss


def test_cli_json_is_one_object_on_the_last_line(data: ProbeData, cache_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["fusion", "probe", "--json", "--steps", "2", "--batch-size", "4", "--n-train", "5", "--n-test", "5"]
    assert main([*args, "--cache-dir", str(cache_dir)]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(report) == {"systems", "prior", "settings", "wall_s"}
    assert list(report["systems"]) == list(SYSTEMS)
    for row in report["systems"].values():
        assert 0.0 <= row["ci95"][0] <= row["accuracy"] <= row["ci95"][1] <= 1.0
    settings = report["settings"]
    assert {"backbone", "steps", "batch_size", "seed", "encoder", "n_train", "n_test", "task"} <= set(settings)
    assert (settings["backbone"], settings["steps"], settings["batch_size"], settings["seed"]) == ("tiny-gpt2", 2, 4, 0)
    assert (settings["n_train"], settings["n_test"], settings["task"]) == (5, 5, "colour")
    assert settings["encoder"] == data.encoder_id and settings["embedded_now"] == 0
    assert report["prior"] == 0.4 and report["wall_s"] > 0
