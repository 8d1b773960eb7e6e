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
    lines += ["", "![turn lengths](turn_lengths.png)", "", "## Filters", ""]
    f = recipe.filters
    lines.append(f"min_turns={f.min_turns}, max_turns={f.max_turns}, has_images={f.has_images}.")
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
        )
    lines += ["", "Provenance (versions, git commit, input hashes): `provenance.json`.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
