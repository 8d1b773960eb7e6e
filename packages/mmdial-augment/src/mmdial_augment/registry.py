"""The registry of captioners and VQA backends: :class:`mmdial_data.registry.Registry` of factories, each
with a one-line description, and :meth:`FactoryRegistry.create` to build one.

Example:
    >>> reg: FactoryRegistry[str] = FactoryRegistry("widget")
    >>> reg.register("round", lambda **kw: "O", description="a circle")
    >>> reg.create("round"), [e.description for e in reg.entries()]
    ('O', ['a circle'])
    >>> reg.get("rund")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown widget 'rund'; did you mean 'round'?
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mmdial_data.registry import Registry as _Registry

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory."""

    name: str
    factory: Callable[..., T]
    description: str


class FactoryRegistry(_Registry[Callable[..., T]]):
    """Name -> ``factory(**options) -> T`` for one extension point, with descriptions."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self._descriptions: dict[str, str] = {}

    def register(  # type: ignore[override]
        self, name: str, factory: Callable[..., T], *, description: str = "", replace: bool = False
    ) -> None:
        """Register ``factory`` under ``name`` (``replace=True`` to overwrite)."""
        super().register(name, factory, replace=replace)
        self._descriptions[name] = description

    def entries(self) -> list[Entry[T]]:
        """Registered entries, sorted by name."""
        return [Entry(name, factory, self._descriptions.get(name, "")) for name, factory in self.items()]

    def create(self, name: str, **options: Any) -> T:
        """Build the backend ``name`` with ``options``."""
        return self.get(name)(**options)


#: The name ``captioners`` and ``vqa`` import.
Registry = FactoryRegistry
