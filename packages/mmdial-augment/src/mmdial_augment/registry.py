"""A small explicit registry (list/get/register with "did you mean" errors) used for captioners and VQA backends.

Example:
    >>> reg = Registry("widget")
    >>> reg.register("round", lambda **kw: "O", description="a circle")
    >>> reg.get("round")()
    'O'
    >>> reg.get("rund")
    Traceback (most recent call last):
    ...
    KeyError: "unknown widget 'rund'; did you mean 'round'? (known: round)"
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory."""

    name: str
    factory: Callable[..., T]
    description: str


class Registry(Generic[T]):
    """Name -> factory mapping for one extension point."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, factory: Callable[..., T], *, description: str = "", replace: bool = False) -> None:
        """Register ``factory`` under ``name`` (``replace=True`` to overwrite)."""
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, factory, description)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        """Registered entries, sorted by name."""
        return [self._entries[k] for k in self.names()]

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``.

        Raises:
            KeyError: Unknown name, with the closest known name and the full list.
        """
        if name not in self._entries:
            close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"unknown {self.kind} {name!r}{hint} (known: {', '.join(self.names())})")
        return self._entries[name].factory

    def create(self, name: str, **options: Any) -> T:
        """Build the backend ``name`` with ``options``."""
        return self.get(name)(**options)
