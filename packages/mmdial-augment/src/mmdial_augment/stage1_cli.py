"""``mmdial augment stage1`` (score every utterance of a dataset) and ``mmdial augment validate-stage1`` (the
PhotoChat validation: labels, features, nested CV, table; optionally the fit of the shipped classifiers).

Bad input (missing dataset, unreadable classifier, unwritable output) is one line
``mmdial: error: <file>: <what is wrong>; <what to do>`` and exit status 2 (reported by ``mmdial_data.cli.main``);
the scores are written atomically, so no partial output file is left.

Example:
    >>> from mmdial_data.testing import demo_dir
    >>> parse_dataset(f"photochat:{demo_dir() / 'photochat'}").reader
    'photochat'
    >>> parse_pool("tuxpaint:/usr/share/tuxpaint/stamps").kind
    'tuxpaint'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmdial_augment.config import InputSpec, PoolSpec
    from mmdial_augment.stage1 import FeatureTable, Stage1Featurizer, Stage1Model
    from mmdial_data import Dialogue

#: The pool the shipped classifiers were fitted with (Debian ``tuxpaint-stamps-default``).
DEFAULT_POOL = "tuxpaint:/usr/share/tuxpaint/stamps"
POOL_KINDS = ("pool", "folder", "captions", "coco", "tuxpaint")
DATASET_HINT = "pass a unified .parquet/.jsonl file or shard folder, or READER:PATH (readers: `mmdial sources`)"


def default_cache_dir() -> Path:
    """``$MMDIAL_CACHE/augment-stage1`` or ``~/.cache/mmdial/augment-stage1`` (indexed pools, pool embeddings)."""
    base = os.environ.get("MMDIAL_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "mmdial") / "augment-stage1"


def parse_dataset(text: str) -> InputSpec:
    """``DATASET``: an existing unified file/shard folder, or ``READER:PATH`` (as the config's ``inputs``)."""
    from mmdial_augment.config import InputSpec

    reader, sep, rest = text.partition(":")
    if sep and not Path(text).exists() and reader and "/" not in reader and "\\" not in reader:
        from mmdial_data.readers import list_readers

        names = [r.name for r in list_readers()]
        if reader not in names:
            raise ValueError(f"{text}: no reader named {reader!r} and no such file; {DATASET_HINT}")
        if not Path(rest).exists():
            raise FileNotFoundError(f"{rest}: no such input for reader {reader!r}; check the path after '{reader}:'")
        return InputSpec(reader=reader, path=rest)
    if not Path(text).exists():
        raise FileNotFoundError(f"{text}: no such dataset; {DATASET_HINT}")
    return InputSpec(unified=text)


def parse_pool(text: str) -> PoolSpec:
    """``POOL``: a retrieval pool folder (with ``pool.json``) or ``KIND:PATH`` (``tuxpaint:``, ``folder:``,
    ``captions:``, ``coco:``), indexed once into the cache folder."""
    from mmdial_augment.config import PoolSpec

    kind, sep, rest = text.partition(":")
    if sep and kind in POOL_KINDS:
        return PoolSpec(path=rest, kind=kind)
    return PoolSpec(path=text, kind="pool")


def load_dataset(spec: InputSpec) -> list[Dialogue]:
    """The dialogues of ``spec``, read by the pipeline's loader (:func:`~mmdial_augment.pipeline.load_dialogues`)."""
    from mmdial_augment.config import AugmentConfig
    from mmdial_augment.pipeline import load_dialogues
    from mmdial_data import MMDialDataError

    try:
        return load_dialogues(AugmentConfig(inputs=[spec]))
    except MMDialDataError as exc:
        raise ValueError(f"{exc}; {DATASET_HINT}") from exc


def build_featurizer(
    encoder: str, pool: str, cache_dir: str | os.PathLike[str], *, progress: bool = False
) -> Stage1Featurizer:
    """The stage-1 featurizer for an encoder name and a pool argument; the pool is indexed and embedded once into
    ``cache_dir`` (``pools/<hash>``, ``embeddings``: an ``mmdial_retrieval.EmbeddingCache``)."""
    from mmdial_augment.pipeline import get_retrieval_encoder
    from mmdial_augment.pool import PoolError, load_pool
    from mmdial_augment.stage1 import Stage1Featurizer

    spec = parse_pool(pool)
    cache = Path(cache_dir)
    key = hashlib.sha256(f"{spec.kind}:{Path(spec.path).resolve()}".encode()).hexdigest()[:12]
    enc = get_retrieval_encoder(encoder)
    try:
        p = load_pool(spec, enc, workdir=cache / "pools" / key, cache_dir=cache / "embeddings", progress=progress)
    except PoolError as exc:
        raise ValueError(f"{exc}; pass --pool a retrieval pool folder or KIND:PATH ({', '.join(POOL_KINDS)})") from exc
    return Stage1Featurizer(enc, p, get_retrieval_encoder("sentence"))


def _check_writable(out: Path) -> None:
    if out.is_dir():
        raise ValueError(f"{out}: is a folder, not a file; pass --out a .jsonl file path")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{out}: cannot be created ({parent} is not a folder); choose another --out path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{out}: cannot be written (no write permission in {parent}); choose another --out path")


def _load_model(path: str | None) -> tuple[Stage1Model, str]:
    from mmdial_augment.stage1 import load_stage1_model, shipped_model_path

    where = Path(path) if path else shipped_model_path("content")
    hint = "pass --classifier a JSON written by `mmdial augment validate-stage1 --write-classifier`, or omit it"
    try:
        return load_stage1_model(where), str(where)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc}; {hint}") from exc
    except ValueError as exc:
        raise ValueError(f"{exc}; {hint}") from exc


def score_lines(dialogues: Sequence[Dialogue], featurizer: Stage1Featurizer, model: Stage1Model) -> list[str]:
    """One JSON line per non-empty turn: ``dialogue_id``, ``turn_index`` (position in the unified dialogue's
    turns, empty share turns included), ``score`` (the model's probability), then the scalar features."""
    rows = [(d.dialogue_id, t.turn_index, t.text.strip()) for d in dialogues for t in d.turns if t.text.strip()]
    if not rows:
        return []
    table = featurizer([r[2] for r in rows])
    scores = model.predict_proba(table)
    lines = []
    for i, (did, ti, _) in enumerate(rows):
        rec = {"dialogue_id": did, "turn_index": ti, "score": float(scores[i]), **table.scalars(i)}
        lines.append(json.dumps(rec, ensure_ascii=False))
    return lines


def _cmd_stage1(args: argparse.Namespace) -> int:
    from mmdial_augment.io_utils import atomic_write_text

    spec = parse_dataset(args.dataset)
    out = Path(args.out)
    _check_writable(out)
    model, model_path = _load_model(args.classifier)
    dialogues = load_dataset(spec)
    featurizer = build_featurizer(args.encoder, args.pool, args.cache_dir, progress=not args.no_progress)
    trained = model.meta.get("encoder_id")
    if trained and trained != featurizer.encoder.encoder_id:
        print(
            f"mmdial: warning: {model_path}: fitted with encoder {trained!r}, scoring with "
            f"{featurizer.encoder.encoder_id!r}: the image features are on another scale",
            file=sys.stderr,
        )
    lines = score_lines(dialogues, featurizer, model)
    try:
        atomic_write_text(out, "".join(line + "\n" for line in lines))
    except OSError as exc:
        raise ValueError(f"{out}: cannot be written ({exc.strerror or exc}); choose another --out path") from exc
    print(f"scored {len(lines)} utterances of {len(dialogues)} dialogues with {model_path} -> {out}")
    return 0


# ---- validate-stage1 ---------------------------------------------------------------------------------------
def default_validation_data() -> list[str]:
    """The PhotoChat samples (``MMDIAL_SAMPLES`` or ``../shared/datasets/samples``): ``photochat`` (test_00,
    dialogues 0-19) and ``photochat_more`` (dev_01, dialogues 500-699), as ``photochat:PATH``."""
    from mmdial_data.testing import repo_root

    env = os.environ.get("MMDIAL_SAMPLES")
    base = Path(env) if env else (repo_root() or Path.cwd()).parent / "shared" / "datasets" / "samples"
    return [f"photochat:{base / 'photochat'}", f"photochat:{base / 'photochat_more'}"]


def labeled_table(data: Sequence[str], featurizer: Stage1Featurizer) -> tuple[list[Any], FeatureTable, list[Dialogue]]:
    """Labels (:func:`~mmdial_augment.stage1.label_dialogues`) and features of every non-empty turn of ``data``."""
    from mmdial_augment.stage1 import label_dialogues

    dialogues = [d for item in data for d in load_dataset(parse_dataset(item))]
    labels = label_dialogues(dialogues)
    return labels, featurizer([u.text for u in labels]), dialogues


def _cmd_validate(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from mmdial_augment import stage1_eval as ev
    from mmdial_augment.stage1 import LABELS

    t0 = time.perf_counter()

    def log(message: str) -> None:
        if not args.no_progress:
            print(message, file=sys.stderr, flush=True)

    data = args.data or default_validation_data()
    if args.write_classifier:
        _check_writable(Path(args.write_classifier) / "stage1_photochat.json")
    featurizer = build_featurizer(args.encoder, args.pool, args.cache_dir, progress=not args.no_progress)
    labels, table, dialogues = labeled_table(data, featurizer)
    t_feat = time.perf_counter() - t0
    log(f"{len(labels)} utterances of {len(dialogues)} dialogues, features in {t_feat:.1f} s")
    groups = [u.dialogue_id for u in labels]
    ys = {lab: np.array([getattr(u, lab) for u in labels]) for lab in LABELS}
    figures = ev.evaluate(
        table,
        ys,
        groups,
        outer=args.folds,
        inner=args.inner_folds,
        n_boot=args.bootstrap,
        seed=args.seed,
        progress=log,
    )
    result: dict[str, Any] = {
        "task": "stage-1 validation on PhotoChat",
        "data": list(data),
        "n_dialogues": len(dialogues),
        "n_utterances": len(labels),
        "seed": args.seed,
        "outer_folds": args.folds,
        "inner_folds": args.inner_folds,
        "bootstrap_resamples": args.bootstrap,
        "features": featurizer.info(),
        "labels": figures,
        "seconds": {"features": t_feat},
        **ev.environment(),
    }
    if args.write_classifier:
        result["classifiers"] = _write_classifiers(Path(args.write_classifier), table, ys, groups, result, args, log)
    result["seconds"]["total"] = time.perf_counter() - t0
    print(ev.format_table(result))
    if args.json:
        print(json.dumps(result, default=_json_default))
    return 0


def _json_default(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def _write_classifiers(
    folder: Path,
    table: FeatureTable,
    ys: dict[str, Any],
    groups: list[str],
    result: dict[str, Any],
    args: argparse.Namespace,
    log: Any,
) -> dict[str, str]:
    from mmdial_augment import stage1_eval as ev
    from mmdial_augment.stage1 import shipped_model_path

    written = {}
    for label, y in ys.items():
        model, info = ev.fit_final(table, y, groups, folds=args.folds, seed=args.seed)
        fig = result["labels"][label]
        model.meta = {
            "label": label,
            "label_rule": "see mmdial_augment.stage1 (module docs) and the package README, section 'Stage 1'",
            "training_data": {
                "description": "PhotoChat (Zang et al., 2021) dialogues of the project's shared samples: test_00 "
                "dialogues 0-19 and dev_01 dialogues 500-699 (read with the photochat reader)",
                "inputs": result["data"],
                "n_dialogues": result["n_dialogues"],
                "n_utterances": fig["n_utterances"],
                "n_positive": fig["n_positive"],
            },
            "features": list(model.features),
            "hyper_parameters": info["chosen"],
            "selection": {"grouped_cv_folds": args.folds, "cv_auc": info["cv_auc"], "candidates": info["candidates"]},
            "f1_cutoff": info["f1_cutoff"],
            "nested_cv": {k: {"auc": v["auc"], "ci95": v["ci95"]} for k, v in fig["systems"].items()}
            | {"outer_folds": args.folds, "inner_folds": args.inner_folds, "bootstrap": args.bootstrap},
            "encoder_id": result["features"]["encoder"],
            "encoder_name": args.encoder,
            "feature_dependencies": result["features"],
            "seed": args.seed,
            "git_commit": result["git_commit"],
        }
        name = shipped_model_path(label).name
        model.save(folder / name)
        written[label] = str(folder / name)
        log(f"{label}: {info['chosen']['name']} (grouped CV AUC {info['cv_auc']:.3f}) -> {folder / name}")
    return written


def register_stage1(sub: Any) -> None:
    """Add ``stage1`` and ``validate-stage1`` to ``mmdial augment``'s sub-commands."""
    s = sub.add_parser("stage1", help="score every utterance of a dataset with the stage-1 classifier (JSONL)")
    s.add_argument("dataset", help="unified dataset (.parquet/.jsonl/shard folder) or READER:PATH")
    s.add_argument("--out", required=True, help="output .jsonl (one line per utterance)")
    s.add_argument("--classifier", default=None, help="stage-1 model JSON (default: the shipped PhotoChat one)")
    s.add_argument("--pool", default=DEFAULT_POOL, help=f"retrieval pool folder or KIND:PATH (default {DEFAULT_POOL})")
    s.add_argument("--encoder", default="offline", help="image-text encoder name (default offline)")
    s.add_argument("--cache-dir", default=str(default_cache_dir()), help="indexed pools and pool embeddings")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(handler=_cmd_stage1)

    v = sub.add_parser("validate-stage1", help="PhotoChat labels, nested grouped CV, AUC table (and --json)")
    v.add_argument(
        "--data",
        action="append",
        default=None,
        help="READER:PATH or unified dataset (repeatable; "
        "default: the PhotoChat samples photochat/ and photochat_more/)",
    )
    v.add_argument("--encoder", default="offline")
    v.add_argument("--pool", default=DEFAULT_POOL)
    v.add_argument("--cache-dir", default=str(default_cache_dir()))
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--folds", type=int, default=5, help="outer folds (and the folds of the final selection)")
    v.add_argument("--inner-folds", type=int, default=4)
    v.add_argument("--bootstrap", type=int, default=1000, help="dialogue resamples of the intervals")
    v.add_argument("--write-classifier", default=None, help="folder: also fit and write the two classifiers")
    v.add_argument("--json", action="store_true", help="last stdout line: every figure as one JSON object")
    v.add_argument("--no-progress", action="store_true")
    v.set_defaults(handler=_cmd_validate)
