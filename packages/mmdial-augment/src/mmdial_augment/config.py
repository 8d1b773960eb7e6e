"""The run configuration (``mmdial augment run CONFIG.yaml``): dataclasses validated from YAML/JSON.

Unknown keys are errors with a "did you mean" hint; every field has a research default (IMAD's values).

Example:
    >>> cfg = AugmentConfig.from_dict({
    ...     "inputs": [{"reader": "dailydialog", "path": "dd/validation"}],
    ...     "pool": {"path": "/usr/share/tuxpaint/stamps", "kind": "tuxpaint"},
    ...     "vqa": {"backend": "lm-caption", "top_n": 5},
    ... })
    >>> cfg.vqa.top_n, cfg.vqa.question
    (5, 'What phrase can describe this picture?')
    >>> cfg.decision.rule, cfg.decision.cutoff_value()
    ('threshold', None)
    >>> AugmentConfig.from_dict({"inputs": [], "pool": {"path": "p"}, "vqa": {"top_m": 3}})
    Traceback (most recent call last):
    ...
    ValueError: config.vqa: unknown key 'top_m'; did you mean 'top_n'?
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.config_loader import from_mapping

#: IMAD's classifier probability cutoffs: preset number -> probability (8 keeps the most utterances).
CUTOFF_PRESETS: dict[int, float] = {
    8: 0.027817989779176946,
    7: 0.050168573450116334,
    6: 0.07258147026428512,
    5: 0.12009801234825425,
    4: 0.18145667982860553,
    3: 0.26931306865778737,
    2: 0.404215777212629,
    1: 0.5508405776200066,
}

#: The question IMAD asks the VQA model about every candidate image.
VQA_QUESTION = "What phrase can describe this picture?"


@dataclass
class InputSpec:
    """One input: a source read with a registered reader (``reader`` + ``path``), or a unified dataset
    (``unified``: a Parquet or JSONL file, or the Parquet shard folder written by ``mmdial build``, read with
    ``mmdial_data.read_dialogues``)."""

    reader: str | None = None
    path: str = ""
    split: str | None = None
    unified: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if (self.reader is None) == (self.unified is None):
            raise ValueError(f"{where}: give exactly one of 'reader' (with 'path') or 'unified'")
        if self.reader is not None and not self.path:
            raise ValueError(f"{where}: 'reader' needs a 'path'")


@dataclass
class PoolSpec:
    """The image pool: an ``mmdial_retrieval`` pool folder (``kind: pool``) or a source folder indexed into
    ``<output_dir>/pool`` (``kind``: a source format of ``mmdial_retrieval.pool_sources``: ``tuxpaint``,
    ``folder``, ``captions``, ``coco`` or one registered there), and what to do with images that vanished since
    indexing (``skip`` or ``raise``)."""

    path: str = ""
    kind: str = "pool"
    source: str | None = None
    on_missing: str = "skip"

    def validate(self, where: str) -> None:
        if not self.path:
            raise ValueError(f"{where}.path: the image pool folder is required")
        from mmdial_retrieval.pool_sources import list_pool_sources

        kinds = ["pool", *list_pool_sources()]
        if self.kind not in kinds:
            raise ValueError(f"{where}.kind must be one of {', '.join(kinds)}, got {self.kind!r}")
        if self.on_missing not in ("skip", "raise"):
            raise ValueError(f"{where}.on_missing must be 'skip' or 'raise', got {self.on_missing!r}")


@dataclass
class CaptionerSpec:
    """Captions of top-1 images for ``sent_sim``/``bleu``: ``pool-caption`` or ``vision-encoder-decoder``."""

    backend: str = "pool-caption"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DecisionSpec:
    """Stage-1 decision: IMAD's ``threshold`` rule, or a ``classifier`` (JSON file) with a probability cutoff
    (a preset number 1-8 from :data:`CUTOFF_PRESETS`, or a probability)."""

    rule: str = "threshold"
    classifier: str | None = None
    cutoff: float | int = 8

    def validate(self, where: str) -> None:
        if self.rule not in ("threshold", "classifier"):
            raise ValueError(f"{where}.rule must be 'threshold' or 'classifier', got {self.rule!r}")
        if self.rule == "classifier" and not self.classifier:
            raise ValueError(f"{where}: rule 'classifier' needs 'classifier: <model.json>'")
        self.cutoff_value()

    def cutoff_value(self) -> float | None:
        """The probability cutoff (None for the threshold rule)."""
        if self.rule != "classifier":
            return None
        return resolve_cutoff(self.cutoff)


def resolve_cutoff(cutoff: float | int) -> float:
    """A preset number (int 1-8) or a probability in [0, 1] -> the probability.

    >>> resolve_cutoff(8), resolve_cutoff(0.5)
    (0.027817989779176946, 0.5)
    """
    if isinstance(cutoff, bool):
        raise ValueError(f"cutoff must be a preset 1-8 or a probability, got {cutoff!r}")
    if isinstance(cutoff, int):
        if cutoff not in CUTOFF_PRESETS:
            raise ValueError(f"cutoff preset must be one of {sorted(CUTOFF_PRESETS)}, got {cutoff}")
        return CUTOFF_PRESETS[cutoff]
    value = float(cutoff)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"cutoff probability must lie in [0, 1], got {value}")
    return value


@dataclass
class VQASpec:
    """Stage 2: ``backend`` (``blip`` or ``lm-caption``) scores the ``top_n`` retrieved images per utterance."""

    backend: str = "lm-caption"
    top_n: int = 10
    question: str = VQA_QUESTION
    min_confidence: float | None = None
    batch_size: int = 10
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        if self.top_n < 1:
            raise ValueError(f"{where}.top_n must be >= 1, got {self.top_n}")
        if self.batch_size < 1:
            raise ValueError(f"{where}.batch_size must be >= 1, got {self.batch_size}")


@dataclass
class AugmentConfig:
    """Everything a run depends on. ``thresholds`` overrides the encoder's IMAD thresholds
    (keys ``max_entity_score``, ``image_score``, ``sent_sim``). ``embedding_cache`` is the folder of an
    ``mmdial_retrieval.EmbeddingCache`` for the pool's image embeddings (default ``<output_dir>/cache``); point
    it at a shared cache (e.g. notebook 02's ``<cache_dir>/embeddings``) to reuse embeddings made elsewhere.
    Cached vectors are keyed by encoder id and image hash, so the folder does not change results and is not
    part of :meth:`fingerprint`. ``engine`` says where the pool is embedded and the chunks are scored (stage 1,
    decision, stage 2): ``local`` (this process) or ``ray`` (Ray Data actor pools, ``pip install
    "mmdial-augment[ray]"``), with ``engine_options`` for it (``{"workers": 8, "address": "auto"}``); the engine
    does not change results either, so it is not part of :meth:`fingerprint`."""

    inputs: list[InputSpec] = field(default_factory=list)
    pool: PoolSpec = field(default_factory=PoolSpec)
    output_dir: str = "augment-run"
    embedding_cache: str | None = None
    encoder: str = "offline"
    sentence_encoder: str = "sentence"
    thresholds: dict[str, float] | None = None
    min_words: int = 0
    max_words: int | None = None
    captioner: CaptionerSpec = field(default_factory=CaptionerSpec)
    decision: DecisionSpec = field(default_factory=DecisionSpec)
    vqa: VQASpec = field(default_factory=VQASpec)
    batch_size: int = 64
    chunk_size: int = 50
    limit: int | None = None
    seed: int = 0
    report_examples: int = 24
    engine: str = "local"
    engine_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        """Validate and build from a plain mapping (as loaded from YAML)."""
        if not isinstance(data, dict):
            raise ValueError(f"config must be a mapping, got {type(data).__name__}")
        cfg = from_mapping(cls, data, "config")
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check values (raises ValueError naming the field)."""
        for i, spec in enumerate(self.inputs):
            spec.validate(f"config.inputs[{i}]")
        self.pool.validate("config.pool")
        self.decision.validate("config.decision")
        self.vqa.validate("config.vqa")
        if self.thresholds is not None:
            _check_thresholds(self.thresholds, "config.thresholds")
        for name in ("batch_size", "chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"config.{name} must be >= 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"config.limit must be >= 0, got {self.limit}")
        from mmdial_data.engines import ENGINES

        if self.engine not in ENGINES:
            try:
                ENGINES.get(self.engine)
            except KeyError as exc:
                raise ValueError(f"config.engine: {exc}") from None
        if not isinstance(self.engine_options, dict):
            raise ValueError(f"config.engine_options must be a mapping, got {type(self.engine_options).__name__}")
        if self.engine_options and self.engine == "local":
            raise ValueError("config.engine_options need an engine other than 'local'")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able mapping (round-trips through :meth:`from_dict`)."""
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Hash of everything that changes results (not ``output_dir``, ``embedding_cache``,
        ``report_examples``, ``engine``, ``engine_options``): resume checks it, so a run can be resumed on
        another engine.

        >>> a = AugmentConfig.from_dict({"pool": {"path": "p"}, "embedding_cache": "shared/embeddings"})
        >>> a.fingerprint() == AugmentConfig.from_dict({"pool": {"path": "p"}}).fingerprint()
        True
        """
        d = self.to_dict()
        for k in ("output_dir", "embedding_cache", "report_examples", "engine", "engine_options"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


THRESHOLD_KEYS = ("max_entity_score", "image_score", "sent_sim")


def _check_thresholds(values: dict[str, float], where: str) -> None:
    missing = [k for k in THRESHOLD_KEYS if k not in values]
    extra = [k for k in values if k not in THRESHOLD_KEYS]
    if missing or extra:
        raise ValueError(f"{where} needs exactly {list(THRESHOLD_KEYS)} (missing {missing}, unknown {extra})")


def load_config(path: str | Path, **overrides: Any) -> AugmentConfig:
    """Read a YAML/JSON config; relative input, pool, output and cache paths resolve against the file's folder.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Invalid config (the message names the file and the field).
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: config must be a mapping")
    data.update({k: v for k, v in overrides.items() if v is not None})
    base = path.parent
    for spec in data.get("inputs") or []:
        if isinstance(spec, dict):
            for key in ("path", "unified"):
                if spec.get(key):
                    spec[key] = str(_resolve(base, spec[key]))
    if isinstance(data.get("pool"), dict) and data["pool"].get("path"):
        data["pool"]["path"] = str(_resolve(base, data["pool"]["path"]))
    for key in ("output_dir", "embedding_cache"):
        if data.get(key):
            data[key] = str(_resolve(base, data[key]))
    dec = data.get("decision")
    if isinstance(dec, dict) and dec.get("classifier"):
        dec["classifier"] = str(_resolve(base, dec["classifier"]))
    try:
        return AugmentConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def _resolve(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)
