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


#: Series colours (matplotlib's tab10), in the order of the sorted series names.
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_WIDTH, _HEIGHT = 640, 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 36, 48


def _nice_step(top: float, ticks: int = 5) -> int:
    """The 1-2-5 x 10^k step (at least 1) giving about ``ticks`` ticks from 0 to ``top``."""
    raw = max(top / ticks, 1.0)
    magnitude = int(10 ** (len(str(int(raw))) - 1))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def histogram_bins(series: Mapping[str, Histogram], cap: int) -> tuple[int, dict[str, list[int]]]:
    """``(bin width, counts per bin per series)`` of the card's plots: values capped at ``cap``, bins of
    ``max(1, upper // 40)`` from 0 to ``upper`` (the largest capped value), the last bin closed.

    >>> histogram_bins({"a": [0, 1, 1, 3], "b": Counter({250: 2})}, cap=5)
    (1, {'a': [1, 2, 0, 1, 0, 0], 'b': [0, 0, 0, 0, 0, 2]})
    """
    hists = {name: _as_hist(v) for name, v in series.items()}
    upper = min(max((k for h in hists.values() for k, c in h.items() if c), default=1), cap)
    width = max(1, upper // 40)
    n_bins = upper // width + 1
    counts: dict[str, list[int]] = {}
    for name, hist in sorted(hists.items()):
        row = [0] * n_bins
        for k, c in hist.items():
            if c:
                row[min(min(k, cap) // width, n_bins - 1)] += c
        counts[name] = row
    return width, counts


def _histogram_plot(
    series: Mapping[str, Histogram], path: Path, *, cap: int, xlabel: str, ylabel: str, title: str
) -> None:
    """Overlaid histograms, one translucent bar series per source (:func:`histogram_bins`), written as SVG.

    Plain text with no plotting library (nothing heavy to import, deterministic bytes, diffable); each bar
    has a ``<title>`` (shown on hover) with its source, range and count.
    """
    from xml.sax.saxutils import escape, quoteattr

    width, counts = histogram_bins(series, cap)
    n_bins = len(next(iter(counts.values()), [0]))
    peak = max((c for row in counts.values() for c in row), default=0)
    y_step = _nice_step(peak)
    y_top = max(y_step, -(-peak // y_step) * y_step)
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM
    bar_w = plot_w / n_bins

    def x_at(value: float) -> float:
        return _LEFT + value / width * bar_w

    def y_at(count: float) -> float:
        return _TOP + plot_h * (1 - count / y_top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="white"/>',
        f'<text x="{_WIDTH / 2:g}" y="22" text-anchor="middle" font-size="13">{escape(title)}</text>',
    ]
    for tick in range(0, y_top + 1, y_step):
        y = y_at(tick)
        out.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    x_step = _nice_step(n_bins * width, 8)
    for tick in range(0, n_bins * width + 1, x_step):
        x = x_at(tick)
        out.append(f'<line x1="{x:.1f}" y1="{_TOP + plot_h}" x2="{x:.1f}" y2="{_TOP + plot_h + 4}" stroke="black"/>')
        out.append(f'<text x="{x:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{tick}</text>')
    for i, (name, row) in enumerate(counts.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        out.append(f'<g fill="{colour}" fill-opacity="0.55" data-series={quoteattr(name)}>')
        for b, count in enumerate(row):
            if count:
                low = b * width
                label = f"{low}" if width == 1 else f"{low}-{low + width - 1}"
                if b == n_bins - 1 and low + width - 1 >= cap:
                    label = f"{low}+"
                y = y_at(count)
                out.append(
                    f'<rect x="{x_at(low):.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{_TOP + plot_h - y:.1f}">'
                    f"<title>{escape(name)}: {label}, {count}</title></rect>"
                )
        out.append("</g>")
        legend_y = _TOP + 8 + 16 * i
        out.append(
            f'<rect x="{_WIDTH - _RIGHT - 190}" y="{legend_y}" width="12" height="10" fill="{colour}" '
            f'fill-opacity="0.55"/><text x="{_WIDTH - _RIGHT - 172}" y="{legend_y + 9}">'
            f"{escape(name)} (n={sum(row)})</text>"
        )
    out += [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>',
        f'<text x="{_LEFT + plot_w / 2:g}" y="{_HEIGHT - 10}" text-anchor="middle">{escape(xlabel)}</text>',
        f'<text transform="translate(16 {_TOP + plot_h / 2:g}) rotate(-90)" text-anchor="middle">'
        f"{escape(ylabel)}</text>",
        "</svg>",
    ]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_turn_length_plot(turn_lengths: Mapping[str, Histogram], path: Path) -> None:
    """A histogram of words per turn, one series per source (SVG, deterministic bytes)."""
    _histogram_plot(
        turn_lengths, path, cap=100, xlabel="words per turn (capped at 100)", ylabel="turns",
        title="Turn length distribution",
    )  # fmt: skip


def write_dialogue_length_plot(dialogue_lengths: Mapping[str, Histogram], path: Path) -> None:
    """A histogram of turns per dialogue, one series per source (SVG, deterministic bytes)."""
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


def source_license(reader: str) -> str:
    """The licence of a reader's dataset as the card shows it (``ReaderInfo.license``).

    Example:
        >>> source_license("visdial")
        'CC BY 4.0'
        >>> source_license("no_such_reader")
        'not given by the reader'
    """
    from mmdial_data.readers import get_reader

    try:
        license = get_reader(reader).license
    except KeyError:
        license = None
    return license or "not given by the reader"


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
    lines += ["", "![turn lengths](turn_lengths.svg)", ""]
    if result.dialogue_lengths:
        lines += [
            "## Dialogue lengths (turns)",
            "",
            "| source | dialogues | mean | median | max |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += _summary_rows(result.dialogue_lengths)
        lines += ["", "![dialogue lengths](dialogue_lengths.svg)", ""]
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
        dropped = sum(v.get("empty_turns_dropped", 0) for v in result.per_source.values())
        if dropped:
            lines += [
                f"Empty turns dropped: {dropped} (no text and no image; taken out of their dialogues, which are "
                "kept, and stored whole in `meta.empty_turns`).",
                "",
            ]
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
    lines += [
        "",
        "## Sources",
        "",
        "Each with its licence as the dataset's source states it (`mmdial sources`); the build is bound by the terms "
        "of every one of them.",
        "",
    ]
    for spec in recipe.sources:
        lines.append(
            f"- `{spec.reader}`: {', '.join(spec.paths)}"
            + (f" (split {spec.split})" if spec.split else "")
            + (f", at most {spec.max_dialogues} dialogues" if spec.max_dialogues is not None else "")
            + (f", weight {spec.weight:g}" if spec.weight is not None else "")
            + f"; licence: {source_license(spec.reader)}"
        )
    lines += ["", "Provenance (versions, git commit, input hashes): `provenance.json`.", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
