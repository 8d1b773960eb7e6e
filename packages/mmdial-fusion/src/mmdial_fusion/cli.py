"""``mmdial fusion``: build samples, train, generate and evaluate ReSee-style fusion models.

Sub-commands (registered through the ``mmdial.cli`` entry-point group):

- ``build-samples DATA... --out DIR [--index INDEX --encoder offline] [--entities]``: samples per split
  (``DIR/<split>.jsonl``), the features of the images they use (``DIR/features.npz``), ``DIR/provenance.json``.
- ``train CONFIG [--stop-after N]``: train as the YAML config says.
- ``generate CHECKPOINT SAMPLES --out FILE [--ablation A] [--strategy S]``: one JSON line per sample.
- ``eval CHECKPOINT SAMPLES [--ablations full,no_turn,no_entity,text_only] [--out FILE]``: scores per ablation
  (the JSON file also records each metric's mmdial-metrics signature).
- ``probe [--task colour|category] [--json] [--seed 0] [--steps N] ...``: the visual-dependency probe
  (:mod:`mmdial_fusion.probe`): accuracy of full fusion, text-only, shuffled images and images removed.

Example:
    >>> import argparse
    >>> sub = argparse.ArgumentParser().add_subparsers()
    >>> register(sub)
    >>> sorted(sub.choices["fusion"]._subparsers._group_actions[0].choices)
    ['build-samples', 'eval', 'generate', 'probe', 'train']
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``fusion`` and its sub-commands to the ``mmdial`` parser."""
    fusion = subparsers.add_parser("fusion", help="ReSee-style visual-knowledge fusion: samples, train, generate, eval")
    sub = fusion.add_subparsers(dest="fusion_command", metavar="COMMAND")
    fusion.set_defaults(handler=lambda args: (fusion.print_help(), 2)[1])

    p = sub.add_parser("build-samples", help="samples with turn- and entity-level images, plus their features")
    p.add_argument("data", nargs="+", type=Path, help="unified dataset files (.parquet/.jsonl)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--index", type=Path, default=None, help="a saved mmdial-retrieval VectorIndex folder")
    p.add_argument("--encoder", default="offline", help="mmdial-retrieval encoder for text queries (default offline)")
    p.add_argument("--entities", action="store_true", help="retrieve entity-level images (spaCy entities)")
    p.add_argument("--max-context-turns", type=int, default=3)
    p.add_argument("--max-turn-images", type=int, default=5)
    p.add_argument("--max-entity-images", type=int, default=6)
    p.set_defaults(handler=_cmd_build_samples)

    p = sub.add_parser("train", help="train from a YAML config")
    p.add_argument("config", type=Path)
    p.add_argument("--stop-after", type=int, default=None, help="end after N optimizer steps (resumable)")
    p.add_argument("--device", default=None)
    p.set_defaults(handler=_cmd_train)

    for name, handler in (("generate", _cmd_generate), ("eval", _cmd_eval)):
        p = sub.add_parser(name, help="generate responses" if name == "generate" else "score responses per ablation")
        p.add_argument("checkpoint", type=Path, help="a checkpoint folder (run/best or run/last)")
        p.add_argument("samples", type=Path, help="samples .jsonl")
        p.add_argument("--features", type=Path, default=None, help="features .npz (default: the config's)")
        p.add_argument("--strategy", choices=["greedy", "beam", "sample"], default=None)
        p.add_argument("--max-new-tokens", type=int, default=None)
        p.add_argument("--limit", type=int, default=None, help="only the first N samples")
        if name == "generate":
            p.add_argument("--ablation", default=None)
            p.add_argument("--out", required=True, type=Path)
        else:
            p.add_argument("--ablations", default="full,no_turn,no_entity,text_only")
            p.add_argument("--out", type=Path, default=None, help="write the scores as JSON")
        p.set_defaults(handler=handler)

    p = sub.add_parser("probe", help="visual-dependency probe: does fusion use its images?")
    p.add_argument("--task", choices=["colour", "category"], default="colour")
    p.add_argument("--json", action="store_true", help="print one JSON object (the last stdout line)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backbone", default="tiny-gpt2")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps per trained system")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--n-train", type=int, default=2000, help="training images")
    p.add_argument("--n-test", type=int, default=500, help="test images")
    p.add_argument("--encoder", default="offline", help="mmdial-retrieval image encoder (default offline)")
    p.add_argument("--cache-dir", type=Path, default=None, help="pools and embedding cache")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.set_defaults(handler=_cmd_probe)


def _cmd_build_samples(args: argparse.Namespace) -> int:
    from mmdial_data import read_dialogues
    from mmdial_data.provenance import provenance
    from mmdial_fusion.knowledge import KnowledgeConfig, build_samples
    from mmdial_fusion.retrieval_adapter import (
        IndexRetriever,
        features_from_index,
        spacy_entity_extractor,
        used_image_ids,
    )
    from mmdial_fusion.samples import write_samples

    config = KnowledgeConfig(
        max_context_turns=args.max_context_turns,
        max_turn_images=args.max_turn_images,
        max_entity_images=args.max_entity_images,
    )
    retriever = index = None
    if args.index is not None:
        import mmdial_retrieval as mr

        index = mr.VectorIndex.load(args.index)
        retriever = IndexRetriever(mr.get_encoder(args.encoder), index)
    extractor = spacy_entity_extractor() if args.entities else None
    by_split: dict[str, list[Any]] = {}
    for path in args.data:
        for s in build_samples(read_dialogues(path), retriever=retriever, entity_extractor=extractor, config=config):
            by_split.setdefault(s.dialogue_id.split("/")[1], []).append(s)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, samples in sorted(by_split.items()):
        n = write_samples(samples, args.out / f"{split}.jsonl")
        print(f"{split}: {n} samples -> {args.out / f'{split}.jsonl'}")
    ids = used_image_ids(s for samples in by_split.values() for s in samples)
    if ids:
        if index is None:
            raise ValueError("samples use images attached to the dialogues: pass --index with their embeddings")
        features_from_index(index, ids).save(args.out / "features.npz")
        print(f"features of {len(ids)} images -> {args.out / 'features.npz'}")
    record = provenance(
        config={
            **vars(config),
            "data": [str(p) for p in args.data],
            "index": str(args.index),
            "encoder": args.encoder,
            "entities": args.entities,
        }
    )
    (args.out / "provenance.json").write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from mmdial_fusion.config import FusionConfig
    from mmdial_fusion.training import train

    result = train(FusionConfig.from_yaml(args.config), device=args.device, stop_after_steps=args.stop_after)
    print(
        json.dumps(
            {
                "steps": result.steps,
                "best_metric": result.best_metric,
                "best_step": result.best_step,
                "stopped_early": result.stopped_early,
                "output_dir": str(result.output_dir),
            }
        )
    )
    return 0


def _load_for_inference(args: argparse.Namespace) -> tuple[Any, Any, Any, Any, list[Any]]:
    import dataclasses

    from mmdial_fusion.features import ImageFeatureStore
    from mmdial_fusion.samples import read_samples
    from mmdial_fusion.training import load_checkpoint, make_collator

    model, tokenizer, config = load_checkpoint(args.checkpoint)
    features_path = args.features or config.data.features
    features = ImageFeatureStore.load(features_path) if features_path else None
    gen = config.generation
    if args.strategy:
        gen = dataclasses.replace(gen, strategy=args.strategy)
    if args.max_new_tokens:
        gen = dataclasses.replace(gen, max_new_tokens=args.max_new_tokens)
    samples = list(read_samples(args.samples))[: args.limit]
    ablation = getattr(args, "ablation", None) or (config.data.ablation if features is not None else "text_only")
    collator = make_collator(config, tokenizer, features, model.is_encoder_decoder, ablation=ablation)
    return model, tokenizer, collator, gen, samples


def _cmd_generate(args: argparse.Namespace) -> int:
    from mmdial_fusion.generation import generate_responses

    model, tokenizer, collator, gen, samples = _load_for_inference(args)
    hyps = generate_responses(model, tokenizer, samples, collator, gen, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for s, h in zip(samples, hyps, strict=True):
            fh.write(json.dumps({"sample_id": s.sample_id, "response": h, "reference": s.response}) + "\n")
    print(f"{len(hyps)} responses -> {args.out}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from mmdial_fusion.evaluation import SCORE_NAMES, metric_signatures
    from mmdial_fusion.generation import evaluate_ablations

    model, tokenizer, collator, gen, samples = _load_for_inference(args)
    ablations = [a.strip() for a in args.ablations.split(",") if a.strip()]
    scores = evaluate_ablations(model, tokenizer, samples, collator, ablations, gen)
    print("ablation    " + " ".join(f"{n:>10}" for n in SCORE_NAMES))
    for ablation, row in scores.items():
        print(f"{ablation:<11} " + " ".join(f"{row[n]:>10.4f}" for n in SCORE_NAMES))
    if args.out:
        report = {
            "n": len(samples),
            "scores": scores,
            "signatures": metric_signatures(),
            "checkpoint": str(args.checkpoint),
            "samples": str(args.samples),
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    sys.stdout.flush()
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from mmdial_fusion.probe import run_probe

    result = run_probe(
        args.task,
        backbone=args.backbone,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        n_train=args.n_train,
        n_test=args.n_test,
        encoder=args.encoder,
        cache_dir=args.cache_dir,
        threads=args.threads,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result.table())
        s = result.settings
        print(
            f"task {s['task']}, backbone {s['backbone']}, {s['steps']} steps of batch {s['batch_size']}, seed "
            f"{s['seed']}, encoder {s['encoder']}, {s['n_train']} train / {s['n_test']} test, {result.wall_s:.0f} s"
        )
    sys.stdout.flush()
    return 0
