"""Build recipes: which sources to read, filters, seed and sharding, as validated YAML data.

Paths in a recipe are relative to the recipe file; ``${VAR}`` and ``${VAR:-default}`` are expanded from
the environment (``${MMDIAL_SAMPLES:-../../shared/datasets/samples}``).

Example:
    >>> r = Recipe.from_dict({"name": "demo", "sources": [{"reader": "dailydialog", "paths": ["dd"]}]})
    >>> r.seed, r.sources[0].reader, r.filters.min_turns
    (0, 'dailydialog', 1)
    >>> Recipe.from_dict({"name": "x", "sources": [], "colour": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: recipe: unknown key 'colour'; known: dedup, filters, name, on_error, seed, ...

Optional keys (all off by default, so older recipes build byte-identically): per source ``weight``
(``0.5`` keeps a seeded half, ``2`` repeats each dialogue twice with ids ``...#1``) and ``options``
(reader keyword arguments); ``filters.languages`` (e.g. ``[en]``; needs ``mmdial-data[lang]``);
``dedup: {exact: true, near: true}``; ``splits: {train: 0.8, validation: 0.1, test: 0.1}`` (re-split by a seeded
hash of each dialogue id, so a dialogue is never split and the assignment does not depend on order).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.config_loader import check_keys
from mmdial_data.errors import OnError
from mmdial_data.splits import KNOWN_SPLITS, canonical_split

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

#: The split names a recipe (``splits:``, a source's ``split:``) and ``mmdial convert --split`` store: the
#: canonical names of :mod:`mmdial_data.splits`; the aliases there (``dev``, ``val``, ``valid`` ...) are accepted.
SPLIT_NAMES = KNOWN_SPLITS
#: How far the ``splits:`` fractions may sum from 1 (they are decimal numbers in YAML).
SPLIT_SUM_TOLERANCE = 1e-6


def check_split_name(name: Any, where: str) -> str:
    """The canonical name of split ``name`` (:func:`mmdial_data.splits.canonical_split`), else a ``ValueError``
    listing the known names.

    >>> check_split_name("dev", "recipe.splits")
    'validation'
    >>> check_split_name("bogus", "recipe.splits")
    Traceback (most recent call last):
    ...
    mmdial_data.splits.UnknownSplitError: recipe.splits: unknown split 'bogus'; use one of train, validation, test, ...
    """
    if not isinstance(name, str):
        raise ValueError(f"{where}: split names are strings, got {name!r}; use one of {', '.join(KNOWN_SPLITS)}")
    return canonical_split(name, record=where)


def expand_vars(text: str) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is an error.

    >>> expand_vars("${MMDIAL_NOT_SET_X:-fallback}/a")
    'fallback/a'
    """

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            if m.group(2) is None:
                raise ValueError(f"environment variable {m.group(1)} is not set (used in {text!r})")
            return m.group(2)
        return value

    return _VAR.sub(sub, text)


@dataclass
class SourceSpec:
    """One input of a recipe: a reader, its paths, and optional split override and cap."""

    reader: str
    paths: list[str]
    split: str | None = None
    max_dialogues: int | None = None
    weight: float | None = None
    options: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> SourceSpec:
        """Validate one ``sources`` entry."""
        check_keys(data, {"reader", "paths", "split", "max_dialogues", "weight", "options"}, where)
        if "reader" not in data or "paths" not in data:
            raise ValueError(f"{where}: 'reader' and 'paths' are required")
        paths = data["paths"]
        if isinstance(paths, str):
            paths = [paths]
        if not paths or not all(isinstance(p, str) for p in paths):
            raise ValueError(f"{where}: 'paths' must be a non-empty list of strings")
        cap = data.get("max_dialogues")
        if cap is not None and (not isinstance(cap, int) or cap < 0):
            raise ValueError(f"{where}: 'max_dialogues' must be a non-negative integer")
        weight = data.get("weight")
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0):
            raise ValueError(f"{where}: 'weight' must be a positive number")
        options = data.get("options")
        if options is not None and not isinstance(options, dict):
            raise ValueError(f"{where}: 'options' must be a mapping of reader keyword arguments")
        split = data.get("split")
        return cls(
            reader=str(data["reader"]),
            paths=list(paths),
            split=None if split is None else check_split_name(split, f"{where}.split"),
            max_dialogues=cap,
            weight=None if weight is None else float(weight),
            options=options,
        )


@dataclass
class Filters:
    """Dialogue filters: turn count bounds, whether images are required, and the language of the text."""

    min_turns: int = 1
    max_turns: int | None = None
    has_images: bool | None = None
    languages: list[str] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Filters:
        """Validate the ``filters`` mapping."""
        data = data or {}
        check_keys(data, {"min_turns", "max_turns", "has_images", "languages"}, "recipe.filters")
        langs = data.get("languages")
        if langs is not None:
            if isinstance(langs, str):
                langs = [langs]
            if not langs or not all(isinstance(x, str) for x in langs):
                raise ValueError("recipe.filters: 'languages' must be a non-empty list of language codes")
            data = {**data, "languages": list(langs)}
        return cls(**data)

    def reason_to_drop(self, n_turns: int, n_images: int) -> str | None:
        """Why a dialogue with these counts is filtered out, or None to keep it."""
        if n_turns < self.min_turns:
            return "min_turns"
        if self.max_turns is not None and n_turns > self.max_turns:
            return "max_turns"
        if self.has_images is True and n_images == 0:
            return "has_images"
        if self.has_images is False and n_images > 0:
            return "has_images"
        return None


@dataclass
class Dedup:
    """Duplicate removal: ``exact`` (same turn texts and images) and ``near`` (same normalized text)."""

    exact: bool = False
    near: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any] | bool | None) -> Dedup:
        """Validate the ``dedup`` mapping (``true`` turns both on)."""
        if isinstance(data, bool):
            return cls(exact=data, near=data)
        data = data or {}
        check_keys(data, {"exact", "near"}, "recipe.dedup")
        return cls(exact=bool(data.get("exact", False)), near=bool(data.get("near", False)))


def stable_fraction(key: str, seed: int = 0) -> float:
    """A deterministic number in [0, 1) from ``key`` and ``seed`` (SHA-1), the same on every machine.

    >>> stable_fraction("sgd/train/1_00000", 0) == stable_fraction("sgd/train/1_00000", 0)
    True
    >>> 0 <= stable_fraction("x", 1) < 1
    True
    """
    digest = hashlib.sha1(f"{seed}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_split(key: str, splits: dict[str, float], seed: int = 0) -> str:
    """The split of ``key`` for the given fractions (normalized to sum 1), from :func:`stable_fraction`.

    >>> assign_split("multiwoz/val/PMUL1635", {"train": 1.0})
    'train'
    >>> sorted({assign_split(str(i), {"train": 0.5, "test": 0.5}) for i in range(20)})
    ['test', 'train']
    """
    total = sum(splits.values())
    x = stable_fraction(key, seed) * total
    acc = 0.0
    name = next(iter(splits))
    for name, frac in splits.items():
        acc += frac
        if x < acc:
            return name
    return name


_NON_WORD = re.compile(r"[^\w]+")


def normalize_text(text: str) -> str:
    """Text for near-duplicate hashing: NFKC, lower case, punctuation and spacing removed, digits kept.

    >>> normalize_text("Hello,  World!! ") == normalize_text("hello world")
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass
class Recipe:
    """A validated build recipe."""

    name: str
    sources: list[SourceSpec]
    seed: int = 0
    version: int = 1
    shard_size: int = 10_000
    on_error: OnError = "raise"
    filters: Filters = field(default_factory=Filters)
    dedup: Dedup = field(default_factory=Dedup)
    splits: dict[str, float] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Validate a recipe mapping; unknown keys and wrong types raise ``ValueError``."""
        known = {"name", "sources", "seed", "version", "shard_size", "on_error", "filters", "dedup", "splits"}
        check_keys(data, known, "recipe")
        if "name" not in data or "sources" not in data:
            raise ValueError("recipe: 'name' and 'sources' are required")
        if not isinstance(data["sources"], list):
            raise ValueError("recipe: 'sources' must be a list")
        on_error = data.get("on_error", "raise")
        if on_error not in ("raise", "skip"):
            raise ValueError("recipe: 'on_error' must be 'raise' or 'skip'")
        shard_size = data.get("shard_size", 10_000)
        if not isinstance(shard_size, int) or shard_size < 1:
            raise ValueError("recipe: 'shard_size' must be a positive integer")
        return cls(
            name=str(data["name"]),
            sources=[SourceSpec.from_dict(s, f"recipe.sources[{i}]") for i, s in enumerate(data["sources"])],
            seed=int(data.get("seed", 0)),
            version=int(data.get("version", 1)),
            shard_size=shard_size,
            on_error=on_error,
            filters=Filters.from_dict(data.get("filters")),
            dedup=Dedup.from_dict(data.get("dedup")),
            splits=_splits(data.get("splits")),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recipe:
        """Load and validate a YAML recipe; errors name the file."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            from mmdial_data.errors import MMDialDataError

            raise MMDialDataError(f"invalid recipe: {exc}", path=path) from exc

    def to_dict(self) -> dict[str, Any]:
        """The recipe as plain data (for provenance); keys left at their defaults by newer options are omitted."""
        data = asdict(self)
        for spec in data["sources"]:
            for key in ("weight", "options"):
                if spec[key] is None:
                    del spec[key]
        if data["filters"]["languages"] is None:
            del data["filters"]["languages"]
        if not (self.dedup.exact or self.dedup.near):
            del data["dedup"]
        if self.splits is None:
            del data["splits"]
        return data

    def resolve_paths(self, spec: SourceSpec, base: Path) -> list[Path]:
        """The paths of ``spec`` with variables expanded, relative to ``base``."""
        return [(base / expand_vars(p)) for p in spec.paths]


def _splits(data: Any) -> dict[str, float] | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not data:
        raise ValueError("recipe: 'splits' must map split names to fractions")
    out = {}
    for name, frac in data.items():
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or frac < 0:
            raise ValueError(f"recipe.splits: fraction of {name!r} must be a non-negative number")
        canonical = check_split_name(name, "recipe.splits")
        if canonical in out:
            raise ValueError(f"recipe.splits: {name!r} names the split {canonical!r} twice; give it one fraction")
        out[canonical] = float(frac)
    total = sum(out.values())
    if abs(total - 1) > SPLIT_SUM_TOLERANCE:
        fractions = ", ".join(f"{k}: {v:g}" for k, v in out.items())
        raise ValueError(f"recipe.splits: fractions must sum to 1, got {total:g} ({fractions})")
    return out
