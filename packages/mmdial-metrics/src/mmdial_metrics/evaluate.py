"""Dialogue-level evaluation over the unified schema (``mmdial eval``): predictions for turns of a dataset.

Predictions are JSONL records ``{"dialogue_id": str, "turn_index": int, "prediction": str}``; the
reference of each is the ``text`` of that turn in a unified dataset (a ``.parquet``/``.jsonl`` file or a
Parquet shard folder, read with :func:`mmdial_data.read_dialogues`; needs the ``[data]`` extra). Every
metric is computed over all predictions and per source, with a seeded percentile bootstrap confidence
interval, and the JSON report carries each metric's signature and the run's provenance.

Bad input raises :class:`mmdial_data.errors.MMDialDataError` naming the file and line: invalid JSON, a
missing or mistyped field, a duplicate (dialogue_id, turn_index), a dialogue or turn absent from the
dataset.

Example:
    >>> from mmdial_data import Dialogue, Turn
    >>> data = [Dialogue("demo/test/1", "demo", "test",
    ...                  [Turn(0, "a", "user", "hi there"), Turn(1, "b", "system", "hello , how are you ?")])]
    >>> preds = [{"dialogue_id": "demo/test/1", "turn_index": 1, "prediction": "hello , how are you ?"}]
    >>> report = evaluate_dialogues(preds, data, metrics=["bleu", "f1"], n_bootstrap=10)
    >>> round(report["overall"]["bleu"]["score"], 6), report["per_source"]["demo"]["f1"]["score"]
    (100.0, 1.0)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmdial_metrics.bootstrap import bootstrap_ci
from mmdial_metrics.registry import get_metric, metric_spec

#: Metrics computed when none are named.
DEFAULT_METRICS = ("bleu", "rougeL", "f1", "distinct_1", "distinct_2")

_DATA_HINT = 'dialogue-level evaluation needs mmdial-data: pip install "mmdial-metrics[data]"'


def _data_error() -> type[ValueError]:
    try:
        from mmdial_data.errors import MMDialDataError
    except ImportError as exc:  # pragma: no cover - the [data] extra is a test dependency
        raise ImportError(_DATA_HINT) from exc
    return MMDialDataError


@dataclass(frozen=True)
class Prediction:
    """One prediction for one turn; ``record`` locates it (``"line 3"``) for error messages."""

    dialogue_id: str
    turn_index: int
    prediction: str
    record: str = ""


def read_predictions(path: str | os.PathLike[str]) -> list[Prediction]:
    """Read and check a predictions JSONL file (blank lines are allowed).

    Raises:
        FileNotFoundError: The file does not exist.
        MMDialDataError: A line is not a JSON object with ``dialogue_id`` (str), ``turn_index`` (int) and
            ``prediction`` (str), or repeats an earlier (dialogue_id, turn_index); the message names the
            file and line.
    """
    error = _data_error()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such predictions file")
    records: list[dict[str, Any]] = []
    where: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                message = f"invalid JSON ({exc.msg} at column {exc.colno})"
                raise error(message, path=path, record=f"line {lineno}") from None
            records.append(row)
            where.append(f"line {lineno}")
    return check_predictions(records, path=path, records=where)


def check_predictions(
    rows: Iterable[Any], *, path: str | os.PathLike[str] | None = None, records: Sequence[str] | None = None
) -> list[Prediction]:
    """Check prediction records (mappings or :class:`Prediction`); errors name ``path`` and the record."""
    error = _data_error()
    out: list[Prediction] = []
    seen: dict[tuple[str, int], str] = {}
    for i, row in enumerate(rows):
        record = records[i] if records is not None else f"prediction {i}"
        if isinstance(row, Prediction):
            row = {"dialogue_id": row.dialogue_id, "turn_index": row.turn_index, "prediction": row.prediction}
        if not isinstance(row, Mapping):
            raise error(f"expected a JSON object, got {type(row).__name__}", path=path, record=record)
        missing = [k for k in ("dialogue_id", "turn_index", "prediction") if k not in row]
        if missing:
            raise error(f"missing field(s) {', '.join(missing)}", path=path, record=record)
        did, tix, text = row["dialogue_id"], row["turn_index"], row["prediction"]
        if not isinstance(did, str) or not did:
            raise error(f"dialogue_id must be a non-empty string, got {did!r}", path=path, record=record)
        if isinstance(tix, bool) or not isinstance(tix, int) or tix < 0:
            raise error(f"turn_index must be a non-negative integer, got {tix!r}", path=path, record=record)
        if not isinstance(text, str):
            raise error(f"prediction must be a string, got {type(text).__name__}", path=path, record=record)
        key = (did, tix)
        if key in seen:
            raise error(
                f"duplicate prediction for dialogue {did!r} turn {tix} (first at {seen[key]})", path=path, record=record
            )
        seen[key] = record
        out.append(Prediction(did, tix, text, record))
    if not out:
        raise error("no predictions", path=path)
    return out


def match_references(
    predictions: Sequence[Prediction],
    dialogues: Iterable[Any],
    *,
    path: str | os.PathLike[str] | None = None,
    refs_path: str | os.PathLike[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Reference text and source of each prediction's turn; MMDialDataError names the prediction's line."""
    error = _data_error()
    wanted = {p.dialogue_id for p in predictions}
    turns: dict[str, tuple[str, dict[int, str]]] = {}
    for d in dialogues:
        if d.dialogue_id in wanted:
            turns[d.dialogue_id] = (d.source, {t.turn_index: t.text for t in d.turns})
    refs: list[str] = []
    sources: list[str] = []
    for p in predictions:
        found = turns.get(p.dialogue_id)
        if found is None:
            raise error(
                f"dialogue {p.dialogue_id!r} is not in the references {refs_path or ''}".rstrip(),
                path=path,
                record=p.record,
            )
        source, by_index = found
        if p.turn_index not in by_index:
            raise error(
                f"dialogue {p.dialogue_id!r} has no turn {p.turn_index} (turns 0..{max(by_index, default=-1)})",
                path=path,
                record=p.record,
            )
        refs.append(by_index[p.turn_index])
        sources.append(source)
    return refs, sources


def _scores(
    name: str,
    options: Mapping[str, Any],
    preds: list[str],
    refs: list[str],
    *,
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> dict[str, Any]:
    metric = get_metric(name, **options)
    ref_arg = [[r] for r in refs] if metric.needs_references else None
    result = metric.score(preds, ref_arg)
    entry: dict[str, Any] = {"score": result.score, "n": len(preds)}
    if n_bootstrap > 0:
        ci = bootstrap_ci(metric, preds, ref_arg, n_samples=n_bootstrap, confidence=confidence, seed=seed)
        entry.update(low=ci["low"], high=ci["high"], ci_method=ci["method"])
        if "note" in ci:
            entry["ci_note"] = ci["note"]
    return entry


def evaluate_dialogues(
    predictions: str | os.PathLike[str] | Iterable[Any],
    references: str | os.PathLike[str] | Iterable[Any],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    metric_options: Mapping[str, Mapping[str, Any]] | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Score predictions for dataset turns, overall and per source, with bootstrap confidence intervals.

    Args:
        predictions: A predictions JSONL path, or records (mappings with dialogue_id/turn_index/prediction,
            or :class:`Prediction`).
        references: A unified dataset (``.parquet``/``.jsonl`` file or Parquet shard folder) or dialogues.
        metrics: Registered metric names (see :func:`mmdial_metrics.list_metrics`).
        metric_options: Options per metric name, e.g. ``{"bleu": {"tokenize": "intl"}}``.
        n_bootstrap: Bootstrap resamples per score (0 for none).
        confidence: Confidence level of the percentile interval.
        seed: Seed of the bootstrap resampling (the same for every score).

    Returns:
        A JSON-ready report: ``metrics`` (signature, variant description, reference, direction per name),
        ``overall`` and ``per_source`` (``{"score", "n", "low", "high", "ci_method"}`` per metric), ``bootstrap``,
        ``n_predictions`` and ``provenance``.
    """
    from mmdial_data.provenance import file_sha256, provenance

    metric_options = {k: dict(v) for k, v in (metric_options or {}).items()}
    unknown = set(metric_options) - set(metrics)
    if unknown:
        raise ValueError(f"options given for metrics not requested: {', '.join(sorted(unknown))}")
    if not metrics:
        raise ValueError("no metrics requested")
    specs = {name: metric_spec(name) for name in metrics}  # KeyError with "did you mean" first
    pred_path: Path | None = None
    if isinstance(predictions, (str, os.PathLike)):
        pred_path = Path(predictions)
        preds = read_predictions(pred_path)
    else:
        preds = check_predictions(list(predictions))
    refs_path: Path | None = None
    if isinstance(references, (str, os.PathLike)):
        from mmdial_data import read_dialogues

        refs_path = Path(references)
        dialogues: Iterable[Any] = read_dialogues(refs_path)
    else:
        dialogues = references
    refs, sources = match_references(preds, dialogues, path=pred_path, refs_path=refs_path)
    texts = [p.prediction for p in preds]

    info: dict[str, Any] = {}
    for name in metrics:
        metric = get_metric(name, **metric_options.get(name, {}))
        info[name] = {
            "signature": metric.signature(1),
            "description": specs[name].description,
            "reference": metric.reference,
            "higher_is_better": metric.higher_is_better,
        }
    kwargs = {"n_bootstrap": n_bootstrap, "confidence": confidence, "seed": seed}
    overall = {name: _scores(name, metric_options.get(name, {}), texts, refs, **kwargs) for name in metrics}
    per_source: dict[str, dict[str, Any]] = {}
    for source in sorted(set(sources)):
        idx = [i for i, s in enumerate(sources) if s == source]
        sp, sr = [texts[i] for i in idx], [refs[i] for i in idx]
        per_source[source] = {name: _scores(name, metric_options.get(name, {}), sp, sr, **kwargs) for name in metrics}

    inputs: dict[str, str] = {}
    if pred_path is not None:
        inputs[str(pred_path)] = file_sha256(pred_path)
    if refs_path is not None and refs_path.is_file():
        inputs[str(refs_path)] = file_sha256(refs_path)
    elif refs_path is not None:
        for shard in sorted(refs_path.rglob("*.parquet")):
            inputs[str(shard)] = file_sha256(shard)
    config = {
        "predictions": str(pred_path) if pred_path else None,
        "references": str(refs_path) if refs_path else None,
        "metrics": list(metrics),
        "metric_options": metric_options,
        "n_bootstrap": n_bootstrap,
        "confidence": confidence,
    }
    return {
        "metrics": info,
        "overall": overall,
        "per_source": per_source,
        "n_predictions": len(preds),
        "bootstrap": {
            "n_samples": n_bootstrap,
            "confidence": confidence,
            "seed": seed,
            "method": "percentile",
            "resampling_sensitive_method": "half-sampling without replacement",
        },
        "provenance": provenance(config=config, seed=seed, inputs=inputs or None),
    }


def format_report(report: Mapping[str, Any]) -> str:
    """A plain-text table of a report: one row per (source, metric), then the signatures."""
    lines = []
    ci = report["bootstrap"]["n_samples"] > 0
    level = f"{round(report['bootstrap']['confidence'] * 100):g}% CI" if ci else ""
    lines.append(f"{'source':<24} {'metric':<20} {'n':>7} {'score':>12}  {level}".rstrip())
    rows = [("overall", report["overall"]), *report["per_source"].items()]
    for source, scores in rows:
        for name, s in scores.items():
            interval = ""
            if s.get("low") is not None:
                half = "  (half-sampling)" if s.get("ci_method") == "half-sampling" else ""
                interval = f"  [{s['low']:.4f}, {s['high']:.4f}]{half}"
            elif "ci_note" in s:
                interval = "  (no interval: too few items)"
            lines.append(f"{source:<24} {name:<20} {s['n']:>7} {s['score']:>12.4f}{interval}")
    lines.append("")
    lines.extend(f"{name}: {m['signature']}" for name, m in report["metrics"].items())
    return "\n".join(lines)
