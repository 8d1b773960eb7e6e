"""The training loop: gradient accumulation, warmup + linear decay, clipping, AMP on GPU, early stopping,
checkpoints with config and provenance, and resume.

Output folder layout (``train.output_dir``):

- ``last/``: the latest checkpoint (model, tokenizer, ``trainer_state.pt`` with optimizer, scheduler, RNG and
  loop state, ``config.yaml``, ``provenance.json``); training resumes from it when ``train.resume`` is true.
  With ``train.keep_final_trainer_state`` false, the checkpoint of a finished run has no trainer state (it is
  as large as two copies of the weights): such a run cannot be extended, only re-run.
- ``best/``: the checkpoint with the best validation metric so far (same files, without the trainer state).
  When ``best/`` and ``last/`` are written at the same step, ``last/`` hard-links the files of ``best/``
  (one copy of the weights on disk where the file system allows it).
- ``history.jsonl``: one line per evaluation.
- ``train_loss.jsonl``: one line per optimizer step, ``{"step", "loss", "lr"}`` (the step's sample-weighted mean
  training loss; after an interrupted run a step may appear twice, the last line counts).

The validation metric ``train.metric`` is ``loss`` (lower is better, token-weighted response loss) or any
generation score of :data:`~mmdial_fusion.evaluation.SCORE_NAMES` (higher is better, computed on the first
``train.eval_generation_samples`` validation samples).

Example:
    >>> lr_factor(step=0, warmup=2, total=10), lr_factor(step=2, warmup=2, total=10), lr_factor(10, 2, 10)
    (0.3333333333333333, 1.0, 0.0)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mmdial_fusion.collate import FusionCollator
from mmdial_fusion.config import FusionConfig
from mmdial_fusion.evaluation import SCORE_NAMES, score_responses
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.model import FusionModel
from mmdial_fusion.samples import FusionSample, read_samples

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

TRAINER_STATE = "trainer_state.pt"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup over ``warmup`` steps, then linear decay to 0 at ``total`` (factor for optimizer step ``step``)."""
    if step < warmup:
        return (step + 1) / (warmup + 1) if warmup else 1.0
    return max(0.0, (total - step) / max(1, total - warmup))


@dataclass
class TrainResult:
    """What :func:`train` did."""

    steps: int
    best_metric: float | None
    best_step: int | None
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    output_dir: Path | None = None


def _batches(samples: Sequence[FusionSample], batch_size: int, seed: int, epoch: int) -> list[list[FusionSample]]:
    order = np.random.default_rng([seed, epoch]).permutation(len(samples))
    return [[samples[i] for i in order[s : s + batch_size]] for s in range(0, len(samples), batch_size)]


def _amp_context(amp: str, device: torch.device) -> tuple[contextlib.AbstractContextManager[Any], bool]:
    """(autocast context, needs a grad scaler)."""
    if device.type != "cuda" or amp == "off":
        return contextlib.nullcontext(), False
    dtype = torch.float16 if amp == "fp16" else torch.bfloat16
    if amp == "auto" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype == torch.float16


def validation_loss(
    model: FusionModel, samples: Sequence[FusionSample], collator: FusionCollator, batch_size: int
) -> float:
    """Token-weighted mean response loss."""
    device = next(model.parameters()).device
    model.eval()
    total = tokens = 0.0
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            batch = {k: v.to(device) for k, v in collator(samples[start : start + batch_size]).items()}
            n = float((batch["labels"] != -100).sum())
            total += float(model(**batch).loss) * n
            tokens += n
    model.train()
    return total / tokens if tokens else float("nan")


def _link_or_copy_tree(source: Path, target: Path) -> None:
    """Recreate ``source`` under ``target`` with hard links (copies where the file system cannot link)."""
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def _save_checkpoint(
    directory: Path,
    model: FusionModel,
    tokenizer: PreTrainedTokenizerBase,
    config: FusionConfig,
    extra: dict[str, Any],
    trainer_state: dict[str, Any] | None,
    *,
    same_as: Path | None = None,
) -> None:
    """Write a checkpoint folder atomically (tmp folder, then rename).

    ``same_as`` names a checkpoint folder just written from the same model state: its files are hard-linked
    instead of serializing the weights again.
    """
    import yaml

    from mmdial_data.provenance import provenance

    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if same_as is not None:
        _link_or_copy_tree(same_as, tmp)
    else:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp / "tokenizer")
        (tmp / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
        record = provenance(config=config.to_dict(), seed=config.seed, extra=extra)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    if trainer_state is not None:
        torch.save(trainer_state, tmp / TRAINER_STATE)
    old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if directory.exists():
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(directory: str | os.PathLike[str]) -> tuple[FusionModel, PreTrainedTokenizerBase, FusionConfig]:
    """Load a checkpoint folder written by :func:`train`: model, tokenizer and the config it was trained with."""
    from transformers import AutoTokenizer

    directory = Path(directory)
    config = FusionConfig.from_yaml(directory / "config.yaml")
    model = FusionModel.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer")
    return model, tokenizer, config


def make_collator(
    config: FusionConfig,
    tokenizer: PreTrainedTokenizerBase,
    features: ImageFeatureStore | None,
    is_encoder_decoder: bool,
    *,
    ablation: str | None = None,
) -> FusionCollator:
    """The collator a config describes."""
    d = config.data
    return FusionCollator(
        tokenizer,
        features,
        is_encoder_decoder,
        ablation=ablation or d.ablation,
        max_context_tokens=d.max_context_tokens,
        max_response_tokens=d.max_response_tokens,
        max_turn_images=d.max_turn_images,
        max_entity_images=d.max_entity_images,
        add_captions=d.add_captions,
        add_entities=d.add_entities,
        separator=d.separator,
    )


def _metric(
    config: FusionConfig,
    model: FusionModel,
    tokenizer: PreTrainedTokenizerBase,
    valid: Sequence[FusionSample],
    collator: FusionCollator,
) -> dict[str, float]:
    from mmdial_fusion.generation import generate_responses

    out = {"loss": validation_loss(model, valid, collator, config.train.eval_batch_size)}
    if config.train.metric != "loss":
        subset = list(valid[: config.train.eval_generation_samples])
        hyps = generate_responses(model, tokenizer, subset, collator, config.generation, seed=config.seed)
        out.update(score_responses(hyps, [s.response for s in subset]))
        model.train()
    return out


def train(
    config: FusionConfig,
    *,
    train_samples: Sequence[FusionSample] | None = None,
    valid_samples: Sequence[FusionSample] | None = None,
    features: ImageFeatureStore | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    stop_after_steps: int | None = None,
) -> TrainResult:
    """Train a fusion model as ``config`` says; samples/features default to the files the config names.

    Args:
        config: The experiment.
        train_samples: Training samples (default: ``data.train``).
        valid_samples: Validation samples (default: ``data.validation``; none disables early stopping).
        features: Image features (default: ``data.features``).
        device: Torch device (default: CUDA when available).
        progress: Show a progress bar.
        stop_after_steps: End this run after that many optimizer steps (a time-sliced job): ``last/`` is written
            and a later call with ``train.resume`` continues exactly where it stopped.
    """
    from mmdial_fusion.backbones import load_backbone

    if config.train.metric not in ("loss", *SCORE_NAMES):
        raise ValueError(f"train.metric: {config.train.metric!r} is not 'loss' or one of {SCORE_NAMES}")
    seed_everything(config.seed)
    out_dir = Path(config.train.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if train_samples is None:
        if config.data.train is None:
            raise ValueError("data.train: no training samples given")
        train_samples = list(read_samples(config.data.train))
    if valid_samples is None and config.data.validation is not None:
        valid_samples = list(read_samples(config.data.validation))
    if features is None and config.data.features is not None:
        features = ImageFeatureStore.load(config.data.features)
    if not train_samples:
        raise ValueError("no training samples")
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")

    last = out_dir / "last"
    resume_state: dict[str, Any] | None = None
    if config.train.resume and (last / TRAINER_STATE).is_file():
        model, tokenizer, _ = load_checkpoint(last)
        resume_state = torch.load(last / TRAINER_STATE, map_location="cpu", weights_only=False)
    else:
        backbone = load_backbone(config.backbone, seed=config.seed)
        tokenizer = backbone.tokenizer
        image_dim = features.dim if features is not None else 1
        model = FusionModel(backbone.model, image_dim, layer_norm=config.model.layer_norm)
    model.to(dev).train()
    collator = make_collator(config, tokenizer, features, model.is_encoder_decoder)

    per_epoch = math.ceil(math.ceil(len(train_samples) / config.train.batch_size) / config.train.grad_accum)
    total = config.train.max_steps or per_epoch * config.train.epochs
    warmup = int(config.train.warmup_ratio * total)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.train.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.train.lr,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, total))
    autocast, needs_scaler = _amp_context(config.train.amp, dev)
    scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler)

    step, epoch, batch_in_epoch = 0, 0, 0
    best: float | None = None
    best_step: int | None = None
    bad_evals = 0
    history: list[dict[str, Any]] = []
    if resume_state is not None:
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        scaler.load_state_dict(resume_state["scaler"])
        step, epoch, batch_in_epoch = resume_state["step"], resume_state["epoch"], resume_state["batch_in_epoch"]
        best, best_step, bad_evals = resume_state["best"], resume_state["best_step"], resume_state["bad_evals"]
        history = resume_state["history"]
        random.setstate(resume_state["rng_python"])
        torch.set_rng_state(resume_state["rng_torch"])
    higher_is_better = config.train.metric != "loss"
    eval_every = config.train.eval_every or per_epoch
    stopped_early = False

    def state() -> dict[str, Any]:
        return {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "step": step,
            "epoch": epoch,
            "batch_in_epoch": batch_in_epoch,
            "best": best,
            "best_step": best_step,
            "bad_evals": bad_evals,
            "history": history,
            "rng_python": random.getstate(),
            "rng_torch": torch.get_rng_state(),
        }

    def evaluate_and_checkpoint() -> bool:
        nonlocal best, best_step, bad_evals
        record: dict[str, Any] = {"step": step, "epoch": epoch, "lr": scheduler.get_last_lr()[0]}
        improved = True
        if valid_samples:
            record.update(_metric(config, model, tokenizer, valid_samples, collator))
            value = float(record[config.train.metric])
            improved = best is None or (value > best if higher_is_better else value < best)
            if improved:
                best, best_step, bad_evals = value, step, 0
            else:
                bad_evals += 1
        history.append(record)
        with (out_dir / "history.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
        extra = {"step": step, "metric": config.train.metric, "best": best, "best_step": best_step}
        patience = config.train.early_stopping_patience
        stop = patience is not None and bad_evals >= patience
        final = stop or step >= total
        trainer_state = state() if config.train.keep_final_trainer_state or not final else None
        if improved:
            _save_checkpoint(out_dir / "best", model, tokenizer, config, extra, None)
        same_as = out_dir / "best" if improved else None
        _save_checkpoint(last, model, tokenizer, config, extra, trainer_state, same_as=same_as)
        return stop

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=step, desc="train", unit="step")
    running = 0.0
    stop_at = total if stop_after_steps is None else min(total, step + stop_after_steps)
    while step < stop_at and not stopped_early:
        batches = _batches(train_samples, config.train.batch_size, config.seed, epoch)
        groups = [batches[i : i + config.train.grad_accum] for i in range(0, len(batches), config.train.grad_accum)]
        for g in range(batch_in_epoch, len(groups)):
            group = groups[g]
            weights = [len(b) for b in group]  # each micro-batch's loss weighs by its share of the samples
            optimizer.zero_grad(set_to_none=True)
            step_loss = 0.0
            for b, n in zip(group, weights, strict=True):
                batch = {k: v.to(dev) for k, v in collator(b).items()}
                with autocast:
                    loss = model(**batch).loss * (n / sum(weights))
                scaler.scale(loss).backward()
                step_loss += float(loss.detach())
            running += step_loss
            lr_now = scheduler.get_last_lr()[0]
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            batch_in_epoch = g + 1
            with (out_dir / "train_loss.jsonl").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"step": step, "loss": step_loss, "lr": lr_now}) + "\n")
            if bar is not None:
                bar.update(1)
                if step % config.train.log_every == 0:
                    bar.set_postfix(loss=f"{running / config.train.log_every:.4f}")
                    running = 0.0
            if (step % eval_every == 0 or step >= total) and evaluate_and_checkpoint():
                stopped_early = True
            if step >= stop_at or stopped_early:
                break
        else:
            epoch += 1
            batch_in_epoch = 0
    if bar is not None:
        bar.close()
    if step < total and not stopped_early:
        extra = {"step": step, "metric": config.train.metric, "best": best, "best_step": best_step}
        _save_checkpoint(last, model, tokenizer, config, extra, state())
    elif not history or history[-1]["step"] != step:
        evaluate_and_checkpoint()
    return TrainResult(step, best, best_step, stopped_early, history, out_dir)
