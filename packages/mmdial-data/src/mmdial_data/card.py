"""The data card of a build: counts per source and split, a turn-length plot, filters and skipped records."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mmdial_data.build import BuildResult
    from mmdial_data.recipe import Recipe


def write_turn_length_plot(turn_lengths: dict[str, list[int]], path: Path) -> None:
    """A histogram of words per turn, one series per source (PNG, deterministic bytes)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    upper = max((max(v) for v in turn_lengths.values() if v), default=1)
    bins = list(range(0, min(upper, 100) + 2, max(1, min(upper, 100) // 40 or 1)))
    for source, lengths in sorted(turn_lengths.items()):
        ax.hist([min(x, 100) for x in lengths], bins=bins, alpha=0.55, label=f"{source} (n={len(lengths)})")
    ax.set_xlabel("words per turn (capped at 100)")
    ax.set_ylabel("turns")
    ax.set_title("Turn length distribution")
    if turn_lengths:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def write_dialogue_length_plot(dialogue_lengths: dict[str, list[int]], path: Path) -> None:
    """A histogram of turns per dialogue, one series per source (PNG, deterministic bytes)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    upper = min(max((max(v) for v in dialogue_lengths.values() if v), default=1), 200)
    bins = list(range(0, upper + 2, max(1, upper // 40)))
    for source, lengths in sorted(dialogue_lengths.items()):
        ax.hist([min(x, 200) for x in lengths], bins=bins, alpha=0.55, label=f"{source} (n={len(lengths)})")
    ax.set_xlabel("turns per dialogue (capped at 200)")
    ax.set_ylabel("dialogues")
    ax.set_title("Dialogue length distribution")
    if dialogue_lengths:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


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
    for source, lengths in sorted(result.turn_lengths.items()):
        if lengths:
            lines.append(
                f"| {source} | {len(lengths)} | {statistics.fmean(lengths):.2f} | "
                f"{statistics.median(lengths):g} | {max(lengths)} |"
            )
    lines += ["", "![turn lengths](turn_lengths.png)", ""]
    if result.dialogue_lengths:
        lines += [
            "## Dialogue lengths (turns)",
            "",
            "| source | dialogues | mean | median | max |",
            "|---|---:|---:|---:|---:|",
        ]
        for source, lengths in sorted(result.dialogue_lengths.items()):
            if lengths:
                lines.append(
                    f"| {source} | {len(lengths)} | {statistics.fmean(lengths):.2f} | "
                    f"{statistics.median(lengths):g} | {max(lengths)} |"
                )
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
