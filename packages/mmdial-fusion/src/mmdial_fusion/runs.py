"""Experiments kept in a cache: held-out splits by dialogue, where a configuration's run lives, whether it
finished, its training losses, and evaluations that are computed once and reused.

What a notebook comparing fusion systems needs around :func:`mmdial_fusion.train`:

- :func:`split_by_dialogue`: whole dialogues held out (no test context was seen in training), seeded samples.
- :func:`split_dialogues`: the same held-out choice on dialogues (before any sample is built), and
  :func:`response_windows`: seeded response turns per dialogue, so that samples are built only for those.
- :func:`run_dir`: the run folder of a configuration under a cache root, named by a hash of everything that
  changes the trained weights (the config, the training samples, the image features, the index's encoder), so
  a second run with the same inputs finds its checkpoint and a changed input trains anew.
- :func:`is_finished`: the run reached ``train.max_steps`` (read from ``history.jsonl``).
- :func:`train_losses`: the per-step training loss from ``train_loss.jsonl`` (the last line of a step counts:
  a resumed run may log a step twice).
- :func:`evaluate_cached`: responses and held-out loss (with per-sample losses) of a checkpoint under one
  ablation, cached next to it under a key of the test samples and the generation settings;
  :func:`evaluate_untrained_cached`: the same for the backbone as it is (no fine-tuning, no image slots).
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

import dataclasses
import hashlib
import json
import os
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.outputs import write_text_atomic

if TYPE_CHECKING:
    from mmdial_data.schema import Dialogue
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
    held_out = _held_out({s.dialogue_id for s in samples}, test_fraction, seed)
    train_pool = [s for s in samples if s.dialogue_id not in held_out]
    test_pool = [s for s in samples if s.dialogue_id in held_out]
    train = random.Random(seed).sample(train_pool, min(max_train or len(train_pool), len(train_pool)))
    test = random.Random(seed + 1).sample(test_pool, min(max_test or len(test_pool), len(test_pool)))
    return train, test, held_out


def _held_out(ids: set[str], test_fraction: float, seed: int) -> set[str]:
    """The seeded ``test_fraction`` (at least one) of ``ids`` held out: shared by both split functions."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    dialogue_ids = sorted(ids)
    if len(dialogue_ids) < 2:
        raise ValueError(f"need at least 2 dialogues to hold some out, got {len(dialogue_ids)}")
    random.Random(seed).shuffle(dialogue_ids)
    return set(dialogue_ids[: max(1, round(test_fraction * len(dialogue_ids)))])


def split_dialogues(
    dialogues: Sequence[Dialogue],
    *,
    test_fraction: float,
    seed: int,
    max_train: int | None = None,
    max_test: int | None = None,
) -> tuple[list[Dialogue], list[Dialogue], set[str]]:
    """``(train, test, held_out_ids)`` of whole dialogues: the held-out ids are those :func:`split_by_dialogue`
    holds out for samples of the same dialogues and seed; then at most ``max_train`` / ``max_test`` dialogues
    of each side, drawn with seeds ``seed`` and ``seed + 1`` (in dataset order).

    Example:
        >>> from mmdial_data.schema import Dialogue, Turn
        >>> ds = [Dialogue(f"d{i}", "x", "train", [Turn(0, "a", "a", "hi"), Turn(1, "b", "b", "yo")]) for i in range(5)]
        >>> train, test, held = split_dialogues(ds, test_fraction=0.4, seed=0)
        >>> [d.dialogue_id for d in test], sorted(held), len(train)
        (['d1', 'd2'], ['d1', 'd2'], 3)
    """
    held_out = _held_out({d.dialogue_id for d in dialogues}, test_fraction, seed)

    def pick(pool: list[Dialogue], cap: int | None, rng_seed: int) -> list[Dialogue]:
        if cap is None or cap >= len(pool):
            return pool
        keep = set(random.Random(rng_seed).sample(range(len(pool)), cap))
        return [d for i, d in enumerate(pool) if i in keep]

    train = pick([d for d in dialogues if d.dialogue_id not in held_out], max_train, seed)
    test = pick([d for d in dialogues if d.dialogue_id in held_out], max_test, seed + 1)
    return train, test, held_out


def response_windows(dialogues: Sequence[Dialogue], *, per_dialogue: int, seed: int) -> list[Dialogue]:
    """Per dialogue, ``per_dialogue`` seeded response turns (a turn after the first, with text), each as a copy
    of the dialogue cut after that turn (same ``dialogue_id``), in dialogue then turn order.

    With :class:`~mmdial_fusion.knowledge.KnowledgeConfig` ``last_only_splits`` naming every split, building
    samples from these copies gives exactly one sample per chosen turn: a held-out set of independent responses
    spread over many dialogues, built without the cost of every window. The choice of a dialogue's turns
    depends only on ``seed`` and its id.

    Example:
        >>> from mmdial_data.schema import Dialogue, Turn
        >>> d = Dialogue("d0", "x", "train", [Turn(i, "a", "a", f"t{i}") for i in range(6)])
        >>> [len(c.turns) - 1 for c in response_windows([d], per_dialogue=2, seed=0)]
        [2, 3]
    """
    if per_dialogue < 1:
        raise ValueError(f"per_dialogue must be >= 1, got {per_dialogue}")
    out: list[Dialogue] = []
    for d in dialogues:
        candidates = [i for i, t in enumerate(d.turns) if i > 0 and t.text.strip()]
        chosen = sorted(random.Random(f"{seed}:{d.dialogue_id}").sample(candidates, min(per_dialogue, len(candidates))))
        out += [dataclasses.replace(d, turns=list(d.turns[: i + 1])) for i in chosen]
    return out


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


#: Version of the cached evaluation records (bumped when a record gains a field: older files are not reused).
EVAL_RECORD_VERSION = 2


def sample_losses(
    model: Any, samples: Sequence[FusionSample], collator: Any, batch_size: int
) -> tuple[list[float], list[int]]:
    """Per sample, in order: the summed response cross-entropy (nats) and the number of response tokens.

    ``sum(nll) / sum(tokens)`` is :func:`mmdial_fusion.training.validation_loss` (the token-weighted mean of
    :meth:`FusionModel.sample_losses`); the per-sample values are
    what a bootstrap over held-out samples resamples (:mod:`mmdial_fusion.intervals`).
    """
    import torch

    device = next(model.parameters()).device
    model.eval()
    nll: list[float] = []
    tokens: list[int] = []
    with torch.no_grad():
        for start in range(0, len(samples), batch_size):
            batch = {k: v.to(device) for k, v in collator(samples[start : start + batch_size]).items()}
            row_nll, row_tokens = model.sample_losses(**batch)
            nll += [float(x) for x in row_nll]
            tokens += [int(x) for x in row_tokens]
    model.train()
    return nll, tokens


def evaluate_model(
    model: Any,
    tokenizer: Any,
    config: FusionConfig,
    test_samples: Sequence[FusionSample],
    features: ImageFeatureStore | None,
    ablation: str,
    generation: GenerationConfig,
    *,
    seed: int,
) -> dict[str, Any]:
    """``{"responses", "loss", "nll", "tokens"}`` of a loaded fusion model on ``test_samples`` under ``ablation``:
    greedy/beam/sampled responses (``generation``, ``seed``), the token-weighted held-out loss and, per sample,
    the summed response cross-entropy and its token count (for bootstrap intervals)."""
    from mmdial_fusion.generation import generate_responses
    from mmdial_fusion.training import make_collator

    collator = make_collator(config, tokenizer, features, model.is_encoder_decoder, ablation=ablation)
    nll, tokens = sample_losses(model, test_samples, collator, batch_size=generation.batch_size)
    return {
        "responses": generate_responses(model, tokenizer, test_samples, collator, generation, seed=seed),
        "loss": sum(nll) / sum(tokens) if sum(tokens) else float("nan"),
        "nll": nll,
        "tokens": tokens,
    }


def _eval_key(test_samples: Sequence[FusionSample], generation: GenerationConfig, seed: int, *extra: Any) -> str:
    return _digest(
        [EVAL_RECORD_VERSION, [s.sample_id for s in test_samples], dataclasses.asdict(generation), seed, *extra], 12
    )


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
    """The :func:`evaluate_model` record of the checkpoint in ``checkpoint_dir/last`` on ``test_samples`` under
    ``ablation``: read from ``checkpoint_dir/eval-<ablation>-<key>.json`` when an earlier call computed it for
    the same samples and generation settings, else computed (with ``seed``) and stored there.
    ``load``: how to load the checkpoint (default :func:`mmdial_fusion.load_checkpoint`; pass a cached loader to
    evaluate several ablations of one model without reloading it)."""
    folder = Path(checkpoint_dir)
    cached = folder / f"eval-{ablation}-{_eval_key(test_samples, generation, seed)}.json"
    if cached.is_file():
        record: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return record
    from mmdial_fusion.training import load_checkpoint

    model, tokenizer, config = (load or load_checkpoint)(folder / "last")
    record = evaluate_model(model, tokenizer, config, test_samples, features, ablation, generation, seed=seed)
    write_text_atomic(cached, json.dumps(record))
    return record


def evaluate_untrained_cached(
    cache_root: str | os.PathLike[str],
    config: FusionConfig,
    test_samples: Sequence[FusionSample],
    generation: GenerationConfig,
    *,
    seed: int,
) -> dict[str, Any]:
    """The :func:`evaluate_model` record of ``config.backbone`` as it is (no fine-tuning) on ``test_samples``,
    with the text of the same collator settings and no image slots (``text_only``: the zero-initialised modality
    embedding leaves the backbone's inputs unchanged, so this is the plain language model). Cached as
    ``cache_root/untrained-<key>.json``, the key covering the backbone, the data settings, the samples, the
    generation settings and ``seed``."""
    key = _eval_key(test_samples, generation, seed, config.backbone, dataclasses.asdict(config.data))
    cached = Path(cache_root) / f"untrained-{key}.json"
    if cached.is_file():
        record: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
        return record
    from mmdial_fusion.backbones import load_backbone
    from mmdial_fusion.model import FusionModel

    backbone = load_backbone(config.backbone, seed=config.seed)
    model = FusionModel(backbone.model, image_dim=1, layer_norm=config.model.layer_norm)
    record = evaluate_model(model, backbone.tokenizer, config, test_samples, None, "text_only", generation, seed=seed)
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
