"""``mmdial eval sgd`` from files: DSTC8 folders in, a report that names the evaluator and variant out.

Layout (as the official ``evaluate.py``): the gold folder holds ``dialogues_*.json`` (and usually
``schema.json``); the prediction folder holds any ``*.json`` files (hidden files and the official per-frame
output ``dialogues_and_metrics.json`` skipped), each a list of dialogues or a dict dialogue id -> dialogue, read
in sorted order (a later duplicate id replaces an earlier one). The training schema decides which services are
seen; by default it is ``<gold>/../train/schema.json``, as the official ``<dstc8_data_dir>/train/schema.json``.

Example:
    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> schema = [{"service_name": "Hotels_1", "slots": [{"name": "area", "is_categorical": False}]}]
    >>> turn = {"speaker": "USER", "utterance": "hi", "frames": [{"service": "Hotels_1", "state": {
    ...     "active_intent": "Find", "requested_slots": [], "slot_values": {"area": ["North"]}}}]}
    >>> dialogue = {"dialogue_id": "1_0", "services": ["Hotels_1"], "turns": [turn]}
    >>> for folder in ("train", "pred"):
    ...     (root / folder).mkdir()
    ...     _ = (root / folder / "dialogues_001.json").write_text(json.dumps([dialogue]))
    >>> _ = (root / "train" / "schema.json").write_text(json.dumps(schema))
    >>> report = evaluate_sgd_dirs(root / "pred", root / "train")
    >>> report["metrics"]["#SEEN_SERVICES"]["joint_goal_accuracy"], report["variant"]["fuzzy_backend"]
    (1.0, 'difflib')
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mmdial_metrics.core import format_signature
from mmdial_metrics.sgd.evaluator import (
    ALL_SERVICES,
    OFFICIAL_EVALUATOR,
    SEEN_SERVICES,
    UNSEEN_SERVICES,
    Dialogue,
    Matching,
    evaluate_sgd,
)
from mmdial_metrics.sgd.matching import DEFAULT_FUZZY_BACKEND, FuzzyBackend
from mmdial_metrics.sgd.schema import load_schema, seen_services, service_names

#: The per-frame output file of the official script, skipped when reading predictions.
PER_FRAME_OUTPUT_FILENAME = "dialogues_and_metrics.json"

#: Columns of the printed table: (metric, header).
TABLE_COLUMNS = (
    ("active_intent_accuracy", "intent"),
    ("requested_slots_f1", "req-F1"),
    ("average_goal_accuracy", "avg-GA"),
    ("joint_goal_accuracy", "JGA"),
)


def read_dialogues(folder: str | os.PathLike[str], pattern: str, *, what: str) -> dict[str, Dialogue]:
    """Dialogues by id from the ``pattern`` files of ``folder`` (official ``get_dataset_as_dict``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: {what} folder not found; pass a folder of DSTC8 {pattern} files")
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith("."))
    files = [p for p in files if PER_FRAME_OUTPUT_FILENAME not in str(p)]
    if not files:
        raise ValueError(f"{folder}: no {pattern} file in the {what} folder; pass a folder of DSTC8 dialogue files")
    dialogues: dict[str, Dialogue] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON ({err}); fix or remove the file") from err
        if isinstance(data, dict):
            items = list(data.items())
        elif isinstance(data, list):
            items = []
            for i, dialogue in enumerate(data):
                if not isinstance(dialogue, dict) or "dialogue_id" not in dialogue:
                    raise ValueError(
                        f"{path}: item {i} is not a dialogue with a 'dialogue_id'; "
                        "write DSTC8 dialogues (a list of {dialogue_id, services, turns})"
                    )
                items.append((dialogue["dialogue_id"], dialogue))
        else:
            raise ValueError(
                f"{path}: expected a list of dialogues, got {type(data).__name__}; "
                "keep only DSTC8 dialogue files in the folder"
            )
        for dial_id, dialogue in items:
            if not isinstance(dialogue, dict) or not isinstance(dialogue.get("turns"), list):
                raise ValueError(
                    f"{path}: dialogue {dial_id} has no list of 'turns'; keep only DSTC8 dialogue files in the folder"
                )
            dialogues[dial_id] = dialogue
    return dialogues


def evaluate_sgd_dirs(
    pred_dir: str | os.PathLike[str],
    gold_dir: str | os.PathLike[str],
    *,
    schema: str | os.PathLike[str] | None = None,
    train_schema: str | os.PathLike[str] | None = None,
    matching: Matching = "fuzzy",
    fuzzy_backend: FuzzyBackend = DEFAULT_FUZZY_BACKEND,
) -> dict[str, Any]:
    """The report of ``mmdial eval sgd``: the official metrics for a prediction folder against a gold folder.

    ``schema`` defaults to ``<gold_dir>/schema.json``, ``train_schema`` to ``<gold_dir>/../train/schema.json``.
    The report has ``metrics`` (official default output: collection -> metric -> value),
    ``metrics_joint_across_turn`` (official ``--joint_acc_across_turn`` output), the ``evaluator`` and
    ``variant`` that produced them, a ``signature``, the seen and unseen services and the input counts.
    """
    gold_dir = Path(gold_dir)
    schema_path = Path(schema) if schema is not None else gold_dir / "schema.json"
    train_path = Path(train_schema) if train_schema is not None else gold_dir.parent / "train" / "schema.json"
    if train_schema is None and not train_path.is_file():
        raise ValueError(
            f"{train_path}: no training schema there; pass --train-schema (the train split's "
            "schema.json, which decides the seen and unseen services)"
        )
    services = load_schema(schema_path)
    seen = seen_services(services, service_names(train_path))
    gold = read_dialogues(gold_dir, "dialogues_*.json", what="gold")
    pred = read_dialogues(pred_dir, "*.json", what="prediction")
    result = evaluate_sgd(gold, pred, services, seen, matching=matching, fuzzy_backend=fuzzy_backend)
    scored = result.services
    variant = {"matching": matching, "fuzzy_backend": fuzzy_backend if matching == "fuzzy" else None}
    return {
        "evaluator": OFFICIAL_EVALUATOR,
        "variant": variant,
        "signature": format_signature(
            "sgd_dstc8", {"match": matching, "fuzzy": variant["fuzzy_backend"] or "none", "ref": "0c1bbe5fc971"}
        ),
        "metrics": _ordered(result.metrics),
        "metrics_joint_across_turn": _ordered(result.metrics_joint_across_turn),
        "seen_services": sorted(scored & seen),
        "unseen_services": sorted(scored - seen),
        "inputs": {
            "predictions": str(pred_dir),
            "gold": str(gold_dir),
            "schema": str(schema_path),
            "train_schema": str(train_path),
            "gold_dialogues": len(gold),
            "dialogues": result.n_dialogues,
            "user_turns": result.n_turns,
            "frames": result.n_frames,
        },
    }


def _ordered(metrics: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Collections in report order: all, seen, unseen, then domains and services alphabetically."""
    head = [k for k in (ALL_SERVICES, SEEN_SERVICES, UNSEEN_SERVICES) if k in metrics]
    return {k: metrics[k] for k in head + sorted(k for k in metrics if k not in head)}


def format_sgd_report(report: dict[str, Any], digits: int = 4) -> str:
    """The report as a text table: one row per collection, JGA per frame and across turns."""
    variant = report["variant"]
    fuzzy = f", fuzzy backend {variant['fuzzy_backend']}" if variant["fuzzy_backend"] else ""
    lines = [
        f"{report['evaluator']}; matching {variant['matching']}{fuzzy}",
        f"{report['inputs']['dialogues']} dialogues, {report['inputs']['frames']} frames; "
        f"seen: {', '.join(report['seen_services']) or '-'}; unseen: {', '.join(report['unseen_services']) or '-'}",
    ]
    header = ["collection", *(h for _, h in TABLE_COLUMNS), "JGA-turn"]
    rows = []
    for key, values in report["metrics"].items():
        turn = report["metrics_joint_across_turn"].get(key, {})
        cells = [values.get(m) for m, _ in TABLE_COLUMNS] + [turn.get("joint_goal_accuracy")]
        rows.append([key, *("-" if v is None else f"{v:.{digits}f}" for v in cells)])
    width = max(len(r[0]) for r in [header, *rows])
    for row in [header, *rows]:
        lines.append(row[0].ljust(width) + "".join(c.rjust(10) for c in row[1:]))
    lines.append(f"signature: {report['signature']}")
    return "\n".join(lines)
