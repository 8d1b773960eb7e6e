"""Image pools: the images retrieval searches over, with content-hash ids, captions and a problem report.

A pool is a folder with ``pool.json`` (roots, what was added, problems, provenance) and ``items.jsonl``
(one :class:`PoolItem` per line). Images stay where they are: each item's ``uri`` is relative to a named
root, so a pool moves between machines by re-pointing roots (``ImagePool.open(folder, roots={...})``).

Sources: a folder of images, a captions file (CSV or JSONL), COCO-style caption annotations, or the Debian
``tuxpaint-stamps-default`` layout (caption = first line of the ``.txt`` beside each image). Every file is
hashed and fully decoded once; unreadable files (zero bytes, truncated, not an image) and other issues
(extension not matching the content, duplicate content, missing caption) are listed in
:attr:`ImagePool.problems` and never stop the run.

Example:
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> src = pathlib.Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (8, 8), "red").save(src / "red.png")
    >>> _ = (src / "broken.png").write_bytes(b"")
    >>> pool = ImagePool.create(pathlib.Path(tempfile.mkdtemp()) / "pool")
    >>> report = pool.add_folder(src)
    >>> len(pool), [p.kind for p in pool.problems]
    (1, ['unreadable'])
    >>> pool.items[0].uri, pool.path_of(pool.items[0]) == src / "red.png"
    ('red.png', True)
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import MMDialDataError
from mmdial_data.names import did_you_mean
from mmdial_retrieval.images import IMAGE_EXTENSIONS, CheckedImage, ImageLoadError, check_image

POOL_FILE = "pool.json"
ITEMS_FILE = "items.jsonl"
#: Where Debian's ``tuxpaint-stamps-default`` installs the stamps.
TUXPAINT_STAMPS = Path("/usr/share/tuxpaint/stamps")
#: Source formats of :meth:`ImagePool.add`.
SOURCE_FORMATS = ("folder", "captions", "coco", "tuxpaint")

_PATH_COLUMNS = ("image", "file", "file_name", "filename", "path", "uri", "image_path")
_CAPTION_COLUMNS = ("caption", "text", "title", "description")


@dataclass
class PoolItem:
    """One image of a pool.

    Attributes:
        image_id: Content hash (see :func:`mmdial_retrieval.images.content_id`).
        source: Name of the root the image was added from.
        uri: Path relative to that root (POSIX separators).
        caption: Caption, if the source has one.
        width: Pixel width.
        height: Pixel height.
        extra_captions: Further captions (COCO has several per image).
    """

    image_id: str
    source: str
    uri: str
    caption: str | None = None
    width: int = 0
    height: int = 0
    extra_captions: list[str] = field(default_factory=list)

    def to_image_ref(self, level: str = "turn", score: float | None = None, entity: str | None = None) -> Any:
        """This image as an :class:`mmdial_data.ImageRef` of the unified schema."""
        from mmdial_data.schema import ImageRef

        return ImageRef(
            image_id=self.image_id,
            uri=self.uri,
            source=self.source,
            caption=self.caption,
            level=level,
            entity=entity,
            score=score,
        )


@dataclass
class PoolProblem:
    """A file left out of (or flagged in) the pool, and why.

    ``kind`` is ``unreadable`` (left out), ``format-mismatch`` (kept), ``duplicate`` (left out: same content
    as ``duplicate_of``), ``no-caption`` (left out of a captioned source), or ``missing`` (listed but absent).
    """

    path: str
    kind: str
    reason: str
    duplicate_of: str | None = None


@dataclass
class AddReport:
    """What one ``add_*`` call did."""

    source: str
    added: int = 0
    problems: list[PoolProblem] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``source: N added, M problems (kinds)``."""
        kinds: dict[str, int] = {}
        for p in self.problems:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        detail = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        return f"{self.source}: {self.added} added, {len(self.problems)} problems" + (f" ({detail})" if detail else "")


@dataclass
class _Candidate:
    path: Path
    uri: str
    caption: str | None
    extra_captions: list[str] = field(default_factory=list)


class ImagePool:
    """A persistent, de-duplicated set of images with captions; see the module docs."""

    def __init__(self, folder: str | os.PathLike[str], *, roots: dict[str, str] | None = None):
        self.folder = Path(folder)
        self.roots: dict[str, str] = {}
        self.items: list[PoolItem] = []
        self.problems: list[PoolProblem] = []
        self.additions: list[dict[str, Any]] = []
        self._by_id: dict[str, int] = {}
        if (self.folder / POOL_FILE).is_file():
            self._load()
        if roots:
            self.roots.update({k: str(v) for k, v in roots.items()})

    # ---- opening ----------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | os.PathLike[str], *, exist_ok: bool = False) -> ImagePool:
        """A new empty pool in ``folder`` (or the existing one with ``exist_ok``)."""
        folder = Path(folder)
        if (folder / POOL_FILE).exists() and not exist_ok:
            raise FileExistsError(f"{folder / POOL_FILE}: a pool already exists here")
        pool = cls(folder)
        pool.save()
        return pool

    @classmethod
    def open(cls, folder: str | os.PathLike[str], *, roots: dict[str, str] | None = None) -> ImagePool:
        """Open an existing pool; ``roots`` re-points image roots (pool moved to another machine)."""
        if not (Path(folder) / POOL_FILE).is_file():
            raise FileNotFoundError(f"{Path(folder) / POOL_FILE}: no image pool here (create one with `pool add`)")
        return cls(folder, roots=roots)

    def _load(self) -> None:
        meta = json.loads((self.folder / POOL_FILE).read_text(encoding="utf-8"))
        self.roots = dict(meta.get("roots", {}))
        self.additions = list(meta.get("additions", []))
        self.problems = [PoolProblem(**p) for p in meta.get("problems", [])]
        items_path = self.folder / ITEMS_FILE
        if items_path.is_file():
            with open(items_path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            self._append(PoolItem(**json.loads(line)))
                        except (TypeError, ValueError) as exc:
                            raise MMDialDataError(f"bad pool item: {exc}", path=items_path, record=f"line {n}") from exc

    def save(self) -> None:
        """Write ``items.jsonl`` and ``pool.json`` atomically."""
        from mmdial_data.provenance import provenance
        from mmdial_retrieval.atomic import write_text_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(asdict(i), ensure_ascii=False) + "\n" for i in self.items)
        write_text_atomic(self.folder / ITEMS_FILE, lines)
        meta = {
            "kind": "mmdial-retrieval/pool",
            "version": 1,
            "count": len(self.items),
            "roots": self.roots,
            "additions": self.additions,
            "problems": [asdict(p) for p in self.problems],
            "provenance": provenance(config={"additions": self.additions}),
        }
        write_text_atomic(self.folder / POOL_FILE, json.dumps(meta, ensure_ascii=False, indent=1))

    # ---- access -----------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[PoolItem]:
        return iter(self.items)

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._by_id

    def get(self, image_id: str) -> PoolItem:
        """The item with this id (KeyError if absent)."""
        try:
            return self.items[self._by_id[image_id]]
        except KeyError:
            raise KeyError(f"{self.folder}: no image {image_id!r} in the pool") from None

    def ids(self) -> list[str]:
        """Image ids in pool order."""
        return [i.image_id for i in self.items]

    def captions(self, ids: Sequence[str] | None = None) -> list[str | None]:
        """Captions of ``ids`` (all items when None), in that order."""
        return [i.caption for i in self.items] if ids is None else [self.get(i).caption for i in ids]

    def path_of(self, item: PoolItem | str) -> Path:
        """Absolute path of an item's file (through its root)."""
        if isinstance(item, str):
            item = self.get(item)
        root = self.roots.get(item.source)
        if root is None:
            raise KeyError(f"{self.folder}: unknown image root {item.source!r}; pass roots={{...}} to ImagePool.open")
        return Path(root) / item.uri

    def paths(self, ids: Sequence[str] | None = None) -> list[Path]:
        """Absolute paths of ``ids`` (all items when None)."""
        return [self.path_of(i) for i in (self.items if ids is None else ids)]

    # ---- adding -----------------------------------------------------------------------------------------------
    def add(
        self,
        fmt: str,
        path: str | os.PathLike[str],
        *,
        source: str | None = None,
        image_root: str | os.PathLike[str] | None = None,
        workers: int | None = None,
    ) -> AddReport:
        """Add images from ``path`` in format ``fmt`` (one of :data:`SOURCE_FORMATS`)."""
        if fmt == "folder":
            return self.add_folder(path, source=source, workers=workers)
        if fmt == "captions":
            return self.add_captions_file(path, image_root=image_root, source=source, workers=workers)
        if fmt == "coco":
            if image_root is None:
                raise ValueError("coco needs image_root (the folder with the images)")
            return self.add_coco(path, image_root, source=source, workers=workers)
        if fmt == "tuxpaint":
            return self.add_tuxpaint(path, source=source or "tuxpaint", workers=workers)
        raise ValueError(f"unknown pool source format {fmt!r}{did_you_mean(fmt, SOURCE_FORMATS)}")

    def add_folder(
        self, folder: str | os.PathLike[str], *, source: str | None = None, workers: int | None = None
    ) -> AddReport:
        """Add every image file under ``folder`` (recursively, sorted); no captions."""
        root = _existing_dir(folder)
        candidates = [_Candidate(p, p.relative_to(root).as_posix(), None) for p in _image_files(root)]
        return self._add_candidates(
            source or root.name, root, candidates, {"format": "folder", "path": str(root)}, [], workers
        )

    def add_captions_file(
        self,
        path: str | os.PathLike[str],
        *,
        image_root: str | os.PathLike[str] | None = None,
        source: str | None = None,
        workers: int | None = None,
    ) -> AddReport:
        """Add the images listed in a CSV (header with an image column and a caption column) or JSONL file.

        Image columns: ``image``, ``file``, ``file_name``, ``filename``, ``path``, ``uri``, ``image_path``;
        caption columns: ``caption``, ``text``, ``title``, ``description``. Relative image paths are resolved
        against ``image_root`` (default: the captions file's folder).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: captions file not found")
        root = _existing_dir(image_root) if image_root is not None else path.parent.resolve()
        rows = list(_read_caption_rows(path))
        candidates, problems = [], []
        for record, row in rows:
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
            candidates.append(_Candidate(file, uri, caption.strip() if caption else None))
        return self._add_candidates(
            source or path.stem,
            root,
            candidates,
            {"format": "captions", "path": str(path), "image_root": str(root)},
            problems,
            workers,
        )

    def add_coco(
        self,
        annotations: str | os.PathLike[str],
        image_root: str | os.PathLike[str],
        *,
        source: str | None = None,
        workers: int | None = None,
    ) -> AddReport:
        """Add the images of a COCO captions file (``images`` + ``annotations`` with ``caption``).

        The first caption (lowest annotation id) becomes ``caption``, the rest ``extra_captions``.
        """
        annotations = Path(annotations)
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
                raise MMDialDataError(
                    "annotation without image_id/caption", path=annotations, record=f"annotations[{n}]"
                )
            caps.setdefault(ann["image_id"], []).append((ann.get("id", n), str(ann["caption"]).strip()))
        candidates = []
        for n, img in enumerate(data["images"]):
            if "file_name" not in img or "id" not in img:
                raise MMDialDataError("image without id/file_name", path=annotations, record=f"images[{n}]")
            texts = [c for _, c in sorted(caps.get(img["id"], []), key=lambda t: str(t[0]).zfill(20))]
            candidates.append(
                _Candidate(
                    root / img["file_name"], Path(img["file_name"]).as_posix(), texts[0] if texts else None, texts[1:]
                )
            )
        return self._add_candidates(
            source or annotations.stem,
            root,
            candidates,
            {"format": "coco", "path": str(annotations), "image_root": str(root)},
            [],
            workers,
        )

    def add_tuxpaint(
        self, stamps: str | os.PathLike[str] = TUXPAINT_STAMPS, *, source: str = "tuxpaint", workers: int | None = None
    ) -> AddReport:
        """Add Tux Paint stamps: each raster image whose ``<stem>.txt`` exists, captioned by its first line.

        Images without a ``.txt`` (mirrored variants, extra poses) are reported as ``no-caption``.
        """
        root = _existing_dir(stamps, hint="install it with: apt-get install tuxpaint-stamps-default")
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
            candidates.append(_Candidate(p, p.relative_to(root).as_posix(), caption))
        return self._add_candidates(
            source, root, candidates, {"format": "tuxpaint", "path": str(root)}, problems, workers
        )

    def _add_candidates(
        self,
        source: str,
        root: Path,
        candidates: list[_Candidate],
        addition: dict[str, Any],
        problems: list[PoolProblem],
        workers: int | None,
    ) -> AddReport:
        if source in self.roots and Path(self.roots[source]) != root:
            raise ValueError(f"source name {source!r} already points to {self.roots[source]}; pass another source=")
        self.roots[source] = str(root)
        report = AddReport(source, problems=list(problems))
        for cand, checked in zip(candidates, _check_all([c.path for c in candidates], workers), strict=True):
            if isinstance(checked, ImageLoadError):
                kind = "missing" if not cand.path.exists() else "unreadable"
                report.problems.append(PoolProblem(str(cand.path), kind, checked.message))
                continue
            if checked.note:
                report.problems.append(PoolProblem(str(cand.path), "format-mismatch", checked.note))
            if checked.image_id in self._by_id:
                first = self.get(checked.image_id)
                report.problems.append(
                    PoolProblem(
                        str(cand.path), "duplicate", f"same content as {first.source}:{first.uri}", checked.image_id
                    )
                )
                continue
            self._append(
                PoolItem(
                    checked.image_id,
                    source,
                    cand.uri,
                    cand.caption,
                    checked.width,
                    checked.height,
                    list(cand.extra_captions),
                )
            )
            report.added += 1
        self.problems.extend(report.problems)
        self.additions.append({**addition, "source": source, "added": report.added, "problems": len(report.problems)})
        self.save()
        return report

    def _append(self, item: PoolItem) -> None:
        self._by_id[item.image_id] = len(self.items)
        self.items.append(item)


def _check_all(paths: Sequence[Path], workers: int | None) -> Iterable[CheckedImage | ImageLoadError]:
    from tqdm.auto import tqdm

    def one(p: Path) -> CheckedImage | ImageLoadError:
        try:
            return check_image(p)
        except ImageLoadError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as ex:
        yield from tqdm(
            ex.map(one, paths), total=len(paths), desc="checking images", unit="img", disable=len(paths) < 200
        )


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
