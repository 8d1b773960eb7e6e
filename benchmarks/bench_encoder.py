"""Quality of the offline image-text encoders on held-out Tux Paint stamps, next to chance.

One command:  python benchmarks/bench_encoder.py [--json] [--encoders offline conse]

The gallery is every captioned Tux Paint stamp (Debian ``tuxpaint-stamps-default``; the pool drops byte-identical
duplicates), the queries their captions; no encoder here was trained on Tux Paint. For each encoder:
text->image R@1/R@5/R@10/MRR (the own image is the target, rank = 1 + images scoring strictly higher), each with a
bootstrap 95% interval over queries (1,000 resamples, seed 0); the same figures for symbol stamps (letters,
digits, money, maths, chess, music: the ``symbols`` folder) and for the rest apart, because glyph images are part
of the trained encoder's training data and symbols are where it gains most; and the embedding geometry: mean
cosine of stamps in the same top-level category folder vs different ones. Chance is printed beside the scores.
The last line with ``--json`` is one JSON object with every figure, the CPU count and the git commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from jsonline import add_json_flag, emit

STAMPS = Path("/usr/share/tuxpaint/stamps")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoders", nargs="+", default=["offline", "conse"])
    ap.add_argument("--stamps", type=Path, default=STAMPS)
    add_json_flag(ap)
    args = ap.parse_args(argv)

    from mmdial_retrieval import EmbeddingCache, ImagePool, embed_pool, get_encoder
    from mmdial_retrieval.evaluate import category_geometry, chance_scores, rank_intervals, retrieval_scores

    with tempfile.TemporaryDirectory() as tmp:
        pool = ImagePool.create(Path(tmp) / "pool")
        pool.add_tuxpaint(args.stamps)
        items = [it for it in pool.items if it.caption]
        top = [it.uri.split("/")[0] for it in items]
        results: dict[str, object] = {}
        for name in args.encoders:
            t0 = time.perf_counter()
            enc = get_encoder(name)
            emb = embed_pool(pool, enc, EmbeddingCache(Path(tmp) / "cache"), num_workers=0, progress=False)
            row = {image_id: i for i, image_id in enumerate(emb.ids)}
            vectors = emb.vectors[[row[it.image_id] for it in items]]
            texts = enc.encode_text([it.caption or "" for it in items])
            ranks = np.asarray(retrieval_scores(texts, vectors, list(range(len(items)))).ranks)
            symbols = np.asarray([t == "symbols" for t in top])
            results[name] = {
                "encoder_id": enc.encoder_id,
                "all": rank_intervals(ranks.tolist()),
                "symbols": {"n": int(symbols.sum()), **rank_intervals(ranks[symbols].tolist())},
                "other": {"n": int((~symbols).sum()), **rank_intervals(ranks[~symbols].tolist())},
                "geometry": category_geometry(vectors, top),
                "seconds": round(time.perf_counter() - t0, 1),
            }
        chance = chance_scores(len(items))

    print(f"Tux Paint stamps: {len(items)} captioned images, {len(set(top))} top-level categories; chance {chance}")
    for name, r in results.items():
        assert isinstance(r, dict)
        cells = "  ".join(
            f"{k.replace('recall_at_', 'R@')} {v['score']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"
            for k, v in r["all"].items()
        )
        g = r["geometry"]
        print(f"{name:8s} {r['encoder_id']}: {cells}")
        print(
            f"{'':8s} R@10 symbols {r['symbols']['recall_at_10']['score']:.3f} (n={r['symbols']['n']}), "
            f"other {r['other']['recall_at_10']['score']:.3f} (n={r['other']['n']}); geometry: within "
            f"{g['within']:.3f}, between {g['between']:.3f}, gap {g['gap']:.3f}"
        )
    emit("encoder", {"images": len(items), "chance": chance, "results": results}, enabled=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
