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

__all__ = ["POOL_FILE", "SOURCE_FORMATS", "TUXPAINT_STAMPS", "AddReport", "ImagePool", "PoolItem", "PoolProblem"]

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mmdial_data.errors import MMDialDataError
from mmdial_retrieval.images import CheckedImage, ImageLoadError, check_image
from mmdial_retrieval.pool_items import AddReport, Candidate, PoolItem, PoolProblem
from mmdial_retrieval.pool_sources import TUXPAINT_STAMPS, get_pool_source, list_pool_sources

POOL_FILE = "pool.json"
ITEMS_FILE = "items.jsonl"
#: The built-in source formats of :meth:`ImagePool.add` (more can be registered: ``register_pool_source``).
SOURCE_FORMATS = tuple(list_pool_sources())


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
        """Add images from ``path`` in source format ``fmt``: ``folder``, ``captions``, ``coco``, ``tuxpaint`` or
        any format registered with :func:`mmdial_retrieval.pool_sources.register_pool_source`."""
        listing = get_pool_source(fmt)(path, image_root=image_root)
        return self._add_candidates(
            source or listing.default_source,
            listing.root,
            listing.candidates,
            listing.addition,
            listing.problems,
            workers,
        )

    def add_folder(
        self, folder: str | os.PathLike[str], *, source: str | None = None, workers: int | None = None
    ) -> AddReport:
        """Add every image file under ``folder`` (recursively, sorted); no captions."""
        return self.add("folder", folder, source=source, workers=workers)

    def add_captions_file(
        self,
        path: str | os.PathLike[str],
        *,
        image_root: str | os.PathLike[str] | None = None,
        source: str | None = None,
        workers: int | None = None,
    ) -> AddReport:
        """Add the images listed in a CSV/TSV (header with an image and a caption column) or JSONL file
        (:func:`~mmdial_retrieval.pool_sources.read_captions`)."""
        return self.add("captions", path, image_root=image_root, source=source, workers=workers)

    def add_coco(
        self,
        annotations: str | os.PathLike[str],
        image_root: str | os.PathLike[str],
        *,
        source: str | None = None,
        workers: int | None = None,
    ) -> AddReport:
        """Add the images of a COCO captions file (:func:`~mmdial_retrieval.pool_sources.read_coco`)."""
        return self.add("coco", annotations, image_root=image_root, source=source, workers=workers)

    def add_tuxpaint(
        self, stamps: str | os.PathLike[str] = TUXPAINT_STAMPS, *, source: str = "tuxpaint", workers: int | None = None
    ) -> AddReport:
        """Add Tux Paint stamps (:func:`~mmdial_retrieval.pool_sources.read_tuxpaint`)."""
        return self.add("tuxpaint", stamps, source=source, workers=workers)

    def _add_candidates(
        self,
        source: str,
        root: Path,
        candidates: list[Candidate],
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
