"""The dataset builder behind ``mmdial build RECIPE.yaml --out DIR``.

Streams every source of a recipe through validation and filters into Parquet shards per split
(``DIR/data/<split>/part-00000.parquet``, at most ``shard_size`` dialogues each), then writes ``card.md``
(counts per source and split, length plots, skipped records), ``turn_lengths.svg``, ``dialogue_lengths.svg`` and
``provenance.json`` (recipe, versions, git hash, input and output file hashes). Output is deterministic:
re-running the same recipe on the same inputs gives byte-identical files.

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
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmdial_data.arrow import numpy_array, single_chunk, string_array, to_numpy
from mmdial_data.errors import ErrorPolicy, OnError, Skipped, ValidationError
from mmdial_data.io import DEFAULT_ROW_GROUP, ParquetDialogueWriter
from mmdial_data.provenance import file_sha256, provenance
from mmdial_data.read_ahead import read_ahead as read_ahead_batches
from mmdial_data.read_ahead import should_read_ahead
from mmdial_data.readers import read_source_batches
from mmdial_data.recipe import Filters, Recipe, SourceSpec, assign_split, normalize_text, stable_fraction
from mmdial_data.recipe_sources import input_files, read_recipe_source
from mmdial_data.schema import IMAGE_LEVELS, SCHEMA_VERSION, Dialogue
from mmdial_data.validate import EMPTY_TURNS, URL_PATTERN, check_image_uri, validate_dialogue, validated

if TYPE_CHECKING:
    import numpy as np
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


class _ShardedWriter:
    """One open Parquet shard per split, written a row group at a time; a new shard every ``shard_size`` dialogues.

    Memory is bounded by one row group per split (held as flat columns), whatever the size of the input. With
    ``background=True`` the row groups are encoded and written by one worker thread (same bytes, same order).
    """

    def __init__(self, out: Path, shard_size: int, row_group: int = DEFAULT_ROW_GROUP, *, background: bool = False):
        self.out, self.shard_size, self.row_group = out, shard_size, row_group
        self.open: dict[str, ParquetDialogueWriter] = {}
        self.next_index: Counter[str] = Counter()
        self.shards: list[Path] = []
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="mmdial-parquet") if background else None
        self._closed: list[ParquetDialogueWriter] = []  # closed, but maybe still being written in the background

    def _writer(self, split: str) -> ParquetDialogueWriter:
        writer = self.open.get(split)
        if writer is None:
            path = self.out / "data" / split / f"part-{self.next_index[split]:05d}.parquet"
            writer = ParquetDialogueWriter(path, row_group=self.row_group, executor=self.executor)
            self.open[split] = writer
        return writer

    def add(self, d: Dialogue) -> None:
        writer = self._writer(d.split)
        writer.write(d)
        if writer.count >= self.shard_size:
            self._finish(d.split)

    def add_table(self, table: pa.Table) -> None:
        """Add the rows of a unified-schema table, as :meth:`add` of each row in order."""
        import numpy as np

        if not table.num_rows:
            return
        encoded = table.column("split").combine_chunks().dictionary_encode()
        names = encoded.dictionary.to_pylist()
        codes = to_numpy(encoded.indices)
        bounds = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist(), len(codes)]
        for a, b in pairwise(bounds):  # runs of one split, in row order
            split = names[codes[a]]
            while a < b:
                writer = self._writer(split)
                take = min(self.shard_size - writer.count, b - a)
                writer.write_table(table.slice(a, take))
                a += take
                if writer.count >= self.shard_size:
                    self._finish(split)

    def _finish(self, split: str) -> None:
        writer = self.open.pop(split)
        writer.close()
        self._closed.append(writer)
        self.shards.append(writer.path)
        self.next_index[split] += 1

    def close(self) -> None:
        try:
            for split in sorted(self.open):
                self._finish(split)
            for writer in self._closed:
                writer.wait()
        except BaseException:
            self.abort()
            raise
        self._shutdown()

    def abort(self) -> None:
        for writer in [*self._closed, *self.open.values()]:
            writer.abort()
        self.open.clear()
        self._shutdown()

    def _shutdown(self) -> None:
        if self.executor is not None:
            self.executor.shutdown()


def dialogue_fingerprints(d: Dialogue) -> tuple[str, str]:
    """``(exact, near)`` hashes of a dialogue's content: turn texts and image URIs, raw and normalized.

    >>> from mmdial_data import Dialogue, Turn
    >>> a = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "Hi, there!")])
    >>> b = Dialogue("y/test/9", "y", "test", [Turn(0, "B", "system", "hi there")])
    >>> ea, na = dialogue_fingerprints(a); eb, nb = dialogue_fingerprints(b)
    >>> ea == eb, na == nb
    (False, True)
    """
    import hashlib

    exact = hashlib.sha1()
    near = hashlib.sha1()
    for t in d.turns:
        images = "\x01".join(i.uri for i in t.images)
        exact.update(f"{t.text}\x00{images}\x02".encode())
        near.update(f"{normalize_text(t.text)}\x00{images}\x02".encode())
    return exact.hexdigest(), near.hexdigest()


def _language(d: Dialogue) -> str:
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError as exc:
        from mmdial_data.errors import MissingExtraError

        raise MissingExtraError("langdetect", "lang", 'the recipe filter "languages"') from exc
    DetectorFactory.seed = 0
    text = " ".join(t.text for t in d.turns)[:2000]
    try:
        return str(detect(text))
    except LangDetectException:
        return "unknown"


def _weighted(d: Dialogue, weight: float | None, seed: int) -> list[Dialogue]:
    """The copies of ``d`` a source weight asks for: ``floor(w)`` plus one more with probability ``w - floor(w)``."""
    if weight is None or weight == 1:
        return [d]
    whole = int(weight)
    n = whole + (1 if stable_fraction(d.dialogue_id, seed) < weight - whole else 0)
    copies = []
    for k in range(n):
        if k == 0:
            copies.append(d)
        else:
            copy = Dialogue.from_dict(d.to_dict())
            copy.dialogue_id = f"{d.dialogue_id}#{k}"
            copy.meta = {**copy.meta, "copy_of": d.dialogue_id}
            copies.append(copy)
    return copies


def _resplit(d: Dialogue, splits: dict[str, float] | None, seed: int) -> Dialogue:
    if splits is None:
        return d
    base = d.meta.get("copy_of", d.dialogue_id)
    new = assign_split(base, splits, seed)
    original = d.dialogue_id[len(d.source) + 1 :]  # "<old split>/<original id>"
    d.meta = {**d.meta, "original_split": d.split}
    d.dialogue_id, d.split = f"{d.source}/{new}/{original}", new
    return d


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


#: ASCII bytes that ``str.split()`` and ``str.strip()`` treat as whitespace (as a lookup table).
_ASCII_SPACE = bytes(int(chr(c).isspace()) for c in range(256))


def _word_counts(texts: pa.Array) -> np.ndarray:
    """``len(text.split())`` of each string (a null as an empty string).

    ASCII strings are counted on the UTF-8 buffer (word starts: a non-space byte after a space or at the start;
    where no byte is below 32, a byte is a space exactly when it is 32); others, whose whitespace may be any
    Unicode space, with ``str.split``.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    n = len(texts)
    counts = np.zeros(n, np.int64)
    buffers = texts.buffers()
    if n and buffers[2] is not None:
        offsets = np.frombuffer(buffers[1], np.int32)[texts.offset : texts.offset + n + 1]
        first, last = int(offsets[0]), int(offsets[-1])
        data = np.frombuffer(buffers[2], np.uint8)[first:last]
        starts = offsets - first
        controls = len(data) and data.min() < 32  # control bytes: some are spaces (\t, \n, \x1c, ...), some not
        word = np.frombuffer(_ASCII_SPACE, np.uint8)[data] == 0 if controls else data > 32
        begins = word.copy()  # a word byte after a space byte, or the first byte of a string
        np.greater(word[1:], word[:-1], out=begins[1:])
        inside = starts[:-1][starts[:-1] < len(data)]
        begins[inside] = word[inside]
        running = np.zeros(len(data) + 1, np.int32)  # word starts before each byte (< 2**31 bytes)
        np.cumsum(begins, dtype=np.int32, out=running[1:])
        counts = (running[starts[1:]] - running[starts[:-1]]).astype(np.int64)
        if not texts.null_count and (not len(data) or data.max() < 128):  # all ASCII (no byte of a multi-byte char)
            return counts
    ascii_ = pc.string_is_ascii(texts)
    if texts.null_count or not pc.all(ascii_).as_py():
        other = np.flatnonzero(~to_numpy(ascii_, False))
        values = texts.take(numpy_array(other, pa.int64())).to_pylist()
        counts[other] = [0 if v is None else len(v.split()) for v in values]
    return counts


def _suspect_rows(table: pa.Table, turns: pa.ListArray, words: np.ndarray) -> np.ndarray:
    """Rows that may break a rule of :func:`validate_dialogue` (a superset of those that do), vectorized.

    ``words`` are the word counts of the turns: a turn whose text is only whitespace has none. The rules of
    :mod:`mmdial_data.tasks` (``meta["choices"]``/``["documents"]``, a turn's ``extra["doc_ids"]``) are not looked
    at: no columnar reader writes those keys (scanning every meta for them would cost ~20 ms per 100k dialogues),
    so a reader that does must yield such dialogues as objects.
    """
    import numpy as np
    import pyarrow.compute as pc

    n_turns = to_numpy(turns.value_lengths(), 0)
    suspect: np.ndarray = n_turns == 0
    ids, sources, splits, versions = (
        single_chunk(table.column(name)) for name in ("dialogue_id", "source", "split", "schema_version")
    )
    one = [pc.unique(c).to_pylist() for c in (sources, splits, versions)]
    if [len(u) for u in one] == [1, 1, 1] and one[2] == [SCHEMA_VERSION] and None not in (one[0][0], one[1][0]):
        prefix = f"{one[0][0]}/{one[1][0]}/"  # one source and split: every id must start with it, and go on
        if not (
            one[0][0]
            and one[1][0]
            and to_numpy(pc.starts_with(ids, pattern=prefix), False).all()
            and to_numpy(pc.binary_length(ids), 0).min() > len(prefix.encode())
        ):
            suspect[:] = True  # rare: the exact check below sorts them out
    else:
        columns = (c.to_pylist() for c in (ids, sources, splits, versions))
        suspect |= ~np.fromiter(map(_id_ok, *columns), bool, len(ids))
    flat = turns.flatten()
    owner = np.repeat(np.arange(len(n_turns)), n_turns)  # the row of each turn
    starts = np.cumsum(n_turns) - n_turns
    images = flat.field("images")
    n_images = to_numpy(images.value_lengths(), 0)
    bad_turn = (
        (to_numpy(flat.field("turn_index"), -1) != np.arange(len(flat)) - starts[owner])
        | (to_numpy(pc.binary_length(flat.field("role")), 0) == 0)
        | ((words == 0) & (n_images == 0))
    )
    image = images.flatten()
    if len(image):
        bad_image = (
            ~to_numpy(pc.is_in(image.field("level"), value_set=string_array(list(IMAGE_LEVELS))), False)
            | ~to_numpy(pc.is_finite(image.field("score")), True)
            | _bad_uris(image.field("uri"))
        )
        bad_turn[np.repeat(np.arange(len(flat)), n_images)[bad_image]] = True
    suspect[owner[bad_turn]] = True
    return suspect


def _bad_uris(uris: pa.Array) -> np.ndarray:
    """``check_image_uri(uri) is not None`` for each URI (a null as empty), URLs recognized vectorized."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    bad = np.zeros(len(uris), bool)
    other = np.flatnonzero(~to_numpy(pc.match_substring_regex(uris, URL_PATTERN), False))
    if len(other):
        values = uris.take(numpy_array(other, pa.int64())).to_pylist()
        bad[other] = [check_image_uri(u or "") is not None for u in values]
    return bad


def _id_ok(dialogue_id: str, source: str, split: str, version: str) -> bool:
    prefix = f"{source}/{split}/"
    return bool(
        dialogue_id and source and split and version == SCHEMA_VERSION
        and dialogue_id.startswith(prefix) and len(dialogue_id) > len(prefix)
    )  # fmt: skip


def _groups(keys: list[str], rows: list[int]) -> dict[str, list[int]]:
    """``rows`` by ``keys[row]``, keys in order of first occurrence."""
    if len(set(keys)) == 1:
        return {keys[0]: rows} if rows else {}
    out: dict[str, list[int]] = {}
    for row in rows:
        out.setdefault(keys[row], []).append(row)
    return out


def _histogram(values: np.ndarray) -> dict[int, int]:
    """``Counter(values)`` of non-negative integers, as a dict."""
    import numpy as np

    freq = np.bincount(values)
    keys = np.flatnonzero(freq)
    return dict(zip(keys.tolist(), freq[keys].tolist(), strict=True))


def _add_table(
    table: pa.Table,
    *,
    path: str,
    policy: ErrorPolicy,
    filters: Filters,
    writer: _ShardedWriter,
    seen_ids: set[str],
    counts: dict[str, dict[str, dict[str, int]]],
    filtered: Counter[str],
    per_source: dict[str, Counter[str]],
    turn_lengths: dict[str, Counter[int]],
    dialogue_lengths: dict[str, Counter[int]],
) -> int:
    """The steps :func:`build_dataset` takes for each dialogue (validation, filters, the id check, counts,
    histograms, the write) on a table of a columnar reader at once: the same outcome, the errors in row order.
    Returns the number of dialogues written."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    if not n:
        return 0
    turns = single_chunk(table.column("turns"))
    flat = turns.flatten()
    words = _word_counts(flat.field("text"))
    n_turns = to_numpy(turns.value_lengths(), 0)
    errors: list[tuple[int, ValidationError]] = []
    valid = np.ones(n, bool)
    for i in np.flatnonzero(_suspect_rows(table, turns, words)).tolist():
        try:
            validate_dialogue(Dialogue.from_dict(table.slice(i, 1).to_pylist()[0]), path=path)
        except ValidationError as exc:
            errors.append((i, exc))
            valid[i] = False
    image_counts = to_numpy(flat.field("images").value_lengths(), 0)
    cumulative = np.concatenate([[0], np.cumsum(image_counts)])
    offsets = np.concatenate([[0], np.cumsum(n_turns)])
    n_images = cumulative[offsets[1:]] - cumulative[offsets[:-1]]
    sources = table.column("source").to_pylist()
    for source, rows in _groups(sources, np.flatnonzero(valid).tolist()).items():
        per_source[source]["read"] += len(rows)
    # filters: one call per distinct (turns, images) pair
    base = int(n_images.max()) + 1  # (turns, images) as one integer key
    keys, inverse = np.unique(n_turns.astype(np.int64) * base + n_images, return_inverse=True)
    reasons = [filters.reason_to_drop(t, m) for t, m in zip(*map(np.ndarray.tolist, divmod(keys, base)), strict=True)]
    inverse = inverse.reshape(-1)
    dropped = valid & np.array([r is not None for r in reasons])[inverse]
    for i in np.flatnonzero(dropped).tolist():
        reason = reasons[inverse[i]]
        filtered[reason] += 1
        per_source[sources[i]][f"filtered_{reason}"] += 1
    keep = valid & ~dropped
    ids = table.column("dialogue_id").to_pylist()
    candidates = np.flatnonzero(keep).tolist()
    new_ids = ids if len(candidates) == n else [ids[i] for i in candidates]
    if seen_ids.isdisjoint(new_ids) and len(set(new_ids)) == len(new_ids):
        seen_ids.update(new_ids)
    else:
        for i in candidates:
            if ids[i] in seen_ids:
                message = "duplicate dialogue_id across sources"
                errors.append((i, ValidationError(message, path=path, record=f"dialogue {ids[i]}")))
                keep[i] = False
            else:
                seen_ids.add(ids[i])
    errors.sort(key=lambda e: e[0])
    if errors and policy.on_error == "raise":
        keep[errors[0][0] :] = False  # the one-by-one path writes what comes before the error, then raises
    splits = table.column("split").to_pylist()
    kept = np.flatnonzero(keep).tolist()
    for source, rows in _groups(sources, kept).items():
        for split, split_rows in _groups(splits, rows).items():
            c = counts[source][split]
            c["dialogues"] += len(split_rows)
            c["turns"] += int(n_turns[split_rows].sum())
            c["images"] += int(n_images[split_rows].sum())
        per_source[source]["kept"] += len(rows)
        mine = keep
        if len(rows) < len(kept):
            mine = np.zeros(n, bool)
            mine[rows] = True
        turn_lengths[source].update(_histogram(words[np.repeat(mine, n_turns)]))
        dialogue_lengths[source].update(_histogram(n_turns[rows]))
    writer.add_table(table if len(kept) == n else table.filter(numpy_array(keep, pa.bool_())))
    for _, error in errors:
        policy.handle(error)
    return len(kept)


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
    (~20 ms: it imports asyncio)."""
    if not progress:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(desc=desc, unit="dlg")


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


__all__ = ["BuildResult", "SourceSpec", "build_dataset"]
