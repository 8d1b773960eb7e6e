"""The dataset builder behind ``mmdial build RECIPE.yaml --out DIR``.

Streams every source of a recipe through validation and filters into Parquet shards per split
(``DIR/data/<split>/part-00000.parquet``, at most ``shard_size`` dialogues each), then writes ``card.md``
(counts per source and split, length plots, skipped records), ``turn_lengths.svg``, ``dialogue_lengths.svg`` and
``provenance.json`` (recipe, versions, git hash, input and output file hashes). Output is deterministic:
re-running the same recipe on the same inputs gives byte-identical files.

Its parts: the per-dialogue recipe steps in :mod:`.build_steps`, the columnar path for a reader's Arrow tables in
:mod:`.build_table`, the sharded Parquet writer in :mod:`.build_shards`; the card and plots in :mod:`.card`.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data.testing import repo_root
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> result = build_dataset(repo_root() / "datasets" / "recipes" / "demo.yaml", out)
    >>> result.dialogues > 0, (out / "card.md").exists()
    (True, True)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.build_shards import _ShardedWriter as _ShardedWriter
from mmdial_data.build_steps import _language, _resplit, _weighted
from mmdial_data.build_steps import dialogue_fingerprints as dialogue_fingerprints
from mmdial_data.build_table import _add_table
from mmdial_data.build_table import _word_counts as _word_counts
from mmdial_data.errors import ErrorPolicy, OnError, Skipped
from mmdial_data.outputs import write_text_atomic
from mmdial_data.provenance import file_sha256, provenance
from mmdial_data.read_ahead import read_ahead as read_ahead_batches
from mmdial_data.read_ahead import should_read_ahead
from mmdial_data.readers import read_source_batches
from mmdial_data.recipe import Recipe, SourceSpec
from mmdial_data.recipe_sources import input_files, read_recipe_source
from mmdial_data.schema import Dialogue
from mmdial_data.validate import EMPTY_TURNS, validated

if TYPE_CHECKING:
    import pyarrow as pa

    from mmdial_data.engines import Engine


@dataclass
class BuildResult:
    """What a build wrote and counted."""

    out: Path
    dialogues: int
    shards: list[Path]
    counts: dict[str, dict[str, dict[str, int]]]
    filtered: dict[str, int]
    skipped: list[Skipped] = field(default_factory=list)
    #: Per source: histogram of words per turn of the kept dialogues (words -> turns).
    turn_lengths: dict[str, Counter[int]] = field(default_factory=dict)
    #: Per source: dialogues read, removed by filters (by reason), exact/near duplicates, weighting.
    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Per source: histogram of turns per dialogue of the kept dialogues (turns -> dialogues), for the card.
    dialogue_lengths: dict[str, Counter[int]] = field(default_factory=dict)


def _columnar(spec: SourceSpec, recipe: Recipe) -> bool:
    """Whether a source may take the columnar path: no step that needs the dialogue objects one by one."""
    return (
        spec.max_dialogues is None
        and spec.weight is None
        and recipe.filters.languages is None
        and not (recipe.dedup.exact or recipe.dedup.near)
        and recipe.splits is None
    )


def _tables_apart(stream: Iterable[pa.Table | Dialogue], on_table: Callable[[pa.Table], None]) -> Iterator[Dialogue]:
    """Yield the dialogues of ``stream``; hand its tables to ``on_table`` in their place (in stream order, as the
    consumer asks for the next dialogue only once it has finished with the previous one)."""
    for item in stream:
        if isinstance(item, Dialogue):
            yield item
        else:
            on_table(item)


def _portable(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # other drive on Windows
        return str(path)


def build_dataset(
    recipe_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    on_error: OnError | None = None,
    progress: bool = True,
    engine: str | Engine | None = None,
    engine_options: Mapping[str, Any] | None = None,
    read_ahead: bool | None = None,
    allow_empty: bool = True,
) -> BuildResult:
    """Build the dataset described by a recipe file into ``out`` (replacing earlier build outputs there).

    Atomic: everything is written into a temporary folder beside ``out`` and moved into ``out`` only when the
    build has succeeded, so a failed build leaves no output (no empty split folders either) and an earlier
    build in ``out`` untouched; files in ``out`` that a build does not write are kept. ``allow_empty=False``
    makes a build that yields no dialogue an error (:class:`mmdial_data.outputs.EmptyOutputError`).

    ``engine``: ``"local"`` (default) reads the sources here; ``"ray"`` or an engine instance reads and validates
    each source on an engine worker (:mod:`mmdial_data.engines.sources`) while filters, dedup, splits and writing
    stay here, so the outputs are identical. ``engine_options`` configure a named engine (``{"workers": 4}``).
    ``read_ahead`` (local engine, sources without a per-dialogue recipe step): read a source in a child process
    while this one validates and writes (:mod:`mmdial_data.read_ahead`; same outputs); None decides per source
    (at least 4 CPUs and ``MMDIAL_READ_AHEAD_MB`` of input), True/False force it on/off.
    """
    from mmdial_data.engines import resolve_engine

    eng = resolve_engine(engine, engine_options)
    recipe_path = Path(recipe_path)
    recipe = Recipe.load(recipe_path)
    if on_error is not None:
        recipe.on_error = on_error
    out = Path(out)
    from mmdial_data.outputs import check_output, make_parents, remove, remove_dirs

    check_output(out, kind="dir", overwrite=True)
    created = [] if out.is_dir() else make_parents(out)
    try:  # inside an existing out (its parent need not be writable), else beside it
        where = (out, ".build.") if out.is_dir() else (out.parent, f".{out.name}.")
        stage = Path(tempfile.mkdtemp(prefix=where[1], suffix=".partial", dir=where[0]))
    except BaseException:
        remove_dirs(created)
        raise
    try:
        result = _build_into(
            recipe, recipe_path, stage, progress=progress, eng=eng, read_ahead=read_ahead, allow_empty=allow_empty
        )
        _commit_build(stage, out)
    except BaseException:
        remove(stage)
        remove_dirs(created)
        raise
    result.out = out
    result.shards = [out / p.relative_to(stage) for p in result.shards]
    return result


def _commit_build(stage: Path, out: Path) -> None:
    """Move a finished build from ``stage`` into ``out``: the whole folder when ``out`` is new, else entry by
    entry (a folder moved aside, replaced, then removed), keeping what else ``out`` holds."""
    from mmdial_data.outputs import commit

    if not out.exists():
        commit(stage, out)
        return
    for entry in sorted(stage.iterdir()):
        commit(entry, out / entry.name)
    stage.rmdir()


def _build_into(
    recipe: Recipe,
    recipe_path: Path,
    out: Path,
    *,
    progress: bool,
    eng: Engine | None,
    read_ahead: bool | None,
    allow_empty: bool,
) -> BuildResult:
    """The build of :func:`build_dataset` into the (new, empty) folder ``out``."""
    base = recipe_path.parent
    policy = ErrorPolicy(recipe.on_error)
    on_engine = None
    if eng is not None:
        from mmdial_data.engines.sources import SourcesOnEngine

        on_engine = SourcesOnEngine(recipe, base, out, eng, progress=progress)
    sources = read_recipe_source if on_engine is None else on_engine
    writer = _ShardedWriter(out, recipe.shard_size, background=True)  # Parquet encoding overlaps reading
    counts: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: Counter()))
    filtered: Counter[str] = Counter()
    turn_lengths: dict[str, Counter[int]] = defaultdict(Counter)
    hasher = ThreadPoolExecutor(1, thread_name_prefix="mmdial-sha256")  # input hashes, also in the background
    hashes: dict[str, Future[str]] = {}
    seen_ids: set[str] = set()
    total = 0
    bar = _progress_bar(f"build {recipe.name}", progress)
    per_source: dict[str, Counter[str]] = defaultdict(Counter)
    dialogue_lengths: dict[str, Counter[int]] = defaultdict(Counter)
    seen_exact: set[str] = set()
    seen_near: set[str] = set()

    def add_table(table: pa.Table, *, path: str) -> None:  # a columnar reader's batch: the loop below, vectorized
        nonlocal total
        n = _add_table(
            table, path=path, policy=policy, filters=recipe.filters, writer=writer, seen_ids=seen_ids,
            counts=counts, filtered=filtered, per_source=per_source, turn_lengths=turn_lengths,
            dialogue_lengths=dialogue_lengths,
        )  # fmt: skip
        total += n
        bar.update(n)

    try:
        for i, spec in enumerate(recipe.sources):
            paths = recipe.resolve_paths(spec, base)
            for f in input_files(paths):
                hashes[_portable(f, base)] = hasher.submit(file_sha256, f)
            if on_engine is None and _columnar(spec, recipe):
                if should_read_ahead(spec.reader, paths, read_ahead):
                    batches = read_ahead_batches(
                        spec.reader, paths, split=spec.split, options=spec.options, policy=policy
                    )
                else:
                    batches = read_source_batches(
                        spec.reader, paths, split=spec.split, on_error=policy, options=spec.options
                    )
                stream = _tables_apart(batches, partial(add_table, path=str(paths[0])))
                dialogues = validated(stream, path=str(paths[0]), policy=policy, unique_ids=False)
            else:
                dialogues = sources(i, spec, paths, policy, recipe.seed)
            for d in dialogues:
                stats = per_source[d.source]
                stats["read"] += 1
                if EMPTY_TURNS in d.meta:  # the schema's empty-turn rule took turns out (kept in the meta)
                    stats["empty_turns_dropped"] += len(d.meta[EMPTY_TURNS])
                n_images = sum(len(t.images) for t in d.turns)
                reason = recipe.filters.reason_to_drop(len(d.turns), n_images)
                if (
                    reason is None
                    and recipe.filters.languages is not None
                    and _language(d) not in recipe.filters.languages
                ):
                    reason = "languages"
                if reason is not None:
                    filtered[reason] += 1
                    stats[f"filtered_{reason}"] += 1
                    continue
                if recipe.dedup.exact or recipe.dedup.near:
                    exact, near = dialogue_fingerprints(d)
                    if recipe.dedup.exact and exact in seen_exact:
                        stats["exact_duplicates"] += 1
                        continue
                    if recipe.dedup.near and near in seen_near:
                        stats["near_duplicates"] += 1
                        continue
                    seen_exact.add(exact)
                    seen_near.add(near)
                copies = _weighted(d, spec.weight, recipe.seed)
                if spec.weight is not None:
                    stats["weighted_out"] += len(copies)
                for d in copies:
                    d = _resplit(d, recipe.splits, recipe.seed)
                    if d.dialogue_id in seen_ids:
                        from mmdial_data.errors import ValidationError

                        policy.handle(
                            ValidationError(
                                "duplicate dialogue_id across sources",
                                path=str(paths[0]),
                                record=f"dialogue {d.dialogue_id}",
                            )
                        )
                        continue
                    seen_ids.add(d.dialogue_id)
                    c = counts[d.source][d.split]
                    c["dialogues"] += 1
                    c["turns"] += len(d.turns)
                    c["images"] += n_images
                    stats["kept"] += 1
                    words = turn_lengths[d.source]
                    for t in d.turns:
                        words[len(t.text.split())] += 1
                    dialogue_lengths[d.source][len(d.turns)] += 1
                    writer.add(d)
                    total += 1
                    bar.update(1)
        inputs = {name: digest.result() for name, digest in hashes.items()}
    except BaseException:
        writer.abort()
        bar.leave = False  # a failed build's bar is cleared: the error is what stays on the terminal
        bar.close()
        raise
    finally:
        hasher.shutdown(cancel_futures=True)
    writer.close()
    bar.close()
    if on_engine is not None:
        on_engine.close()
    if total == 0 and not allow_empty:
        from mmdial_data.outputs import EmptyOutputError

        raise EmptyOutputError(
            "the recipe yields no dialogues (check its paths, filters and on_error skips); "
            "pass --allow-empty to build an empty dataset",
            path=recipe_path,
        )
    result = BuildResult(
        out=out,
        dialogues=total,
        shards=writer.shards,
        counts={s: {sp: dict(c) for sp, c in v.items()} for s, v in counts.items()},
        filtered=dict(filtered),
        skipped=list(policy.skipped),
        turn_lengths=dict(turn_lengths),
        per_source={k: dict(sorted(v.items())) for k, v in sorted(per_source.items())},
        dialogue_lengths=dict(dialogue_lengths),
    )
    from mmdial_data.card import write_card, write_dialogue_length_plot, write_turn_length_plot

    write_turn_length_plot(result.turn_lengths, out / "turn_lengths.svg")
    write_dialogue_length_plot(result.dialogue_lengths, out / "dialogue_lengths.svg")
    write_card(recipe, result, out / "card.md")
    record = provenance(
        config=recipe.to_dict(),
        seed=recipe.seed,
        inputs=inputs,
        extra={
            "recipe_file": _portable(recipe_path, Path.cwd()),
            "outputs": {str(p.relative_to(out)): file_sha256(p) for p in writer.shards},
            "skipped": [s.__dict__ for s in policy.skipped],
            "per_source": result.per_source,
        },
    )
    _write_json(out / "provenance.json", record)
    return result


class _NoProgress:
    """The part of a tqdm bar :func:`build_dataset` uses, doing nothing."""

    leave = True

    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def _progress_bar(desc: str, progress: bool) -> Any:
    """A tqdm bar counting dialogues, or (progress off) one that does nothing without importing tqdm.auto
    (which imports asyncio)."""
    if not progress:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(desc=desc, unit="dlg")


def _write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


__all__ = ["BuildResult", "SourceSpec", "build_dataset"]
