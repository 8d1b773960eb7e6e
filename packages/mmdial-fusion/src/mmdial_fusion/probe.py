"""Visual-dependency probe: does a fusion model use its images?

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

Systems (same backbone, samples, steps, batch, learning rate and seed):

- ``full``: trained and tested with the images;
- ``text_only``: trained and tested without visual slots (ablation ``text_only``);
- ``shuffled``: trained and tested on samples whose images were permuted among the samples of each split
  (seeded), so an image no longer goes with its answer;
- ``removed``: the ``full`` model tested on samples without images.

Accuracy: for each test sample, every answer seen in training ("it's red", "it's blue" ...) is scored by the
model's log-likelihood of the response tokens (summed, EOS included) and the best one counts as the prediction
(argmax over the answer set, not free generation). Intervals: percentile bootstrap over test samples (1000
resamples, seeded). Prior: accuracy of always answering the test set's most frequent answer.

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
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import KnowledgeConfig, build_samples
from mmdial_fusion.samples import FusionSample

if TYPE_CHECKING:
    from mmdial_fusion.collate import FusionCollator
    from mmdial_fusion.model import FusionModel

#: The probe's systems, in report order.
SYSTEMS = ("full", "text_only", "shuffled", "removed")

#: Colours of easy-vqa's shapes.
EASY_VQA_COLOURS = ("black", "blue", "brown", "gray", "green", "red", "teal", "yellow")


@dataclass(frozen=True)
class ProbeTask:
    """A probe task: the fixed question and how the answer is written."""

    name: str
    question: str
    answer_template: str

    def answer(self, label: str) -> str:
        """The target response for ``label``."""
        return self.answer_template.format(label=label)


#: The tasks :func:`run_probe` knows.
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


@dataclass
class SystemResult:
    """Accuracy of one system on the test samples.

    Attributes:
        accuracy: Fraction of test samples whose best-scoring answer is the target.
        ci_low: Lower end of the bootstrap 95% interval.
        ci_high: Upper end of the bootstrap 95% interval.
        correct: Per test sample, whether it was right (test order).
        predictions: Per test sample, the chosen answer.
        train_s: Training time in seconds (0 for ``removed``, which reuses ``full``).
        final_loss: Training loss of the last optimizer step (None for ``removed``).
    """

    accuracy: float
    ci_low: float
    ci_high: float
    correct: list[bool] = field(repr=False, default_factory=list)
    predictions: list[str] = field(repr=False, default_factory=list)
    train_s: float = 0.0
    final_loss: float | None = None


@dataclass
class ProbeResult:
    """What :func:`run_probe` measured.

    Attributes:
        systems: System name (see :data:`SYSTEMS`) -> its result.
        prior: Majority-answer accuracy of the test set.
        settings: Backbone, steps, batch, lr, seed, encoder id, task, sizes, scoring method.
        wall_s: Wall time of the whole probe (data, embeddings, training, scoring), seconds.
    """

    systems: dict[str, SystemResult]
    prior: float
    settings: dict[str, Any]
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (per-sample lists left out)."""
        return {
            "systems": {
                name: {
                    "accuracy": r.accuracy,
                    "ci95": [r.ci_low, r.ci_high],
                    "train_s": round(r.train_s, 2),
                    "final_loss": r.final_loss,
                }
                for name, r in self.systems.items()
            },
            "prior": self.prior,
            "settings": self.settings,
            "wall_s": round(self.wall_s, 2),
        }

    def table(self) -> str:
        """A Markdown table: system, accuracy, 95% interval, and the prior."""
        n = self.settings.get("n_test")
        lines = [f"| system ({n} test samples) | accuracy | bootstrap 95% interval |", "|---|---:|---:|"]
        for name, r in self.systems.items():
            lines.append(f"| {name} | {r.accuracy:.3f} | [{r.ci_low:.3f}, {r.ci_high:.3f}] |")
        lines.append(f"| prior (majority answer) | {self.prior:.3f} | |")
        return "\n".join(lines)


# ---- data ---------------------------------------------------------------------------------------------------
def easy_vqa_colours(split: str) -> dict[int, str]:
    """easy-vqa image number -> the colour of its shape, read from easy-vqa's questions of ``split``.

    Uses the colour questions ("what color is the shape?" and its variants, whose answer is the colour),
    "what is the <colour> shape?" and the yes/no questions about a colour ("is there a <colour> shape?" answered
    yes, "is there not a <colour> shape?" answered no); an image with conflicting colours raises.
    """
    import easy_vqa

    if split not in ("train", "test"):
        raise ValueError(f"easy-vqa splits are 'train' and 'test', got {split!r}")
    questions, answers, image_ids = (
        easy_vqa.get_train_questions() if split == "train" else easy_vqa.get_test_questions()
    )
    named = re.compile(r"^what is the (\w+) shape\?$")
    colour_questions = re.compile(r"^what (color is the \w+|is the color of the \w+)\?$")
    present = re.compile(r"^(is there a|does the image contain a|is a) (\w+) shape( in the image| present)?\?$")
    absent = re.compile(r"^(is there not a|does the image not contain a|is no) (\w+) shape( in the image| present)?\?$")
    colours: dict[int, str] = {}
    for q, a, i in zip(questions, answers, image_ids, strict=True):
        found = a if colour_questions.match(q) else None
        if (m := named.match(q)) is not None:
            found = m.group(1)
        else:
            m = present.match(q) if a == "yes" else absent.match(q) if a == "no" else None
            if m is not None:
                found = m.group(2)
        if found is None or found not in EASY_VQA_COLOURS:
            continue
        if colours.setdefault(int(i), found) != found:
            raise ValueError(f"easy-vqa {split} image {i}: colours {colours[int(i)]!r} and {found!r}")
    return colours


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


# ---- scoring ------------------------------------------------------------------------------------------------
def majority_prior(test: Sequence[FusionSample]) -> float:
    """Accuracy of always giving the most frequent test response."""
    if not test:
        raise ValueError("no test samples")
    return Counter(s.response for s in test).most_common(1)[0][1] / len(test)


def bootstrap_interval(correct: Sequence[bool], *, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the mean of ``correct`` (resampling samples with replacement).

    Example:
        >>> bootstrap_interval([True] * 10)
        (1.0, 1.0)
    """
    values = np.asarray(correct, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values to bootstrap")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def answer_log_likelihoods(
    model: FusionModel,
    samples: Sequence[FusionSample],
    collator: FusionCollator,
    answers: Sequence[str],
    *,
    batch_size: int = 64,
) -> np.ndarray:
    """``(len(samples), len(answers))``: summed log-likelihood of each answer (its tokens + EOS) as the response."""
    import torch

    device = next(model.parameters()).device
    out = np.zeros((len(samples), len(answers)), dtype=np.float64)
    model.eval()
    with torch.no_grad():
        for a, answer in enumerate(answers):
            variants = [dataclasses.replace(s, response=answer) for s in samples]
            for start in range(0, len(variants), batch_size):
                batch = {k: v.to(device) for k, v in collator(variants[start : start + batch_size]).items()}
                packed = model.pack(
                    batch["input_ids"],
                    batch["attention_mask"],
                    batch.get("image_features"),
                    batch.get("image_mask"),
                    batch.get("image_types"),
                    batch["labels"],
                )
                if model.is_encoder_decoder:
                    logits = model.backbone(
                        inputs_embeds=packed.inputs_embeds, attention_mask=packed.attention_mask, labels=packed.labels
                    ).logits
                    labels = packed.labels
                else:
                    logits = model.backbone(
                        inputs_embeds=packed.inputs_embeds,
                        attention_mask=packed.attention_mask,
                        position_ids=packed.position_ids,
                    ).logits[:, :-1]
                    labels = packed.labels[:, 1:] if packed.labels is not None else None
                assert labels is not None
                mask = labels.ne(-100)
                logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, labels.clamp(min=0).unsqueeze(-1))
                out[start : start + len(variants[start : start + batch_size]), a] = (
                    (logp.squeeze(-1) * mask).sum(dim=1).cpu().numpy()
                )
    return out


def _evaluate(
    model: FusionModel,
    samples: Sequence[FusionSample],
    collator: FusionCollator,
    answers: Sequence[str],
    seed: int,
) -> SystemResult:
    scores = answer_log_likelihoods(model, samples, collator, answers)
    predictions = [answers[int(k)] for k in scores.argmax(axis=1)]
    correct = [p == s.response for p, s in zip(predictions, samples, strict=True)]
    low, high = bootstrap_interval(correct, seed=seed)
    return SystemResult(float(np.mean(correct)), low, high, correct, predictions)


# ---- the probe ----------------------------------------------------------------------------------------------
def _train_system(
    data: ProbeData,
    train_samples: Sequence[FusionSample],
    *,
    ablation: str,
    backbone: str,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    output_dir: Path,
) -> tuple[FusionModel, FusionCollator, float, float | None]:
    from mmdial_fusion.config import FusionConfig
    from mmdial_fusion.training import load_checkpoint, make_collator, train

    config = FusionConfig.from_dict(
        {
            "backbone": backbone,
            "seed": seed,
            "data": {"ablation": ablation, "max_turn_images": 1, "max_entity_images": 0, "max_response_tokens": 16},
            "train": {
                "output_dir": str(output_dir),
                "max_steps": steps,
                "batch_size": batch_size,
                "lr": lr,
                "warmup_ratio": 0.1,
                "eval_every": steps,
                "early_stopping_patience": None,
                "resume": False,
                "keep_final_trainer_state": False,
                "amp": "off",
            },
        }
    )
    start = time.perf_counter()
    train(config, train_samples=list(train_samples), features=data.features, device="cpu", progress=False)
    elapsed = time.perf_counter() - start
    model, tokenizer, _ = load_checkpoint(output_dir / "last")
    collator = make_collator(config, tokenizer, data.features, model.is_encoder_decoder)
    final_loss = None
    loss_log = output_dir / "train_loss.jsonl"
    if loss_log.is_file():
        lines = loss_log.read_text(encoding="utf-8").splitlines()
        final_loss = float(json.loads(lines[-1])["loss"]) if lines else None
    return model, collator, elapsed, final_loss


def run_probe(
    task: str = "colour",
    *,
    backbone: str = "tiny-gpt2",
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    n_train: int = 2000,
    n_test: int = 500,
    encoder: str = "offline",
    cache_dir: str | os.PathLike[str] | None = None,
    systems: Sequence[str] = SYSTEMS,
    threads: int | None = None,
    progress: bool = False,
    data: ProbeData | None = None,
) -> ProbeResult:
    """Train and score the probe's systems (see the module docs); deterministic given the seed on one machine.

    Args:
        task: ``"colour"`` or ``"category"`` (see :data:`TASKS`).
        backbone: Fusion backbone preset or checkpoint (default the smallest preset, a tiny GPT-2 trained from
            scratch).
        steps: Optimizer steps per trained system.
        batch_size: Samples per step.
        lr: AdamW peak learning rate (10% warmup, linear decay).
        seed: Seed of training, of the shuffled variant's permutation, of the bootstrap and of the category split.
        n_train: Training images.
        n_test: Test images.
        encoder: mmdial-retrieval encoder of the images.
        cache_dir: Pools and embedding cache (see :func:`build_probe_data`).
        systems: Which of :data:`SYSTEMS` to run (``removed`` needs ``full``).
        threads: ``torch.set_num_threads`` for the run (None: leave as is).
        progress: Show the embedding progress bar.
        data: Prebuilt probe data (skips :func:`build_probe_data`; ``task``, sizes and ``encoder`` are then
            taken from it).
    """
    import torch

    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise KeyError(f"unknown probe systems {unknown}; choose from {list(SYSTEMS)}")
    if "removed" in systems and "full" not in systems:
        raise ValueError("the 'removed' system tests the 'full' model: include 'full'")
    if threads is not None:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    if data is None:
        data = build_probe_data(
            task, n_train=n_train, n_test=n_test, seed=seed, encoder=encoder, cache_dir=cache_dir, progress=progress
        )
    data_s = time.perf_counter() - start
    results: dict[str, SystemResult] = {}
    train_runs = {
        "full": ("full", data.train, data.test),
        "text_only": ("text_only", data.train, data.test),
        "shuffled": ("full", shuffle_images(data.train, seed), shuffle_images(data.test, seed + 1)),
    }
    with tempfile.TemporaryDirectory(prefix="mmdial-probe-") as tmp:
        for name in SYSTEMS:
            if name not in systems or name == "removed":
                continue
            ablation, train_samples, test_samples = train_runs[name]
            model, collator, train_s, final_loss = _train_system(
                data,
                train_samples,
                ablation=ablation,
                backbone=backbone,
                steps=steps,
                batch_size=batch_size,
                lr=lr,
                seed=seed,
                output_dir=Path(tmp) / name,
            )
            results[name] = _evaluate(model, test_samples, collator, data.answers, seed)
            results[name].train_s, results[name].final_loss = train_s, final_loss
            if name == "full" and "removed" in systems:
                results["removed"] = _evaluate(model, remove_images(data.test), collator, data.answers, seed)
    ordered = {name: results[name] for name in SYSTEMS if name in results}
    settings = {
        "task": data.task.name,
        "question": data.task.question,
        "backbone": backbone,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "encoder": data.encoder_id,
        "n_train": len(data.train),
        "n_test": len(data.test),
        "answers": len(data.answers),
        "scoring": "argmax over the answer set of the summed response log-likelihood",
        "bootstrap": {"resamples": 1000, "interval": 0.95, "seed": seed},
        "torch_threads": torch.get_num_threads(),
        "data_s": round(data_s, 2),
        "embedded_now": data.embedded_now,
    }
    return ProbeResult(ordered, majority_prior(data.test), settings, time.perf_counter() - start)
