"""Speed of mmdial-metrics against the reference implementations, on the same pairs, in one run.

    python benchmarks/bench_metrics.py --pairs 100000

Pairs: real dialogue responses from the dataset samples (MMDIAL_SAMPLES) as references, perturbed
copies (shuffled, truncated, a word replaced) as hypotheses. Each row times the reference and ours once,
checks the numbers agree (|diff| <= 1e-9) and prints the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import time
import warnings
from collections.abc import Callable
from typing import Any

from jsonline import add_json_flag, emit


def load_pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    from mmdial_data import read_source
    from mmdial_data.testing import samples_dir

    texts = [t.text for d in read_source("sgd", samples_dir("schema_guided_dialogue") / "train") for t in d.turns]
    texts += [t.text for d in read_source("dailydialog", samples_dir("dailydialog") / "validation") for t in d.turns]
    texts += [
        t.text for d in read_source("personachat", samples_dir("convai2_personachat") / "ConvAI2") for t in d.turns
    ]
    texts = [t for t in texts if t.strip()]
    rng = random.Random(seed)
    refs = [rng.choice(texts) for _ in range(n)]
    hyps = []
    vocab = [w for t in texts[:2000] for w in t.split()]
    for r in refs:
        words = r.split()
        if rng.random() < 0.5:
            rng.shuffle(words)
        if words and rng.random() < 0.7:
            words[rng.randrange(len(words))] = rng.choice(vocab)
        hyps.append(" ".join(words[: max(1, len(words) - rng.randint(0, 3))]))
    return hyps, refs


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument(
        "--sentence-pairs", type=int, default=None, help="pairs for sentence BLEU vs nltk (default: --pairs)"
    )
    add_json_flag(parser)
    args = parser.parse_args()
    hyps, refs = load_pairs(args.pairs)
    refs1 = [[r] for r in refs]
    rows = []

    # Imports stay outside the timed calls on both sides: sacrebleu here, the other references before their rows;
    # mmdial_metrics imports numpy, its metric modules and (when installed) polars lazily, so here.
    import importlib.util

    import numpy  # noqa: F401
    import sacrebleu

    import mmdial_metrics as mm
    import mmdial_metrics.bleu_coco
    import mmdial_metrics.bleu_nltk
    import mmdial_metrics.bleu_sacrebleu
    import mmdial_metrics.cider_scores
    import mmdial_metrics.diversity
    import mmdial_metrics.rouge_scores

    if importlib.util.find_spec("polars") is not None:
        import polars  # noqa: F401

    ref, t_ref = timed(lambda: sacrebleu.corpus_bleu(hyps, [refs], force=True).score)
    ours, t_ours = timed(lambda: mm.bleu(hyps, refs1).score)
    rows.append(("corpus BLEU", "sacrebleu.corpus_bleu", ref, ours, t_ref, t_ours))

    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    ns = args.sentence_pairs or args.pairs
    sf = SmoothingFunction().method1

    def nltk_sent() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pairs = zip(hyps[:ns], refs[:ns], strict=True)
            vals = [sentence_bleu([r.split()], h.split(), smoothing_function=sf) for h, r in pairs]
        return sum(vals) / len(vals)

    ref, t_ref = timed(nltk_sent)
    ours, t_ours = timed(lambda: mm.nltk_sentence_bleu(hyps[:ns], refs1[:ns], smoothing=1).score)
    rows.append((f"sentence BLEU ({ns} pairs)", "nltk.sentence_bleu method1", ref, ours, t_ref, t_ours))

    from rouge_score import rouge_scorer

    def rouge_ref() -> float:
        sc = rouge_scorer.RougeScorer(["rougeL"])
        vals = [sc.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)]
        return sum(vals) / len(vals)

    ref, t_ref = timed(rouge_ref)
    ours, t_ours = timed(lambda: mm.rouge(hyps, refs1, rouge_type="rougeL").score)
    rows.append(("ROUGE-L", "rouge_score.RougeScorer", ref, ours, t_ref, t_ours))

    from pycocoevalcap.cider.cider import Cider

    def cider_ref() -> float:
        with contextlib.redirect_stdout(io.StringIO()):
            s, _ = Cider().compute_score({i: [r] for i, r in enumerate(refs)}, {i: [h] for i, h in enumerate(hyps)})
        return float(s)

    ref, t_ref = timed(cider_ref)
    ours, t_ours = timed(lambda: mm.cider_d(hyps, refs1).score)
    rows.append(("CIDEr-D", "pycocoevalcap.Cider", ref, ours, t_ref, t_ours))

    def distinct_ref() -> float:
        grams: set[tuple[str, ...]] = set()
        total = 0
        for h in hyps:
            t = h.split()
            g = [tuple(t[i : i + 2]) for i in range(len(t) - 1)]
            grams.update(g)
            total += len(g)
        return len(grams) / total

    ref, t_ref = timed(distinct_ref)
    ours, t_ours = timed(lambda: mm.distinct(hyps, n=2).score)
    rows.append(("Distinct-2", "plain Python set loop", ref, ours, t_ref, t_ours))

    print(f"{args.pairs} pairs (sentence BLEU: {ns})\n")
    print("| metric | reference | reference s | mmdial s | speed-up | numbers agree |")
    print("|---|---|---:|---:|---:|---|")
    for name, refname, r, o, tr, to in rows:
        agree = "yes" if abs(r - o) <= 1e-9 else f"NO ({r} vs {o})"
        print(f"| {name} | {refname} | {tr:.2f} | {to:.2f} | {tr / to:.1f}x | {agree} |")
    figures = {
        "pairs": args.pairs,
        "sentence_pairs": ns,
        "rows": [
            {
                "metric": name,
                "reference": refname,
                "reference_s": tr,
                "mmdial_s": to,
                "speedup": tr / to,
                "reference_score": r,
                "mmdial_score": o,
                "agree": abs(r - o) <= 1e-9,
            }
            for name, refname, r, o, tr, to in rows
        ],
    }
    emit("metrics", figures, enabled=args.json)


if __name__ == "__main__":
    main()
