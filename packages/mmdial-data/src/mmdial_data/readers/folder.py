"""Generic reader for your own data: JSON Lines or CSV files with one row per turn, and a column mapping.

The mapping says which column holds which unified field. It comes from the reader's ``columns`` option
(``read_source("folder", path, options={"columns": {...}})`` or ``options:`` in a recipe source) or from a
``columns.yaml``/``columns.json`` file in the data folder; without either, columns named like the fields
are used. Fields: ``dialogue_id`` and ``text`` (required), ``speaker``, ``role``, ``turn_index`` (turns are
ordered by it, else by row order), ``split``, ``image`` (an image uri or URL; ``image_id``, ``caption``,
``image_source`` for it), ``emotion``, ``intent``, ``knowledge`` (a string or list). ``meta_columns`` (a list)
names dialogue-level columns that go to ``meta`` (they must be constant within a dialogue); every other
column goes to the turn's ``extra``. Rows of one dialogue must be contiguous. ``source`` (default
``folder``) names the dataset: ids are ``<source>/<split>/<dialogue_id>``.

Example mapping (``columns.yaml``)::

    source: mychat
    columns: {dialogue_id: conv, text: utterance, speaker: who, image: photo}
    meta_columns: [topic]
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import infer_split, iter_lines
from mmdial_data.schema import Annotations, Dialogue, ImageRef, Turn

LICENSE = "n/a (your data)"
CITATION = "n/a (your data)"
FIELDS = (
    "dialogue_id", "text", "speaker", "role", "turn_index", "split", "image", "image_id", "caption",
    "image_source", "emotion", "intent", "knowledge",
)  # fmt: skip
_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv")


def load_mapping(folder: Path) -> dict[str, Any]:
    """The ``columns.yaml``/``columns.json`` mapping of a data folder, or ``{}``."""
    for name in ("columns.yaml", "columns.yml", "columns.json"):
        p = folder / name
        if p.exists():
            import yaml

            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise SourceFormatError("the column mapping must be a mapping", path=p)
            return data
    return {}


def read_folder(
    path: Path,
    *,
    split: str | None,
    policy: ErrorPolicy,
    columns: dict[str, str] | None = None,
    meta_columns: list[str] | None = None,
    source: str | None = None,
) -> Iterator[Dialogue]:
    """Yield dialogues from turn-per-row JSONL/CSV/TSV files (a file or a folder of them).

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_folder(demo_dir() / "folder", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[1].images[0].uri, d.meta["topic"]
        ('mychat/train/c1', 'photos/cake.png', 'baking')
    """
    folder = path if path.is_dir() else path.parent
    config = load_mapping(folder)
    unknown = set(config) - {"columns", "meta_columns", "source"}
    if unknown:
        raise SourceFormatError(f"unknown mapping keys {sorted(unknown)}", path=folder / "columns.yaml")
    mapping = {f: f for f in FIELDS} | dict(config.get("columns") or {}) | dict(columns or {})
    bad = set(mapping) - set(FIELDS)
    if bad:
        raise SourceFormatError(
            f"unknown fields in the column mapping: {sorted(bad)} (known: {', '.join(FIELDS)})", path=folder
        )
    meta_cols = list(meta_columns if meta_columns is not None else config.get("meta_columns") or [])
    name = source or config.get("source") or "folder"
    files = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise SourceFormatError(f"no {'/'.join(_SUFFIXES)} files in this folder", path=path)
    for file in files:
        yield from _read_file(file, split, policy, mapping, meta_cols, name)


def _rows(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if file.suffix in (".jsonl", ".ndjson"):
        for lineno, line in iter_lines(file):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceFormatError(f"malformed JSON ({exc.msg})", path=file, record=f"line {lineno}") from exc
            if not isinstance(row, dict):
                raise SourceFormatError("a row must be a JSON object", path=file, record=f"line {lineno}")
            yield lineno, row
        return
    delimiter = "\t" if file.suffix == ".tsv" else ","
    lines = iter_lines(file)
    header_line = next(lines, None)
    if header_line is None:
        raise SourceFormatError("empty file (no header)", path=file, record="line 1")
    header = next(csv.reader([header_line[1]], delimiter=delimiter))
    for lineno, line in lines:
        if not line.strip():
            continue
        values = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        if len(values) != len(header):
            raise SourceFormatError(
                f"expected {len(header)} fields, found {len(values)}", path=file, record=f"line {lineno}"
            )
        yield lineno, dict(zip(header, values, strict=True))


def _read_file(
    file: Path, split: str | None, policy: ErrorPolicy, mapping: dict[str, str], meta_cols: list[str], source: str
) -> Iterator[Dialogue]:
    default_split = split or infer_split(file)
    seen: set[str] = set()
    group: list[tuple[int, dict[str, Any]]] = []
    broken = False

    def finish() -> Iterator[Dialogue]:
        if group and not broken:
            try:
                yield _dialogue(group, file, mapping, meta_cols, source, split, default_split)
            except SourceFormatError as exc:
                policy.handle(exc)

    current: str | None = None
    try:
        for lineno, row in _rows(file):
            did = row.get(mapping["dialogue_id"])
            if did is None or str(did) == "":
                policy.handle(
                    SourceFormatError(f"no {mapping['dialogue_id']!r} column value", path=file, record=f"line {lineno}")
                )
                continue
            did = str(did)
            if did != current:
                yield from finish()
                group, broken, current = [], False, did
                if did in seen:
                    broken = True
                    policy.handle(
                        SourceFormatError(
                            f"dialogue {did!r} continues after other rows", path=file, record=f"line {lineno}"
                        )
                    )
                seen.add(did)
            group.append((lineno, row))
    except SourceFormatError as exc:
        policy.handle(exc)
        return
    yield from finish()


def _dialogue(
    rows: list[tuple[int, dict[str, Any]]],
    file: Path,
    mapping: dict[str, str],
    meta_cols: list[str],
    source: str,
    split_override: str | None,
    default_split: str,
) -> Dialogue:
    first_line, first = rows[0]
    did = str(first[mapping["dialogue_id"]])
    record = f"dialogue {did} (line {first_line})"
    if mapping["turn_index"] in first:
        try:
            rows = sorted(rows, key=lambda r: int(r[1][mapping["turn_index"]]))
        except (TypeError, ValueError):
            raise SourceFormatError("turn_index must be an integer", path=file, record=record) from None
    used = {mapping[f] for f in FIELDS} | set(meta_cols)
    meta: dict[str, Any] = {c: first[c] for c in meta_cols if c in first}
    turns = []
    for i, (lineno, row) in enumerate(rows):
        where = f"line {lineno}"
        for c in meta_cols:
            if row.get(c) != meta.get(c):
                raise SourceFormatError(f"meta column {c!r} differs within dialogue {did}", path=file, record=where)
        text = row.get(mapping["text"])
        if text is None:
            raise SourceFormatError(f"no {mapping['text']!r} column", path=file, record=where)
        images = []
        uri = row.get(mapping["image"])
        if uri:
            images.append(
                ImageRef(
                    str(row.get(mapping["image_id"]) or uri),
                    str(uri),
                    str(row.get(mapping["image_source"]) or source),
                    caption=row.get(mapping["caption"]) or None,
                    level="turn",
                )
            )
        knowledge = row.get(mapping["knowledge"]) or []
        speaker = str(row.get(mapping["speaker"]) if row.get(mapping["speaker"]) is not None else "AB"[i % 2])
        extra = {k: v for k, v in row.items() if k not in used}
        role_value = row.get(mapping["role"])
        role = str(role_value) if role_value else (f"speaker_{speaker.lower()}" if speaker in ("A", "B") else speaker)
        turns.append(
            Turn(
                i,
                speaker,
                role,
                str(text).strip(),
                images=images,
                annotations=Annotations(
                    emotion=row.get(mapping["emotion"]) or None,
                    intent=row.get(mapping["intent"]) or None,
                    knowledge=[knowledge] if isinstance(knowledge, str) else [str(k) for k in knowledge],
                    extra=extra,
                ),
            )
        )
    split = split_override or str(first.get(mapping["split"]) or default_split)
    meta["line"] = first_line
    return Dialogue(f"{source}/{split}/{did}", source, split, turns, meta)
