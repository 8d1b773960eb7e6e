"""Visual-dependency probe: does a fusion model use its images?

The data (tasks ``colour`` and ``category``, the images, the samples and their features) is built by
:mod:`mmdial_fusion.probe_data` (its names are re-exported here); this module trains and scores the systems.

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
    >>> train = probe_samples(data, TASKS["colour"], split="train")
    >>> majority_prior(train)
    0.5
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmdial_fusion.probe_data import EASY_VQA_COLOURS as EASY_VQA_COLOURS
from mmdial_fusion.probe_data import TASKS as TASKS
from mmdial_fusion.probe_data import ProbeData as ProbeData
from mmdial_fusion.probe_data import ProbeImage as ProbeImage
from mmdial_fusion.probe_data import ProbeTask as ProbeTask
from mmdial_fusion.probe_data import build_probe_data as build_probe_data
from mmdial_fusion.probe_data import easy_vqa_colours as easy_vqa_colours
from mmdial_fusion.probe_data import probe_samples as probe_samples
from mmdial_fusion.probe_data import remove_images as remove_images
from mmdial_fusion.probe_data import shuffle_images as shuffle_images
from mmdial_fusion.samples import FusionSample

if TYPE_CHECKING:
    from mmdial_fusion.collate import FusionCollator
    from mmdial_fusion.model import FusionModel

#: The probe's systems, in report order.
SYSTEMS = ("full", "text_only", "shuffled", "removed")


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
                nll, _ = model.sample_losses(
                    batch["input_ids"],
                    batch["attention_mask"],
                    batch.get("image_features"),
                    batch.get("image_mask"),
                    batch.get("image_types"),
                    batch["labels"],
                )
                out[start : start + len(nll), a] = (-nll).cpu().numpy()
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
