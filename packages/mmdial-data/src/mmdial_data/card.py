"""The data card of a build: counts per source and split, a turn-length plot, filters and skipped records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmdial_data.build import BuildResult
    from mmdial_data.recipe import Recipe


#: A histogram: value -> how often it occurs (a ``Counter``); a plain list of values is accepted too.
Histogram = Mapping[int, int] | Sequence[int]


def _as_hist(values: Histogram) -> Mapping[int, int]:
    return values if isinstance(values, Mapping) else Counter(values)


def histogram_summary(values: Histogram) -> tuple[int, float, float, int] | None:
    """``(n, mean, median, max)`` of a histogram, equal to the ``statistics`` functions on the expanded values.

    >>> histogram_summary(Counter({2: 3, 7: 1}))
    (4, 3.25, 2.0, 7)
    >>> histogram_summary([2, 2, 2, 7]) == histogram_summary(Counter({2: 3, 7: 1}))
    True
    >>> histogram_summary({}) is None
    True
    """
    hist = _as_hist(values)
    items = sorted((k, c) for k, c in hist.items() if c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        return None

    def nth(i: int) -> int:  # the i-th value (0-based) of the sorted expansion
        seen = 0
        for k, c in items:
            seen += c
            if i < seen:
                return k
        raise IndexError(i)

    median: float = nth(n // 2) if n % 2 else (nth(n // 2 - 1) + nth(n // 2)) / 2
    return n, sum(k * c for k, c in items) / n, median, items[-1][0]


def _histogram_plot(
    series: Mapping[str, Histogram], path: Path, *, cap: int, xlabel: str, ylabel: str, title: str
) -> None:
    """Overlaid histograms, one per series, values capped at ``cap`` (PNG, deterministic bytes).

    Uses matplotlib's object API (no pyplot, no global backend change); imported only here.
    """
    from matplotlib.figure import Figure

    hists = {name: _as_hist(v) for name, v in series.items()}
    fig = Figure(figsize=(6.4, 3.6), dpi=100)
    ax = fig.subplots()
    upper = min(max((max(k for k, c in h.items() if c) for h in hists.values() if any(h.values())), default=1), cap)
    bins = list(range(0, upper + 2, max(1, upper // 40)))
    for name, hist in sorted(hists.items()):
        capped: Counter[int] = Counter()
        for k, c in hist.items():
            capped[min(k, cap)] += c
        keys = sorted(capped)
        ax.hist(keys, bins=bins, weights=[capped[k] for k in keys], alpha=0.55, label=f"{name} (n={capped.total()})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if hists:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})


def write_turn_length_plot(turn_lengths: Mapping[str, Histogram], path: Path) -> None:
    """A histogram of words per turn, one series per source (PNG, deterministic bytes)."""
    _histogram_plot(
        turn_lengths, path, cap=100, xlabel="words per turn (capped at 100)", ylabel="turns",
        title="Turn length distribution",
    )  # fmt: skip


def write_dialogue_length_plot(dialogue_lengths: Mapping[str, Histogram], path: Path) -> None:
    """A histogram of turns per dialogue, one series per source (PNG, deterministic bytes)."""
    _histogram_plot(
        dialogue_lengths, path, cap=200, xlabel="turns per dialogue (capped at 200)", ylabel="dialogues",
        title="Dialogue length distribution",
    )  # fmt: skip


def _summary_rows(series: Mapping[str, Histogram]) -> list[str]:
    rows = []
    for source, values in sorted(series.items()):
        summary = histogram_summary(values)
        if summary is not None:
            n, mean, median, top = summary
            rows.append(f"| {source} | {n} | {mean:.2f} | {median:g} | {top} |")
    return rows


def write_card(recipe: Recipe, result: BuildResult, path: Path) -> None:
    """Write ``card.md`` for a build."""
    lines = [
        f"# Data card: {recipe.name}",
        "",
        f"Recipe version {recipe.version}, seed {recipe.seed}, "
        f"{result.dialogues} dialogues in {len(result.shards)} Parquet shards (schema v1).",
        "",
        "## Counts per source and split",
        "",
        "| source | split | dialogues | turns | images |",
        "|---|---|---:|---:|---:|",
    ]
    for source in sorted(result.counts):
        for split in sorted(result.counts[source]):
            c = result.counts[source][split]
            lines.append(f"| {source} | {split} | {c['dialogues']} | {c['turns']} | {c['images']} |")
    lines += [
        "",
        "## Turn lengths (words)",
        "",
        "| source | turns | mean | median | max |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += _summary_rows(result.turn_lengths)
    lines += ["", "![turn lengths](turn_lengths.png)", ""]
    if result.dialogue_lengths:
        lines += [
            "## Dialogue lengths (turns)",
            "",
            "| source | dialogues | mean | median | max |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += _summary_rows(result.dialogue_lengths)
        lines += ["", "![dialogue lengths](dialogue_lengths.png)", ""]
    if result.per_source:
        keys = sorted({k for v in result.per_source.values() for k in v} - {"read", "kept"})
        lines += [
            "## Per source: read, filtered, duplicates, kept",
            "",
            "| source | read | " + " | ".join(keys) + (" | " if keys else "") + "kept |",
            "|---|---:|" + "---:|" * len(keys) + "---:|",
        ]
        for source, v in sorted(result.per_source.items()):
            cells = " | ".join(str(v.get(k, 0)) for k in keys)
            lines.append(
                f"| {source} | {v.get('read', 0)} | " + (cells + " | " if keys else "") + f"{v.get('kept', 0)} |"
            )
        lines.append("")
    if recipe.dedup.exact or recipe.dedup.near:
        lines += [
            f"Duplicates removed (exact={recipe.dedup.exact}, near={recipe.dedup.near}; near = same NFKC-lowercased "
            "text without punctuation): "
            f"{sum(v.get('exact_duplicates', 0) for v in result.per_source.values())} exact, "
            f"{sum(v.get('near_duplicates', 0) for v in result.per_source.values())} near.",
            "",
        ]
    if recipe.splits is not None:
        fractions = ", ".join(f"{k} {v:g}" for k, v in recipe.splits.items())
        lines += [
            f"Splits re-assigned by a seeded hash of each dialogue id ({fractions}; seed {recipe.seed}); "
            "the source split is kept in `meta.original_split`.",
            "",
        ]
    lines += ["## Filters", ""]
    f = recipe.filters
    lines.append(
        f"min_turns={f.min_turns}, max_turns={f.max_turns}, has_images={f.has_images}"
        + (f", languages={f.languages}" if f.languages is not None else "")
        + "."
    )
    if result.filtered:
        lines.append("Removed: " + ", ".join(f"{k}: {v}" for k, v in sorted(result.filtered.items())) + ".")
    else:
        lines.append("No dialogue was removed by filters.")
    lines += ["", "## Skipped records", ""]
    if result.skipped:
        lines += ["| file | record | reason |", "|---|---|---|"]
        for s in result.skipped:
            reason = s.reason.replace("|", "\\|")
            lines.append(f"| {s.path or ''} | {s.record or ''} | {reason} |")
    else:
        lines.append("None (on_error=" + recipe.on_error + ").")
    lines += ["", "## Sources", ""]
    for spec in recipe.sources:
        lines.append(
            f"- `{spec.reader}`: {', '.join(spec.paths)}"
            + (f" (split {spec.split})" if spec.split else "")
            + (f", at most {spec.max_dialogues} dialogues" if spec.max_dialogues is not None else "")
            + (f", weight {spec.weight:g}" if spec.weight is not None else "")
        )
    lines += ["", "Provenance (versions, git commit, input hashes): `provenance.json`.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
