"""Experiments kept in a cache: held-out splits by dialogue, where a configuration's run lives, whether it
finished, its training losses, and evaluations that are computed once and reused.

What a notebook comparing fusion systems needs around :func:`mmdial_fusion.train`:

- :func:`split_by_dialogue`: whole dialogues held out (no test context was seen in training), seeded samples.
- :func:`run_dir`: the run folder of a configuration under a cache root, named by a hash of everything that
  changes the trained weights (the config, the training samples, the image features, the index's encoder), so
  a second run with the same inputs finds its checkpoint and a changed input trains anew.
- :func:`is_finished`: the run reached ``train.max_steps`` (read from ``history.jsonl``).
- :func:`train_losses`: the per-step training loss from ``train_loss.jsonl`` (the last line of a step counts:
  a resumed run may log a step twice).
- :func:`evaluate_cached`: responses and held-out loss of a checkpoint under one ablation, cached next to it
  under a key of the test samples and the generation settings.
- :func:`write_predictions`: ``{dialogue_id, turn_index, prediction}`` lines that ``mmdial eval`` scores.

Example:
    >>> import tempfile, pathlib, json
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> lines = [{"step": 1, "loss": 3.0}, {"step": 2, "loss": 2.5}, {"step": 2, "loss": 2.4}, {"step": 3, "loss": 2.0}]
    >>> _ = (out / "train_loss.jsonl").write_text("".join(json.dumps(r) + "\\n" for r in lines))
    >>> train_losses(out)
    [3.0, 2.4, 2.0]
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.outputs import write_text_atomic

if TYPE_CHECKING:
    from mmdial_fusion.config import FusionConfig, GenerationConfig
    from mmdial_fusion.features import ImageFeatureStore
    from mmdial_fusion.samples import FusionSample


def split_by_dialogue(
    samples: Sequence[FusionSample],
    *,
    test_fraction: float,
    seed: int,
    max_train: int | None = None,
    max_test: int | None = None,
) -> tuple[list[FusionSample], list[FusionSample], set[str]]:
    """``(train, test, held_out_dialogue_ids)``: a seeded ``test_fraction`` of the dialogues (at least one) held
    out whole; then at most ``max_train`` / ``max_test`` samples of each side, drawn with seeds ``seed`` and
    ``seed + 1``.

    Example:
        >>> from mmdial_fusion.samples import FusionSample
        >>> ss = [FusionSample(f"d{i}#{j}", f"d{i}", ["hi"], [j - 1], "yo", j) for i in range(5) for j in range(1, 3)]
        >>> train, test, held = split_by_dialogue(ss, test_fraction=0.4, seed=0)
        >>> len(train), len(test), sorted(held), {s.dialogue_id for s in train} & held
        (6, 4, ['d1', 'd2'], set())
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    dialogue_ids = sorted({s.dialogue_id for s in samples})
    if len(dialogue_ids) < 2:
        raise ValueError(f"need samples of at least 2 dialogues to hold some out, got {len(dialogue_ids)}")
    random.Random(seed).shuffle(dialogue_ids)
    held_out = set(dialogue_ids[: max(1, round(test_fraction * len(dialogue_ids)))])
    train_pool = [s for s in samples if s.dialogue_id not in held_out]
    test_pool = [s for s in samples if s.dialogue_id in held_out]
    train = random.Random(seed).sample(train_pool, min(max_train or len(train_pool), len(train_pool)))
    test = random.Random(seed + 1).sample(test_pool, min(max_test or len(test_pool), len(test_pool)))
    return train, test, held_out


def _digest(value: Any, n: int = 16) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:n]


def run_dir(
    root: str | os.PathLike[str],
    config: Mapping[str, Any],
    train_samples: Sequence[FusionSample],
    features: ImageFeatureStore,
    encoder_id: str | None,
    name: str,
) -> Path:
    """``root/<hash>/<name>``: the folder of the run of ``config`` (a config mapping, without its output folder)
    on these training samples, image features and index encoder. ``name`` tells runs of one comparison apart."""
    key = {
        "config": {k: v for k, v in config.items() if k != "output_dir"},
        "train": [s.sample_id for s in train_samples],
        "features": [list(features.ids), features.dim],
        "index": encoder_id,
    }
    return (Path(root) / _digest(key) / name).resolve()


def is_finished(config: FusionConfig) -> bool:
    """Whether the run in ``config.train.output_dir`` reached ``config.train.max_steps``."""
    history = Path(config.train.output_dir) / "history.jsonl"
    if not history.is_file():
        return False
    steps = [json.loads(line)["step"] for line in history.read_text(encoding="utf-8").splitlines() if line.strip()]
    return bool(steps) and steps[-1] >= config.train.max_steps


def train_losses(output_dir: str | os.PathLike[str]) -> list[float]:
    """The training loss of each optimizer step, in step order, from ``output_dir/train_loss.jsonl``."""
    by_step: dict[int, float] = {}
    path = Path(output_dir) / "train_loss.jsonl"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            by_step[int(row["step"])] = float(row["loss"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}, line {n}: not a training-loss record ({exc}); rerun the training") from exc
    return [by_step[s] for s in sorted(by_step)]


def evaluate_cached(
    checkpoint_dir: str | os.PathLike[str],
    test_samples: Sequence[FusionSample],
    features: ImageFeatureStore,
    ablation: str,
    generation: GenerationConfig,
    *,
    seed: int,
    load: Callable[[Path], tuple[Any, Any, FusionConfig]] | None = None,
) -> dict[str, Any]:
    """``{"responses": [...], "loss": float}`` of the checkpoint in ``checkpoint_dir/last`` on ``test_samples``
    under ``ablation``: read from ``checkpoint_dir/eval-<ablation>-<key>.json`` when an earlier call computed it
    for the same samples and generation settings, else generated (with ``seed``), scored and stored there.
    ``load``: how to load the checkpoint (default :func:`mmdial_fusion.load_checkpoint`; pass a cached loader to
    evaluate several ablations of one model without reloading it)."""
    import dataclasses

    folder = Path(checkpoint_dir)
    key = _digest([[s.sample_id for s in test_samples], dataclasses.asdict(generation), seed], 12)
    cached = folder / f"eval-{ablation}-{key}.json"
    if cached.is_file():
        record: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return record
    from mmdial_fusion.generation import generate_responses
    from mmdial_fusion.training import load_checkpoint, make_collator, validation_loss

    model, tokenizer, config = (load or load_checkpoint)(folder / "last")
    collator = make_collator(config, tokenizer, features, model.is_encoder_decoder, ablation=ablation)
    record = {
        "responses": generate_responses(model, tokenizer, test_samples, collator, generation, seed=seed),
        "loss": validation_loss(model, test_samples, collator, batch_size=generation.batch_size),
    }
    write_text_atomic(cached, json.dumps(record))
    return record


def write_predictions(path: str | os.PathLike[str], samples: Sequence[FusionSample], responses: Sequence[str]) -> Path:
    """Write ``{dialogue_id, turn_index, prediction}`` JSON lines (the input of ``mmdial eval``) atomically."""
    if len(samples) != len(responses):
        raise ValueError(f"{len(samples)} samples but {len(responses)} responses")
    lines = [
        json.dumps({"dialogue_id": s.dialogue_id, "turn_index": s.response_index, "prediction": r}) + "\n"
        for s, r in zip(samples, responses, strict=True)
    ]
    write_text_atomic(path, "".join(lines))
    return Path(path)
