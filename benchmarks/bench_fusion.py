"""Benchmark mmdial-fusion: training samples/s and generation tokens/s, visual slots vs text-only, same run.

One command::

    python benchmarks/bench_fusion.py                 # tiny-t5, tiny-gpt2, smollm2-135m-instruct (if installed)
    python benchmarks/bench_fusion.py --backbones tiny-t5 --device cuda --amp bf16

For each backbone the same samples (DailyDialog demo contexts, 5 turn-level + 6 entity-level image slots of
384-d features, the offline encoder's size) are run with all visual slots ("full") and without ("text_only"),
so the ratio is the cost of the visual slots on that backbone. Generation forces a fixed number of new tokens
(``min_new_tokens = max_new_tokens``) so both sides decode the same amount. Both sides are loaded first and timed
in turn, best of ``--repeats`` (a shared machine's load changes only ever slow a run down).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import numpy as np
import torch

from mmdial_data import read_source
from mmdial_data.testing import demo_dir
from mmdial_fusion.backbones import load_backbone
from mmdial_fusion.collate import FusionCollator
from mmdial_fusion.features import ImageFeatureStore
from mmdial_fusion.knowledge import build_samples
from mmdial_fusion.model import FusionModel
from mmdial_fusion.samples import FusionSample, VisualKnowledge

IMAGE_DIM = 384


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
        name: str,
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
        bb = load_backbone(name, seed=0)
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
        }
        for a, r in runners.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default="tiny-t5,tiny-gpt2,smollm2-135m-instruct")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"])
    parser.add_argument("--repeats", type=int, default=3, help="best of N timings")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    torch.manual_seed(0)
    results = []
    for name in [b.strip() for b in args.backbones.split(",") if b.strip()]:
        small = name.startswith("tiny")
        batch_size, steps, new_tokens = (8, 20, 16) if small else (4, 3, 8)
        samples, store = make_samples(batch_size * 4)
        try:
            runners = {
                a: Runner(
                    name,
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
        for a, r in rows.items():
            results.append({"backbone": name, "ablation": a, "device": args.device, "amp": args.amp, **r})
    print(
        f"{'backbone':<24} {'slots':>5} {'train samples/s':>16} {'gen tokens/s':>13}   (device {args.device}, "
        f"amp {args.amp}, torch threads {torch.get_num_threads()})"
    )
    for r in results:
        print(
            f"{r['backbone'] + ' ' + r['ablation']:<24} {r['image_slots_per_sample']:>5} "
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
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
