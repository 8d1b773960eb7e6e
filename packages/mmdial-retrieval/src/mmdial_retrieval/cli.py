"""``mmdial retrieval ...``: pools, embedding, indexing, search, evaluation, projection training.

Registered through the ``mmdial.cli`` entry point, so the commands exist exactly when this package is
installed. Embeddings are cached in ``<pool>/embeddings`` unless ``--cache`` says otherwise.

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser(prog="mmdial").add_subparsers()
    >>> register(sub)
    >>> sorted(sub.choices["retrieval"]._subparsers._group_actions[0].choices)
    ['embed', 'eval', 'fit-projection', 'index', 'pool', 'search', 'train-encoder']
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``retrieval`` command (with nested sub-commands) to the ``mmdial`` parser."""
    from mmdial_data.cli import add_engine_arguments

    top = subparsers.add_parser("retrieval", help="image pools, dual encoders, embedding cache, faiss search")
    sub = top.add_subparsers(dest="retrieval_command", metavar="COMMAND")
    top.set_defaults(handler=lambda args: (top.print_help(), 2)[1])

    pool = sub.add_parser("pool", help="create and inspect image pools")
    pool_sub = pool.add_subparsers(dest="pool_command", metavar="COMMAND")
    pool.set_defaults(handler=lambda args: (pool.print_help(), 2)[1])
    p = pool_sub.add_parser("add", help="add images (folder, captions CSV/JSONL, COCO, tuxpaint) to a pool")
    p.add_argument("pool", type=Path, help="pool folder (created if absent)")
    p.add_argument("source", type=Path, nargs="?", help="folder, captions file or COCO json (tuxpaint: stamps dir)")
    p.add_argument("--format", choices=["folder", "captions", "coco", "tuxpaint"], default="folder")
    p.add_argument("--name", default=None, help="source (root) name; default from the path")
    p.add_argument("--image-root", type=Path, default=None, help="image folder for captions/COCO files")
    p.set_defaults(handler=_cmd_pool_add)
    p = pool_sub.add_parser("show", help="size, sources and problems of a pool")
    p.add_argument("pool", type=Path)
    p.add_argument("--problems", action="store_true", help="list every problem")
    p.set_defaults(handler=_cmd_pool_show)

    def common(p: argparse.ArgumentParser, encoder: bool = True) -> None:
        p.add_argument("pool", type=Path, help="pool folder")
        if encoder:
            p.add_argument("--encoder", default=None, help="encoder name (default $MMDIAL_ENCODER or 'offline')")
        p.add_argument("--cache", type=Path, default=None, help="embedding cache (default <pool>/embeddings)")
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--shard-size", type=int, default=1024)
        p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default CPUs - 1)")
        p.add_argument(
            "--threads", type=int, default=0, help="decode in N threads instead of worker processes (0: processes)"
        )
        add_engine_arguments(p, "where missing images are embedded")

    p = sub.add_parser("embed", help="embed a pool into the cache (resumable)")
    common(p)
    p.set_defaults(handler=_cmd_embed)
    p = sub.add_parser("index", help="build a faiss index of a pool")
    common(p)
    p.add_argument("--out", type=Path, required=True, help="index folder")
    p.add_argument("--kind", choices=["auto", "flat", "hnsw", "ivfpq"], default="auto")
    p.set_defaults(handler=_cmd_index)
    p = sub.add_parser("search", help="search an index with texts (or images with --images)")
    p.add_argument("index", type=Path)
    p.add_argument("queries", nargs="+")
    p.add_argument("--images", action="store_true", help="queries are image files")
    p.add_argument("--encoder", default=None, help="default: the encoder the index was built with")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_search)
    p = sub.add_parser("eval", help="text->image Recall@1/5/10 and MRR with captions as queries")
    common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_eval)
    p = sub.add_parser("fit-projection", help="train a linear projection for the ConSE encoder on a captioned pool")
    common(p, encoder=False)
    p.add_argument("--out", type=Path, required=True, help="projection file (.npz)")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=_cmd_fit_projection)
    p = sub.add_parser(
        "train-encoder",
        help="train the offline encoder on openclipart, emoji, font glyphs (Debian packages) and easy-vqa's "
        "train split (PyPI); no Tux Paint",
    )
    p.add_argument("--out", type=Path, required=True, help="weights file (.npz); use it with --encoder offline:FILE")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--render-dir", type=Path, default=None, help="where emoji and glyphs are rendered (default: cache)")
    p.add_argument("--openclipart", type=Path, default=None, help="openclipart png folder (default Debian's)")
    p.add_argument("--feature-cache", type=Path, default=None, help="keep backbone features here for reruns")
    p.add_argument("--json", action="store_true", help="print the training record as one JSON object")
    p.set_defaults(handler=_cmd_train_encoder)


def _open_pool(path: Path) -> Any:
    from mmdial_retrieval.pool import ImagePool

    return ImagePool.open(path)


def _embed_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    from mmdial_data.cli import engine_kwargs

    return {
        "batch_size": args.batch_size,
        "shard_size": args.shard_size,
        "num_workers": args.workers,
        "threads": args.threads,
        **engine_kwargs(args),
    }


def _cache(args: argparse.Namespace) -> Any:
    from mmdial_retrieval.cache import EmbeddingCache

    return EmbeddingCache(args.cache or args.pool / "embeddings")


def _encoder_name(args: argparse.Namespace) -> str:
    import os

    from mmdial_retrieval.registry import DEFAULT_ENCODER

    return str(args.encoder or os.environ.get("MMDIAL_ENCODER") or DEFAULT_ENCODER)


def _cmd_pool_add(args: argparse.Namespace) -> int:
    from mmdial_retrieval.pool import TUXPAINT_STAMPS, ImagePool

    if args.source is None and args.format != "tuxpaint":
        raise ValueError(f"pool add --format {args.format} needs a SOURCE path")
    pool = ImagePool.create(args.pool, exist_ok=True)
    source = args.source or TUXPAINT_STAMPS
    report = pool.add(args.format, source, source=args.name, image_root=args.image_root)
    print(report.summary() + f"; pool {args.pool} now has {len(pool)} images")
    for prob in report.problems:
        if prob.kind != "no-caption":
            print(f"  {prob.kind}: {prob.path}: {prob.reason}", file=sys.stderr)
    return 0


def _cmd_pool_show(args: argparse.Namespace) -> int:
    pool = _open_pool(args.pool)
    kinds: dict[str, int] = {}
    for prob in pool.problems:
        kinds[prob.kind] = kinds.get(prob.kind, 0) + 1
    captioned = sum(1 for i in pool if i.caption)
    print(f"{args.pool}: {len(pool)} images ({captioned} captioned), roots: {pool.roots}")
    print("problems: " + (", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "none"))
    if args.problems:
        for prob in pool.problems:
            print(f"  {prob.kind}: {prob.path}: {prob.reason}")
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from mmdial_retrieval.embed import embed_pool
    from mmdial_retrieval.registry import get_encoder

    result = embed_pool(_open_pool(args.pool), get_encoder(_encoder_name(args)), _cache(args), **_embed_kwargs(args))
    print(
        f"{result.encoder_id}: {len(result.ids)} images ({result.embedded_now} embedded now, "
        f"{result.from_cache} from cache, {len(result.failed)} failed)"
    )
    for prob in result.failed:
        print(f"  failed: {prob.path}: {prob.reason}", file=sys.stderr)
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from mmdial_data.provenance import provenance
    from mmdial_retrieval.embed import embed_pool
    from mmdial_retrieval.index import VectorIndex
    from mmdial_retrieval.registry import get_encoder

    pool = _open_pool(args.pool)
    name = _encoder_name(args)
    encoder = get_encoder(name)
    result = embed_pool(pool, encoder, _cache(args), **_embed_kwargs(args))
    index = VectorIndex.build(
        result.vectors,
        result.ids,
        captions=pool.captions(result.ids),
        params=args.kind,
        encoder_id=encoder.encoder_id,
        provenance=provenance(
            config={"encoder": name, "pool": str(args.pool), "kind": args.kind}, extra={"encoder": encoder.info()}
        ),
    )
    index.save(args.out)
    print(f"indexed {len(index)} images ({index.params.kind}) with {encoder.encoder_id} -> {args.out}")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from mmdial_retrieval.index import VectorIndex
    from mmdial_retrieval.registry import get_encoder
    from mmdial_retrieval.retriever import Retriever

    index = VectorIndex.load(args.index)
    name = args.encoder or (index.provenance.get("config") or {}).get("encoder")
    if not name:
        raise ValueError(f"{args.index}: index does not record its encoder; pass --encoder")
    retriever = Retriever(get_encoder(name), index)
    hits = retriever.search_images(args.queries, args.k) if args.images else retriever.search_text(args.queries, args.k)
    rows = [
        {
            "query": q,
            "hits": [
                {"id": i, "score": round(float(s), 4), "caption": c} for i, s, c in zip(ids, scores, caps, strict=False)
            ],
        }
        for q, ids, scores, caps in zip(args.queries, hits.ids, hits.scores, hits.captions, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for row in rows:
            print(row["query"])
            for h in row["hits"]:
                print(f"  {h['score']:.4f}  {h['id']}  {h['caption'] or ''}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from mmdial_retrieval.evaluate import evaluate_pool
    from mmdial_retrieval.registry import get_encoder

    encoder = get_encoder(_encoder_name(args))
    scores = evaluate_pool(_open_pool(args.pool), encoder, _cache(args), **_embed_kwargs(args))
    if args.json:
        print(json.dumps({"encoder": encoder.encoder_id, **scores.to_dict()}))
    else:
        print(f"{encoder.encoder_id} on {args.pool}: {scores.queries} caption queries over {scores.images} images")
        print(
            f"R@1 {scores.recall_at_1:.4f}  R@5 {scores.recall_at_5:.4f}  R@10 {scores.recall_at_10:.4f}  "
            f"MRR {scores.mrr:.4f}"
        )
    return 0


def _cmd_fit_projection(args: argparse.Namespace) -> int:
    from mmdial_data.provenance import provenance
    from mmdial_retrieval.embed import embed_pool
    from mmdial_retrieval.projection import fit_projection
    from mmdial_retrieval.registry import get_encoder

    pool = _open_pool(args.pool)
    encoder = get_encoder("conse")
    result = embed_pool(pool, encoder, _cache(args), **_embed_kwargs(args))
    row = {image_id: i for i, image_id in enumerate(result.ids)}
    pairs = [(item.caption, row[item.image_id]) for item in pool if item.caption and item.image_id in row]
    if len(pairs) < 2:
        raise ValueError(f"{args.pool}: fit-projection needs captioned images, found {len(pairs)}")
    texts = encoder.encode_text([c for c, _ in pairs])
    fit = fit_projection(
        result.vectors[[r for _, r in pairs]],
        texts,
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        provenance=provenance(config={"pool": str(args.pool), "epochs": args.epochs}, seed=args.seed),
    )
    print(
        f"trained on {fit.train_size} pairs; held-out R@1 {fit.val_recall_at_1_before:.4f} -> "
        f"{fit.val_recall_at_1:.4f} ({fit.val_size} pairs); use --encoder conse:{args.out}"
    )
    return 0


def _cmd_train_encoder(args: argparse.Namespace) -> int:
    from mmdial_retrieval.offline_encoder import retrieval_cache_dir
    from mmdial_retrieval.trained_encoder import train_offline_encoder
    from mmdial_retrieval.training_images import (
        OPENCLIPART_PNG,
        easy_vqa_images,
        emoji_images,
        glyph_images,
        openclipart_images,
    )

    render = args.render_dir or retrieval_cache_dir() / "training-images"
    images = [
        *openclipart_images(args.openclipart or OPENCLIPART_PNG),
        *emoji_images(render / "emoji"),
        *glyph_images(render / "glyphs"),
        *easy_vqa_images("train"),
    ]
    log = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    result = train_offline_encoder(
        args.out, images, seed=args.seed, progress=not args.json, log=log, feature_cache=args.feature_cache
    )
    if args.json:
        print(
            json.dumps({**result.__dict__, "validation": {k: v for k, v in result.validation.items() if k != "grid"}})
        )
    else:
        pairs = ", ".join(f"{k} {v}" for k, v in result.pairs.items())
        print(f"{result.path}: {pairs} pairs, settings {result.settings}, sha256 {result.sha256} ({result.seconds} s)")
        print(f"use it with --encoder offline:{result.path}")
    return 0
