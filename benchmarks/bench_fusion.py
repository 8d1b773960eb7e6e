"""Benchmark mmdial-fusion: training samples/s and generation tokens/s, visual slots vs text-only, same run.

One command::

    python benchmarks/bench_fusion.py                 # tiny-t5, tiny-gpt2, smollm2-135m-instruct (if installed)
    python benchmarks/bench_fusion.py --backbones tiny-t5 --device cuda --amp bf16
    python benchmarks/bench_fusion.py --random-init --device cuda --amp bf16   # SmolLM2 shape, no weights needed

For each backbone the same samples (DailyDialog demo contexts, 5 turn-level + 6 entity-level image slots of
384-d features, the offline encoder's size) are run with all visual slots ("full") and without ("text_only"),
so the ratio is the cost of the visual slots on that backbone. Generation forces a fixed number of new tokens
(``min_new_tokens = max_new_tokens``) so both sides decode the same amount. Both sides are loaded first and timed
in turn, best of ``--repeats`` (a shared machine's load changes only ever slow a run down).

``--random-init`` times ``smollm2-135m-instruct`` without its weights: the SmolLM2-135M architecture is built
from :data:`SMOLLM2_135M_CONFIG` (below, in this file) with random weights, which is fair for speed (no kernel's
cost depends on the weight values) but says nothing about the outputs; generation still decodes exactly
``new_tokens`` tokens. It is meant for machines without the converted checkpoint (``~/.cache/mmdial``, 0.5 GB),
such as a lent GPU machine. The tokenizer, which sets the sequence lengths, is the SmolLM2 one read from
``--tokenizer DIR`` (a folder with ``tokenizer.json``, e.g. the converted checkpoint's, about 3.5 MB), else from
the converted checkpoint's folder if present, else the tiny byte-level one (about 1.6x longer contexts on
these samples); the output names the tokenizer used and the mean context length.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from jsonline import add_json_flag, emit

from mmdial_data import read_source
from mmdial_data.testing import demo_dir
from mmdial_fusion.backbones import Backbone, cache_root, load_backbone, tiny_tokenizer
from mmdial_fusion.collate import FusionCollator
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import build_samples
from mmdial_fusion.model import FusionModel
from mmdial_fusion.samples import FusionSample, VisualKnowledge

IMAGE_DIM = 384

#: SmolLM2-135M-Instruct's architecture, copied from the ``config.json`` that
#: ``mmdial_fusion.backbones.smollm2_checkpoint`` writes (transformers ``LlamaConfig`` fields); used by
#: ``--random-init``.
SMOLLM2_135M_CONFIG: dict[str, object] = {
    "vocab_size": 49152,
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "hidden_act": "silu",
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"},
    "tie_word_embeddings": True,
    "attention_bias": False,
    "mlp_bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}


def random_smollm2(tokenizer_dir: str | None, seed: int = 0) -> tuple[Backbone, str]:
    """SmolLM2-135M with random weights (:data:`SMOLLM2_135M_CONFIG`) and the tokenizer described in the module doc.

    Returns the backbone and the tokenizer's description.
    """
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = Path(tokenizer_dir) if tokenizer_dir else cache_root() / "smollm2-135m-instruct"
    if (folder / "tokenizer.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        described = f"SmolLM2 ({folder})"
    elif tokenizer_dir:
        raise FileNotFoundError(f"{folder}: no tokenizer.json")
    else:
        tokenizer, described = tiny_tokenizer(), "tiny byte-level BPE (no SmolLM2 tokenizer found)"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    torch.manual_seed(seed)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M_CONFIG))  # type: ignore[arg-type]
    model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
    return Backbone(model, tokenizer, False), described


def make_samples(n: int) -> tuple[list[FusionSample], ImageFeatureStore]:
    base = list(build_samples(read_source("dailydialog", demo_dir() / "dailydialog")))
    rng = np.random.default_rng(0)
    store = ImageFeatureStore([f"img{i}" for i in range(64)], rng.standard_normal((64, IMAGE_DIM)))
    out = []
    for i in range(n):
        s = base[i % len(base)]
        turn = [VisualKnowledge(f"img{(i + j) % 64}", "turn") for j in range(5)]
        ent = [VisualKnowledge(f"img{(i + 7 + j) % 64}", "entity", entity="x") for j in range(6)]
        out.append(
            FusionSample(
                f"{s.sample_id}/{i}", s.dialogue_id, s.context, s.context_turns, s.response, s.response_index, turn, ent
            )
        )
    return out, store


class Runner:
    """One backbone + fusion head + collated batches for one ablation, with timed train and generate calls."""

    def __init__(
        self,
        load: Callable[[], Backbone],
        ablation: str,
        samples: list[FusionSample],
        store: ImageFeatureStore,
        *,
        device: str,
        amp: str,
        batch_size: int,
        train_steps: int,
        new_tokens: int,
    ) -> None:
        bb = load()
        self.model = FusionModel(bb.model, IMAGE_DIM).to(device)
        collate = FusionCollator(
            bb.tokenizer, store if ablation != "text_only" else None, bb.is_encoder_decoder, ablation=ablation
        )
        self.autocast: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if device.startswith("cuda") and amp != "off":
            self.autocast = torch.autocast("cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
        batches = [collate(samples[i : i + batch_size]) for i in range(0, len(samples), batch_size)]
        self.batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-5)
        self.sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        self.batch_size, self.train_steps = batch_size, train_steps
        self.gen_kwargs = dict(
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=bb.tokenizer.pad_token_id,
            eos_token_id=bb.tokenizer.eos_token_id,
        )
        b0 = self.batches[0]
        self.slots = int(b0["image_mask"].sum() / batch_size) if "image_mask" in b0 else 0
        self.context_tokens = float(
            np.mean([b["attention_mask"].sum().item() / len(b["attention_mask"]) for b in batches])
        )
        self._step(b0)  # warm-up
        self.generate()

    def _step(self, b: dict[str, torch.Tensor]) -> None:
        self.model.train()
        self.opt.zero_grad()
        with self.autocast:
            loss = self.model(**b).loss
        loss.backward()
        self.opt.step()

    def train_seconds(self) -> float:
        self.sync()
        t = time.perf_counter()
        for i in range(self.train_steps):
            self._step(self.batches[i % len(self.batches)])
        self.sync()
        return time.perf_counter() - t

    def generate(self) -> tuple[float, int]:
        """Seconds and number of generated tokens for the first batch."""
        self.model.eval()
        gen = {k: v for k, v in self.batches[0].items() if k != "labels"}
        self.sync()
        t = time.perf_counter()
        with torch.no_grad(), self.autocast:
            out = self.model.generate(**gen, **self.gen_kwargs)
        self.sync()
        return time.perf_counter() - t, out.numel()


def bench(runners: dict[str, Runner], repeats: int) -> dict[str, dict[str, float]]:
    """Time every ablation's training and generation, interleaved, best of ``repeats`` each.

    Interleaving keeps a shared machine's load changes from favouring one side.
    """
    train = dict.fromkeys(runners, float("inf"))
    gen = dict.fromkeys(runners, float("inf"))
    tokens = dict.fromkeys(runners, 0)
    for _ in range(repeats):
        for a, r in runners.items():
            train[a] = min(train[a], r.train_seconds())
            seconds, tokens[a] = r.generate()
            gen[a] = min(gen[a], seconds)
    return {
        a: {
            "train_samples_per_s": r.train_steps * r.batch_size / train[a],
            "gen_tokens_per_s": tokens[a] / gen[a],
            "image_slots_per_sample": r.slots,
            "mean_context_tokens": r.context_tokens,
        }
        for a, r in runners.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default="tiny-t5,tiny-gpt2,smollm2-135m-instruct")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"])
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="smollm2-135m-instruct: the architecture with random weights, no checkpoint needed (module doc)",
    )
    parser.add_argument("--tokenizer", default=None, help="--random-init: folder with SmolLM2's tokenizer.json")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8 for tiny backbones, else 4")
    parser.add_argument("--train-steps", type=int, default=None, help="timed steps; default: 20 tiny, else 3")
    parser.add_argument("--new-tokens", type=int, default=None, help="generated tokens; default: 16 tiny, else 8")
    parser.add_argument("--out", default=None, help="also write the results here (JSON)")
    add_json_flag(parser)
    args = parser.parse_args()
    torch.manual_seed(0)
    results = []
    for name in [b.strip() for b in args.backbones.split(",") if b.strip()]:
        small = name.startswith("tiny")
        batch_size, steps, new_tokens = (8, 20, 16) if small else (4, 3, 8)
        batch_size = args.batch_size or batch_size
        steps = args.train_steps or steps
        new_tokens = args.new_tokens or new_tokens
        samples, store = make_samples(batch_size * 4)
        random_init = args.random_init and name == "smollm2-135m-instruct"
        tokenizers: list[str] = []

        def load(name: str = name, random_init: bool = random_init, tokenizers: list[str] = tokenizers) -> Backbone:
            if not random_init:
                return load_backbone(name, seed=0)
            bb, described = random_smollm2(args.tokenizer)
            tokenizers.append(described)
            return bb

        try:
            runners = {
                a: Runner(
                    load,
                    a,
                    samples,
                    store,
                    device=args.device,
                    amp=args.amp,
                    batch_size=batch_size,
                    train_steps=steps,
                    new_tokens=new_tokens,
                )
                for a in ("text_only", "full")
            }
            rows = bench(runners, args.repeats)
            del runners
        except ModuleNotFoundError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        label = f"{name} (random init)" if random_init else name
        if tokenizers:
            print(f"{label}: tokenizer {tokenizers[0]}")
        for a, r in rows.items():
            results.append(
                {
                    "backbone": label,
                    "ablation": a,
                    "device": args.device,
                    "amp": args.amp,
                    "batch_size": batch_size,
                    "train_steps": steps,
                    "new_tokens": new_tokens,
                    "torch_threads": torch.get_num_threads(),
                    **({"tokenizer": tokenizers[0]} if tokenizers else {}),
                    **r,
                }
            )
    print(
        f"{'backbone':<44} {'slots':>5} {'ctx tokens':>10} {'train samples/s':>16} {'gen tokens/s':>13}   "
        f"(device {args.device}, amp {args.amp}, torch threads {torch.get_num_threads()})"
    )
    for r in results:
        print(
            f"{r['backbone'] + ' ' + r['ablation']:<44} {r['image_slots_per_sample']:>5} "
            f"{r['mean_context_tokens']:>10.1f} "
            f"{r['train_samples_per_s']:>16.2f} {r['gen_tokens_per_s']:>13.1f}"
        )
    for name in dict.fromkeys(r["backbone"] for r in results):
        text, full = (
            next(r for r in results if r["backbone"] == name and r["ablation"] == a) for a in ("text_only", "full")
        )
        print(
            f"{name}: visual slots cost x{text['train_samples_per_s'] / full['train_samples_per_s']:.2f} "
            f"training time, x{text['gen_tokens_per_s'] / full['gen_tokens_per_s']:.2f} generation time"
        )
    record = emit("fusion", {"results": results}, enabled=args.json)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2)


if __name__ == "__main__":
    main()
