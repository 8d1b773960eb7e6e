"""Build recipes: which sources to read, filters, seed and sharding, as validated YAML data.

Paths in a recipe are relative to the recipe file; ``${VAR}`` and ``${VAR:-default}`` are expanded from
the environment (``${MMDIAL_SAMPLES:-../../shared/datasets/samples}``).

Example:
    >>> r = Recipe.from_dict({"name": "demo", "sources": [{"reader": "dailydialog", "paths": ["dd"]}]})
    >>> r.seed, r.sources[0].reader, r.filters.min_turns
    (0, 'dailydialog', 1)
    >>> Recipe.from_dict({"name": "x", "sources": [], "colour": 1})
    Traceback (most recent call last):
    ...
    ValueError: recipe: unknown key 'colour' (known: filters, name, on_error, seed, shard_size, sources, version)
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmdial_data.errors import OnError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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


def _check_keys(data: dict[str, Any], known: set[str], where: str) -> None:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


@dataclass
class SourceSpec:
    """One input of a recipe: a reader, its paths, and optional split override and cap."""

    reader: str
    paths: list[str]
    split: str | None = None
    max_dialogues: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> SourceSpec:
        _check_keys(data, {"reader", "paths", "split", "max_dialogues"}, where)
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
        return cls(reader=str(data["reader"]), paths=list(paths), split=data.get("split"), max_dialogues=cap)


@dataclass
class Filters:
    """Dialogue filters: turn count bounds and whether images are required."""

    min_turns: int = 1
    max_turns: int | None = None
    has_images: bool | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Filters:
        data = data or {}
        _check_keys(data, {"min_turns", "max_turns", "has_images"}, "recipe.filters")
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
class Recipe:
    """A validated build recipe."""

    name: str
    sources: list[SourceSpec]
    seed: int = 0
    version: int = 1
    shard_size: int = 10_000
    on_error: OnError = "raise"
    filters: Filters = field(default_factory=Filters)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Validate a recipe mapping; unknown keys and wrong types raise ``ValueError``."""
        _check_keys(data, {"name", "sources", "seed", "version", "shard_size", "on_error", "filters"}, "recipe")
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
        """The recipe as plain data (for provenance)."""
        return asdict(self)

    def resolve_paths(self, spec: SourceSpec, base: Path) -> list[Path]:
        """The paths of ``spec`` with variables expanded, relative to ``base``."""
        return [(base / expand_vars(p)) for p in spec.paths]
