"""Pool source formats: how a folder or a listing file becomes the candidates of an :class:`ImagePool`.

Each format is a reader ``(path, *, image_root=None) -> SourceListing`` in one registry
(:func:`register_pool_source`, :func:`list_pool_sources`, :func:`get_pool_source`); ``ImagePool.add(fmt, path)``
checks and adds what the reader lists, so a new format is one function here or in user code, never a new
method of the generic pool. Built in: ``folder`` (every image file, no captions), ``captions`` (a CSV/TSV or
JSONL listing), ``coco`` (COCO caption annotations), ``tuxpaint`` (Debian's ``tuxpaint-stamps-default`` layout:
caption = first line of the ``.txt`` beside each image).

Example:
    >>> list_pool_sources()
    ['captions', 'coco', 'folder', 'tuxpaint']
    >>> get_pool_source("tuxpiant")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown pool source format 'tuxpiant'; did you mean 'tuxpaint'?
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import MMDialDataError
from mmdial_data.registry import Registry
from mmdial_retrieval.images import IMAGE_EXTENSIONS
from mmdial_retrieval.pool_items import Candidate, PoolProblem

#: Where Debian's ``tuxpaint-stamps-default`` installs the stamps.
TUXPAINT_STAMPS = Path("/usr/share/tuxpaint/stamps")

_PATH_COLUMNS = ("image", "file", "file_name", "filename", "path", "uri", "image_path")
_CAPTION_COLUMNS = ("caption", "text", "title", "description")


@dataclass
class SourceListing:
    """What a source format lists: the root the uris are relative to, the candidates, the record of the
    addition kept in ``pool.json``, problems found while listing, and the source name used by default."""

    root: Path
    candidates: list[Candidate]
    addition: dict[str, Any]
    default_source: str
    problems: list[PoolProblem] = field(default_factory=list)


#: A source format's reader.
PoolSourceReader = Callable[..., SourceListing]
#: Pool source formats by name.
POOL_SOURCES: Registry[PoolSourceReader] = Registry("pool source format")


def register_pool_source(name: str, reader: PoolSourceReader, *, replace: bool = False) -> None:
    """Register ``reader(path, *, image_root=None) -> SourceListing`` as source format ``name``."""
    POOL_SOURCES.register(name, reader, replace=replace)


def list_pool_sources() -> list[str]:
    """The registered source formats, sorted."""
    return POOL_SOURCES.names()


def get_pool_source(name: str) -> PoolSourceReader:
    """The reader of source format ``name``; :class:`~mmdial_data.registry.UnknownNameError` (a ``ValueError``)
    with a "did you mean" hint when unknown."""
    return POOL_SOURCES.get(name)


def read_folder(path: str | os.PathLike[str], *, image_root: str | os.PathLike[str] | None = None) -> SourceListing:
    """Every image file under ``path`` (recursively, sorted); no captions."""
    root = _existing_dir(path)
    candidates = [Candidate(p, p.relative_to(root).as_posix(), None) for p in _image_files(root)]
    return SourceListing(root, candidates, {"format": "folder", "path": str(root)}, root.name)


def read_captions(path: str | os.PathLike[str], *, image_root: str | os.PathLike[str] | None = None) -> SourceListing:
    """The images listed in a CSV/TSV (header with an image column and a caption column) or JSONL file.

    Image columns: ``image``, ``file``, ``file_name``, ``filename``, ``path``, ``uri``, ``image_path``;
    caption columns: ``caption``, ``text``, ``title``, ``description``. Relative image paths are resolved
    against ``image_root`` (default: the captions file's folder).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: captions file not found")
    root = _existing_dir(image_root) if image_root is not None else path.parent.resolve()
    candidates, problems = [], []
    for record, row in _read_caption_rows(path):
        image = _first(row, _PATH_COLUMNS)
        if not image:
            raise MMDialDataError(f"no image column (one of {', '.join(_PATH_COLUMNS)})", path=path, record=record)
        caption = _first(row, _CAPTION_COLUMNS)
        file = (root / image).resolve()
        try:
            uri = file.relative_to(root).as_posix()
        except ValueError:
            problems.append(PoolProblem(str(file), "missing", f"{path}, {record}: image outside root {root}"))
            continue
        candidates.append(Candidate(file, uri, caption.strip() if caption else None))
    addition = {"format": "captions", "path": str(path), "image_root": str(root)}
    return SourceListing(root, candidates, addition, path.stem, problems)


def read_coco(path: str | os.PathLike[str], *, image_root: str | os.PathLike[str] | None = None) -> SourceListing:
    """The images of a COCO captions file (``images`` + ``annotations`` with ``caption``) under ``image_root``.

    The first caption (lowest annotation id) becomes ``caption``, the rest ``extra_captions``.
    """
    if image_root is None:
        raise ValueError("coco needs image_root (the folder with the images)")
    annotations = Path(path)
    try:
        data = json.loads(annotations.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{annotations}: COCO annotations not found") from None
    except json.JSONDecodeError as exc:
        raise MMDialDataError(f"not valid JSON: {exc}", path=annotations) from exc
    if not isinstance(data, dict) or "images" not in data:
        raise MMDialDataError("not a COCO file (no 'images' list)", path=annotations)
    root = _existing_dir(image_root)
    caps: dict[Any, list[tuple[Any, str]]] = {}
    for n, ann in enumerate(data.get("annotations", [])):
        if "image_id" not in ann or "caption" not in ann:
            raise MMDialDataError("annotation without image_id/caption", path=annotations, record=f"annotations[{n}]")
        caps.setdefault(ann["image_id"], []).append((ann.get("id", n), str(ann["caption"]).strip()))
    candidates = []
    for n, img in enumerate(data["images"]):
        if "file_name" not in img or "id" not in img:
            raise MMDialDataError("image without id/file_name", path=annotations, record=f"images[{n}]")
        texts = [c for _, c in sorted(caps.get(img["id"], []), key=lambda t: str(t[0]).zfill(20))]
        candidates.append(
            Candidate(
                root / img["file_name"], Path(img["file_name"]).as_posix(), texts[0] if texts else None, texts[1:]
            )
        )
    addition = {"format": "coco", "path": str(annotations), "image_root": str(root)}
    return SourceListing(root, candidates, addition, annotations.stem)


def read_tuxpaint(
    path: str | os.PathLike[str] = TUXPAINT_STAMPS, *, image_root: str | os.PathLike[str] | None = None
) -> SourceListing:
    """Tux Paint stamps: each raster image whose ``<stem>.txt`` exists, captioned by its first line.

    Images without a ``.txt`` (mirrored variants, extra poses) are reported as ``no-caption``.
    """
    root = _existing_dir(path, hint="install it with: apt-get install tuxpaint-stamps-default")
    candidates, problems = [], []
    for p in _image_files(root):
        txt = p.with_suffix(".txt")
        if not txt.is_file():
            problems.append(PoolProblem(str(p), "no-caption", f"no {txt.name} beside the image"))
            continue
        first = txt.read_text(encoding="utf-8", errors="replace").splitlines()
        caption = first[0].strip() if first else ""
        if not caption:
            problems.append(PoolProblem(str(p), "no-caption", f"{txt.name} is empty"))
            continue
        candidates.append(Candidate(p, p.relative_to(root).as_posix(), caption))
    return SourceListing(root, candidates, {"format": "tuxpaint", "path": str(root)}, "tuxpaint", problems)


def _existing_dir(path: str | os.PathLike[str], hint: str = "") -> Path:
    p = Path(path).resolve()
    if not p.is_dir():
        raise FileNotFoundError(f"{p}: no such folder" + (f" ({hint})" if hint else ""))
    return p


def _image_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _first(row: dict[str, Any], keys: Sequence[str]) -> str | None:
    for k in keys:
        v = row.get(k)
        if v not in (None, ""):
            return str(v)
    return None


def _read_caption_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise MMDialDataError(f"invalid JSON: {exc.msg}", path=path, record=f"line {n}") from exc
                if not isinstance(row, dict):
                    raise MMDialDataError("expected a JSON object", path=path, record=f"line {n}")
                yield f"line {n}", {k.lower(): v for k, v in row.items()}
    else:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter=delimiter)
            for n, row in enumerate(reader, 2):
                yield f"line {n}", {(k or "").strip().lower(): v for k, v in row.items()}


register_pool_source("folder", read_folder)
register_pool_source("captions", read_captions)
register_pool_source("coco", read_coco)
register_pool_source("tuxpaint", read_tuxpaint)
