"""Experiment configuration: YAML -> validated dataclasses (unknown keys are errors with a suggestion).

Relative paths in a config file are resolved against the file's folder.

Example:
    >>> cfg = FusionConfig.from_dict({"backbone": "tiny-t5", "train": {"batch_size": 4, "lr": 1e-3}})
    >>> cfg.train.batch_size, cfg.data.ablation, cfg.generation.strategy
    (4, 'full', 'greedy')
    >>> FusionConfig.from_dict({"trian": {}})
    Traceback (most recent call last):
    ...
    ValueError: config: unknown key 'trian'; did you mean 'train'?
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.config_loader import from_mapping
from mmdial_fusion.collate import ABLATIONS

GENERATION_STRATEGIES = ("greedy", "beam", "sample")


@dataclass
class DataConfig:
    """Samples, image features and how they are collated."""

    train: str | None = None
    validation: str | None = None
    test: str | None = None
    features: str | None = None
    ablation: str = "full"
    max_context_tokens: int = 256
    max_response_tokens: int = 64
    max_turn_images: int = 5
    max_entity_images: int = 6
    add_captions: bool = False
    add_entities: bool = False
    separator: str | None = None


@dataclass
class ModelConfig:
    """Fusion head settings."""

    layer_norm: bool = False


@dataclass
class TrainConfig:
    """The training loop."""

    output_dir: str = "runs/fusion"
    epochs: int = 3
    max_steps: int | None = None
    batch_size: int = 8
    eval_batch_size: int = 16
    grad_accum: int = 1
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    amp: str = "auto"
    eval_every: int | None = None
    early_stopping_patience: int | None = 3
    metric: str = "loss"
    eval_generation_samples: int = 64
    resume: bool = True
    keep_final_trainer_state: bool = True
    log_every: int = 10


@dataclass
class GenerationConfig:
    """Decoding."""

    strategy: str = "greedy"
    max_new_tokens: int = 32
    num_beams: int = 4
    top_k: int = 0
    top_p: float = 1.0
    temperature: float = 1.0
    batch_size: int = 16

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``generate`` for this strategy."""
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens}
        if self.strategy == "greedy":
            kwargs.update(do_sample=False, num_beams=1)
        elif self.strategy == "beam":
            kwargs.update(do_sample=False, num_beams=self.num_beams, early_stopping=True)
        else:
            kwargs.update(do_sample=True, num_beams=1, top_k=self.top_k, top_p=self.top_p, temperature=self.temperature)
        return kwargs


@dataclass
class FusionConfig:
    """A whole experiment."""

    backbone: str = "tiny-t5"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, base_dir: str | os.PathLike[str] | None = None) -> FusionConfig:
        """Validate a plain dict; relative paths are resolved against ``base_dir`` when given."""
        cfg = from_mapping(cls, raw, "config")
        cfg.validate()
        if base_dir is not None:
            cfg.resolve_paths(Path(base_dir))
        return cfg

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> FusionConfig:
        """Read a YAML config file."""
        import yaml

        path = Path(path)
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a config must be a YAML mapping")
        try:
            return cls.from_dict(raw, base_dir=path.parent)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON ready)."""
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Check values that the types alone do not."""
        if self.data.ablation not in ABLATIONS:
            raise ValueError(f"data.ablation: {self.data.ablation!r} is not one of {sorted(ABLATIONS)}")
        if self.generation.strategy not in GENERATION_STRATEGIES:
            raise ValueError(f"generation.strategy: {self.generation.strategy!r} not in {GENERATION_STRATEGIES}")
        if self.train.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"train.amp: {self.train.amp!r} not in ('auto', 'off', 'bf16', 'fp16')")
        for name in ("batch_size", "grad_accum", "epochs", "eval_batch_size"):
            if getattr(self.train, name) < 1:
                raise ValueError(f"train.{name} must be >= 1")
        if not 0.0 <= self.train.warmup_ratio < 1.0:
            raise ValueError("train.warmup_ratio must be in [0, 1)")

    def resolve_paths(self, base: Path) -> None:
        """Make relative data paths and the output folder absolute against ``base``."""
        for name in ("train", "validation", "test", "features"):
            value = getattr(self.data, name)
            if value is not None and not Path(value).is_absolute():
                setattr(self.data, name, str(base / value))
        if not Path(self.train.output_dir).is_absolute():
            self.train.output_dir = str(base / self.train.output_dir)
        if Path(self.backbone).suffix == "" and (base / self.backbone).is_dir():
            self.backbone = str(base / self.backbone)
