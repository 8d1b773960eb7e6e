"""The visual-dependency probe's data: tasks, images, samples and image features (:func:`build_probe_data`).

Dialogues whose right response depends on the image and cannot be guessed from the text: the same question
every time, the answer only in the picture.

- task ``colour`` (default): easy-vqa's images (PyPI ``easy-vqa``; its own train/test split, so train and test
  images are disjoint). Context "what colour is the shape in my photo?" with the image attached to that turn,
  target "it's <colour>" (8 colours; the colour comes from easy-vqa's questions about each image).
- task ``category``: Debian's Tux Paint stamps, label = the stamp's top-level folder (``animals``, ``food`` ...;
  categories with fewer than ``min_per_class`` images dropped), context "what is in my photo?", target
  "<category>"; a seeded split by image. Harder: the categories are broad and unbalanced.

The images go through the path real samples take: an ``mmdial_retrieval.ImagePool`` of the chosen images ->
an mmdial-retrieval encoder (default ``offline``) through ``embed_pool`` with an ``EmbeddingCache`` ->
:func:`mmdial_fusion.knowledge.build_samples` (the image is turn-level knowledge of the question turn) ->
:class:`~mmdial_fusion.features.ImageFeatureStore` -> :func:`mmdial_fusion.training.train` ->
:class:`~mmdial_fusion.model.FusionModel`.

:func:`shuffle_images` and :func:`remove_images` make the probe's image-less and mismatched variants;
:mod:`mmdial_fusion.probe` trains and scores the systems on this data.

Example:
    >>> data = ProbeImage("img-a", "a.png", "red"), ProbeImage("img-b", "b.png", "blue")
    >>> samples = probe_samples(data, TASKS["colour"], split="train")
    >>> samples[0].context
    ['what colour is the shape in my photo?']
    >>> [(s.response, [k.image_id for k in s.turn_images]) for s in samples]
    [("it's red", ['img-a']), ("it's blue", ['img-b'])]
    >>> [len(s.turn_images) for s in remove_images(samples)]
    [0, 0]
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import KnowledgeConfig, build_samples
from mmdial_fusion.samples import FusionSample
from mmdial_retrieval.training_images import EASY_VQA_COLOURS as EASY_VQA_COLOURS


@dataclass(frozen=True)
class ProbeTask:
    """A probe task: the fixed question and how the answer is written."""

    name: str
    question: str
    answer_template: str

    def answer(self, label: str) -> str:
        """The target response for ``label``."""
        return self.answer_template.format(label=label)


#: The tasks :func:`mmdial_fusion.probe.run_probe` knows.
TASKS: dict[str, ProbeTask] = {
    "colour": ProbeTask("colour", "what colour is the shape in my photo?", "it's {label}"),
    "category": ProbeTask("category", "what is in my photo?", "{label}"),
}


@dataclass(frozen=True)
class ProbeImage:
    """One image of the probe and its label (``image_id`` is the pool's content-hash id)."""

    image_id: str
    uri: str
    label: str


@dataclass
class ProbeData:
    """Samples and image features of a probe task.

    Attributes:
        task: The task.
        train: Training samples (one per image).
        test: Test samples (images disjoint from the training images).
        features: Embeddings of every image used, by pool id.
        answers: The answer set scored at test time (the training targets, sorted).
        encoder_id: Id of the encoder that embedded the images.
        embedded_now: Images embedded in this call (the rest came from the cache).
    """

    task: ProbeTask
    train: list[FusionSample]
    test: list[FusionSample]
    features: ImageFeatureStore
    answers: list[str]
    encoder_id: str
    embedded_now: int = 0


def easy_vqa_colours(split: str) -> dict[int, str]:
    """easy-vqa image number -> the colour of its shape, read from easy-vqa's questions of ``split``
    (:func:`mmdial_retrieval.training_images.easy_vqa_attributes`, which also trains the offline encoder on the
    *train* split; images with conflicting colours raise)."""
    from mmdial_retrieval.training_images import easy_vqa_attributes

    return {i: a["colour"] for i, a in easy_vqa_attributes(split).items() if "colour" in a}


def _embed(pool: Any, encoder: Any, cache_dir: Path, progress: bool) -> tuple[ImageFeatureStore, int]:
    import mmdial_retrieval as mr

    result = mr.embed_pool(pool, encoder, mr.EmbeddingCache(cache_dir), num_workers=0, progress=progress)
    if result.failed:
        raise ValueError(f"{len(result.failed)} probe images could not be embedded, e.g. {result.failed[0]}")
    return ImageFeatureStore(result.ids, result.vectors), int(result.embedded_now)


def _easy_vqa_pool(folder: Path, n_train: int, n_test: int) -> tuple[Any, list[ProbeImage], list[ProbeImage]]:
    """A pool of the first ``n_train``/``n_test`` easy-vqa images (by image number) with known colours."""
    import easy_vqa

    chosen: dict[str, list[tuple[int, str]]] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        colours = easy_vqa_colours(split)
        if n > len(colours):
            raise ValueError(f"easy-vqa {split} has {len(colours)} images with a known colour, asked for {n}")
        chosen[split] = sorted(colours.items())[:n]
    paths = {"train": easy_vqa.get_train_image_paths(), "test": easy_vqa.get_test_image_paths()}
    root = Path(paths["train"][chosen["train"][0][0]]).parents[2]  # .../easy_vqa/data
    rows = [
        {"image": Path(paths[split][i]).relative_to(root).as_posix(), "caption": None}
        for split in ("train", "test")
        for i, _ in chosen[split]
    ]
    pool = _fresh_pool(folder)
    listing = folder / "images.jsonl"
    listing.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pool.add_captions_file(listing, image_root=root, source="easy-vqa", workers=1)
    pool.save()
    by_uri = {item.uri: item.image_id for item in pool}
    out: dict[str, list[ProbeImage]] = {}
    for split in ("train", "test"):
        images = []
        for i, colour in chosen[split]:
            uri = Path(paths[split][i]).relative_to(root).as_posix()
            if uri not in by_uri:
                raise ValueError(f"easy-vqa image {uri} did not enter the pool: {pool.problems[-3:]}")
            images.append(ProbeImage(by_uri[uri], uri, colour))
        out[split] = images
    return pool, out["train"], out["test"]


def _fresh_pool(folder: Path) -> Any:
    import shutil

    import mmdial_retrieval as mr

    shutil.rmtree(folder, ignore_errors=True)
    return mr.ImagePool.create(folder)


def _tuxpaint_pool(
    folder: Path, n_train: int, n_test: int, seed: int, stamps: str | os.PathLike[str] | None, min_per_class: int
) -> tuple[Any, list[ProbeImage], list[ProbeImage]]:
    """The Tux Paint stamps as a pool; label = top-level folder; a seeded split by image."""
    pool = _fresh_pool(folder)
    if stamps is None:
        pool.add_tuxpaint(workers=1)
    else:
        pool.add_tuxpaint(stamps, workers=1)
    pool.save()
    items = [ProbeImage(item.image_id, item.uri, item.uri.split("/")[0]) for item in pool]
    counts = Counter(i.label for i in items)
    items = [i for i in items if counts[i.label] >= min_per_class]
    order = np.random.default_rng(seed).permutation(len(items))
    if n_train + n_test > len(items):
        raise ValueError(
            f"the Tux Paint pool has {len(items)} images in usable categories, asked for {n_train + n_test}"
        )
    test = [items[k] for k in order[:n_test]]
    train = [items[k] for k in order[n_test : n_test + n_train]]
    return pool, train, test


def probe_samples(images: Sequence[ProbeImage], task: ProbeTask, *, split: str) -> list[FusionSample]:
    """One single-exchange dialogue per image, turned into fusion samples by :func:`build_samples`.

    Turn 0 (user) asks ``task.question`` with the image attached (level ``turn``); turn 1 (system) answers
    ``task.answer(label)``. The image becomes the sample's one turn-level visual knowledge item.
    """
    from mmdial_data import Dialogue, ImageRef, Turn

    dialogues = [
        Dialogue(
            f"probe-{task.name}/{split}/{n}",
            f"probe-{task.name}",
            split,
            [
                Turn(0, "user", "user", task.question, images=[ImageRef(img.image_id, img.uri, "probe", level="turn")]),
                Turn(1, "system", "system", task.answer(img.label)),
            ],
        )
        for n, img in enumerate(images)
    ]
    config = KnowledgeConfig(max_context_turns=1, max_turn_images=1, max_entity_images=0)
    return list(build_samples(dialogues, config=config))


def shuffle_images(samples: Sequence[FusionSample], seed: int) -> list[FusionSample]:
    """Copies of ``samples`` whose visual knowledge is permuted among them (a seeded permutation).

    Texts and responses stay; sample ``i`` gets the images of sample ``perm[i]``.
    """
    perm = np.random.default_rng(seed).permutation(len(samples))
    return [
        dataclasses.replace(
            s,
            turn_images=list(samples[int(j)].turn_images),
            entity_images=list(samples[int(j)].entity_images),
        )
        for s, j in zip(samples, perm, strict=True)
    ]


def remove_images(samples: Sequence[FusionSample]) -> list[FusionSample]:
    """Copies of ``samples`` without any visual knowledge."""
    return [dataclasses.replace(s, turn_images=[], entity_images=[]) for s in samples]


def build_probe_data(
    task: str = "colour",
    *,
    n_train: int = 2000,
    n_test: int = 500,
    seed: int = 0,
    encoder: str = "offline",
    cache_dir: str | os.PathLike[str] | None = None,
    stamps: str | os.PathLike[str] | None = None,
    min_per_class: int = 10,
    progress: bool = False,
) -> ProbeData:
    """The probe's samples and image features.

    Args:
        task: ``"colour"`` (easy-vqa) or ``"category"`` (Tux Paint stamps).
        n_train: Training images (one sample each).
        n_test: Test images.
        seed: Seed of the category task's train/test split (easy-vqa uses its own split and the first images
            by number, independent of the seed, so the embedding cache serves every seed).
        encoder: mmdial-retrieval encoder name.
        cache_dir: Folder for the probe's pools and the embedding cache (default
            ``$MMDIAL_CACHE/fusion/probe`` or ``~/.cache/mmdial/fusion/probe``).
        stamps: Tux Paint stamps folder (default: Debian's).
        min_per_class: Category task: drop categories with fewer images.
        progress: Show the embedding progress bar.
    """
    import mmdial_retrieval as mr
    from mmdial_fusion.backbones import cache_root

    if task not in TASKS:
        raise KeyError(f"unknown probe task {task!r}; choose one of {sorted(TASKS)}")
    if n_train < 1 or n_test < 1:
        raise ValueError("n_train and n_test must be >= 1")
    base = Path(cache_dir) if cache_dir is not None else cache_root() / "probe"
    base.mkdir(parents=True, exist_ok=True)
    pool_dir = base / f"pool-{task}-{os.getpid()}"
    try:
        if task == "colour":
            pool, train_images, test_images = _easy_vqa_pool(pool_dir, n_train, n_test)
        else:
            pool, train_images, test_images = _tuxpaint_pool(pool_dir, n_train, n_test, seed, stamps, min_per_class)
        enc = mr.get_encoder(encoder)
        features, embedded_now = _embed(pool, enc, base / "embeddings", progress)
    finally:
        import shutil

        shutil.rmtree(pool_dir, ignore_errors=True)
    spec = TASKS[task]
    train = probe_samples(train_images, spec, split="train")
    test = probe_samples(test_images, spec, split="test")
    answers = sorted({s.response for s in train})
    return ProbeData(spec, train, test, features, answers, str(enc.encoder_id), embedded_now)
