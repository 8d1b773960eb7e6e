"""Benchmark of IMAD stage 2 (``lm-caption`` VQA with SmolLM2-135M) against the scorer's pure forward pass.

In one run, on the offline preset (DailyDialog samples from ``MMDIAL_SAMPLES``, the Tux Paint stamps pool, the
trained ``offline`` encoder, pool captions, calibrated thresholds):

- stage 1 (features of every candidate utterance of ``--limit`` dialogues), then the threshold decision;
- stage 2's utterances: the replaceable ones, topped up with the other candidates by image score up to
  ``--stage2-utterances`` (the trained offline encoder flags few utterances);
- (a) the scorer's pure forward: ``model(input_ids, attention_mask)`` with full logits over exactly the token
  batches stage 2 scores (the ``prompt + utterance`` rows of every top-N candidate of every stage-2
  utterance, in stage 2's length-sorted batches of ``vqa.batch_size`` rows);
- (a') the same forward with the vocabulary projection only at the scored positions (the model work stage 2
  cannot avoid: :meth:`~mmdial_augment.lmscore.ContinuationScorer.kept_logits`, no log-softmax);
- (b) stage 2 end to end on those utterances: :func:`mmdial_augment.selection.select_images` (file checks,
  tokenization with a cold memo, batching, forward, log-probabilities, argmax);
- "before": the per-utterance implementation stage 2 had before (one right-padded batch per utterance, full
  logits and log-softmax at every position), on the same utterances, with its choices compared to (b)'s;
- the whole pipeline (``AugmentPipeline.run``, no report) on the same dialogues.

    nice -n 5 python benchmarks/bench_stage2.py [--limit 8] [--threads 1] [--no-before] [--json]

Figures are utterances/s (stage 2: its utterances; stage 1 and pipeline: candidate utterances) and the
ratios (b)/(a) and (b)/(a'). ``--threads`` sets torch's intra-op threads for the whole run (default: torch's own).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jsonline import add_json_flag, emit


def old_scores(vqa: Any, utterance: str, pool: Any, rows: list[int]) -> np.ndarray:
    """Stage 2's scores as computed before the batched path (per utterance, right-padded, full logits)."""
    import torch

    tok = vqa.tokenizer
    cont = tok(" " + utterance.strip(), add_special_tokens=False)["input_ids"]
    out = []
    for i in range(0, len(rows), vqa.batch_size):
        prompts = [vqa.prompt(pool.caption(r)) for r in rows[i : i + vqa.batch_size]]
        seqs = [tok(p, add_special_tokens=False)["input_ids"] + cont for p in prompts]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tok.pad_token_id or 0, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        target = torch.zeros((len(seqs), width), dtype=torch.bool)
        for j, s in enumerate(seqs):
            ids[j, : len(s)] = torch.tensor(s)
            attn[j, : len(s)] = 1
            target[j, len(s) - len(cont) : len(s)] = True
        with torch.no_grad():
            logits = vqa.model(input_ids=ids, attention_mask=attn).logits.float()
        logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1))
        mask = target[:, 1:].float()
        out.append(((logp.squeeze(-1) * mask).sum(1) / mask.sum(1)).numpy().astype(np.float64))
    return np.concatenate(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=8, help="DailyDialog validation dialogues")
    ap.add_argument("--stage2-utterances", type=int, default=24, help="replaceable first, then by image score")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--no-before", action="store_true", help="skip the old per-utterance implementation")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-stage2"))
    add_json_flag(ap)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from mmdial_augment.candidates import all_candidates
    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.lmscore import build_batches, pure_forward
    from mmdial_augment.pipeline import AugmentPipeline, load_dialogues
    from mmdial_augment.selection import select_images
    from mmdial_data.testing import samples_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    base = {
        "inputs": [{"reader": "dailydialog", "path": str(samples_dir() / "dailydialog" / "validation")}],
        "pool": {"kind": "tuxpaint", "path": "/usr/share/tuxpaint/stamps"},
        "embedding_cache": str(args.out / "cache"),
        "encoder": "offline",
        "sentence_encoder": "sentence",
        "limit": args.limit,
        "chunk_size": 8,
        "batch_size": 64,
        "vqa": {"backend": "lm-caption", "top_n": 10},
    }

    def config(name: str) -> AugmentConfig:
        return AugmentConfig.from_dict({**base, "output_dir": str(args.out / name)})

    load_avg = [os.getloadavg()[0]]
    t = time.perf_counter()
    warm = AugmentPipeline(config("warm"), progress=False)
    pool, vqa, decision = warm.pool, warm.vqa, warm.decision()
    extractor = warm._extractor()
    extractor(["warm up the encoders"])
    load_s = time.perf_counter() - t
    cands = all_candidates(load_dialogues(warm.config))
    utts = [c.utterance for c in cands]
    threads = torch.get_num_threads()
    say(f"# {args.limit} dialogues, {len(utts)} candidates, load {load_s:.1f} s, torch threads {threads}")

    t = time.perf_counter()
    feats = extractor(utts)
    replaceable = decision.decide(feats.threshold, decision.probabilities(feats.matrix()))
    stage1_s = time.perf_counter() - t
    # the replaceable utterances first, then the others by image score, up to --stage2-utterances
    by_score = sorted(range(len(utts)), key=lambda i: (not replaceable[i], -float(feats.image_score[i]), i))
    idx = np.array(by_score[: args.stage2_utterances], dtype=int)
    hits = pool.search(feats.text_embeddings[idx], k=10)
    requests = [(utts[i], hits.rows[j].tolist(), hits.scores[j].tolist()) for j, i in enumerate(idx)]
    n2 = len(requests)
    n_repl = int(replaceable.sum())
    say(f"stage 1: {len(utts) / stage1_s:.2f} utt/s; stage 2 on {n2} utterances ({n_repl} replaceable)")

    pairs = vqa.token_pairs([(u, rows) for u, rows, _ in requests], pool)
    batches = build_batches(pairs, vqa.batch_size, vqa._pad_id)
    n_real = sum(b.n_tokens for b in batches)
    n_padded = sum(int(b.input_ids.numel()) for b in batches)
    pure_forward(vqa.model, batches[-1:])  # warm-up (one short batch)

    forward_s, kept_s, stage2_s, selections = [], [], [], None
    for _ in range(2):  # alternate (a), (a') and (b), keep the faster of each: the machine is shared
        t = time.perf_counter()
        pure_forward(vqa.model, batches)
        forward_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        for b in batches:
            vqa.scorer.kept_logits(b)
        kept_s.append(time.perf_counter() - t)
        vqa._prompt_memo.clear()  # tokenization is part of stage 2's cost
        t = time.perf_counter()
        selections = select_images(requests, pool, vqa, warm.config.vqa.min_confidence)
        stage2_s.append(time.perf_counter() - t)
        a, a2, b = n2 / forward_s[-1], n2 / kept_s[-1], n2 / stage2_s[-1]
        say(f"(a) forward {a:.3f}, (a') scored logits only {a2:.3f}, (b) stage 2 {b:.3f} utt/s")
    assert selections is not None

    before: dict[str, Any] = {}
    if not args.no_before:
        t = time.perf_counter()
        old = [old_scores(vqa, u, pool, rows) for u, rows, _ in requests]
        before_s = time.perf_counter() - t
        old_choice = [rows[int(np.argmax(s))] for s, (_, rows, _) in zip(old, requests, strict=True)]
        diff = max(float(np.max(np.abs(s - np.array(sel.vqa_scores)))) for s, sel in zip(old, selections, strict=True))
        before = {
            "before_stage2_utt_per_s": round(n2 / before_s, 4),
            "before_stage2_s": round(before_s, 2),
            "same_choices_as_before": old_choice == [s.chosen for s in selections],
            "max_abs_score_diff_vs_before": diff,
            "speedup_vs_before": round(before_s / min(stage2_s), 2),
        }
        say(f"before: {n2 / before_s:.3f} utt/s; same choices {before['same_choices_as_before']}, max diff {diff:.2e}")

    shutil.rmtree(args.out / "e2e", ignore_errors=True)
    comps = {"encoder": warm.encoder, "sentence_encoder": warm.sentence_encoder, "pool": pool, "vqa": vqa}
    p = AugmentPipeline(config("e2e"), captioner=warm.captioner, nouns=warm.nouns, progress=False, **comps)
    t = time.perf_counter()
    result = p.run(report=False)
    e2e_s = time.perf_counter() - t
    load_avg.append(os.getloadavg()[0])
    fwd, kept, st2 = min(forward_s), min(kept_s), min(stage2_s)
    figures = {
        "model": vqa.model_name,
        "dtype": str(next(vqa.model.parameters()).dtype),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1min": load_avg,
        "dialogues": args.limit,
        "candidates": len(utts),
        "stage2_utterances": n2,
        "replaceable": n_repl,
        "stage2_sequences": len(pairs),
        "batches": len(batches),
        "batch_size": vqa.batch_size,
        "tokens": n_real,
        "padded_tokens": n_padded,
        "logits_sliced": vqa.scorer.sliced_logits,
        "stage1_utt_per_s": round(len(utts) / stage1_s, 3),
        "forward_utt_per_s": round(n2 / fwd, 4),
        "forward_tokens_per_s": round(n_real / fwd, 1),
        "forward_scored_logits_utt_per_s": round(n2 / kept, 4),
        "stage2_utt_per_s": round(n2 / st2, 4),
        "stage2_over_forward": round(fwd / st2, 3),
        "stage2_over_forward_scored_logits": round(kept / st2, 3),
        "forward_s": [round(x, 2) for x in forward_s],
        "forward_scored_logits_s": [round(x, 2) for x in kept_s],
        "stage2_s": [round(x, 2) for x in stage2_s],
        **before,
        "pipeline_utt_per_s": round(len(utts) / e2e_s, 3),
        "pipeline_s": round(e2e_s, 2),
        "pipeline_replaced": result.n_replaced,
        "pipeline_replaceable": result.n_replaceable,
        "load_s": round(load_s, 1),
    }
    say(
        f"stage 2 / pure forward = {figures['stage2_over_forward']}; pipeline {figures['pipeline_utt_per_s']} utt/s "
        f"({result.n_replaced}/{result.n_replaceable} replaced of {len(utts)})"
    )
    emit("stage2", figures, enabled=args.json)


if __name__ == "__main__":
    main()
