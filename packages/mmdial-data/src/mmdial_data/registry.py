"""The project's one registry idiom: a named extension point (readers, engines, encoders, pool sources,
backbones, captioners, VQA backends ...) as a :class:`Registry` of ``name -> object``.

A lookup of an unknown name raises :class:`UnknownNameError` (both a ``KeyError`` and a ``ValueError``, so
``except KeyError`` keeps working and the CLI root shows it as one ``mmdial: error:`` line) whose message names
the kind of thing and the closest known name (:func:`mmdial_data.names.did_you_mean`). Plugins found on demand
(entry points) come from an optional ``plugins`` loader, run once, on the first miss or listing.
``mmdial_metrics`` holds a copy of this class (its core imports nothing of ours); a test keeps the two alike.

Example:
    >>> shapes: Registry[str] = Registry("shape")
    >>> shapes.register("round", "O")
    'O'
    >>> shapes.get("round"), shapes.names(), "round" in shapes
    ('O', ['round'], True)
    >>> shapes.get("rund")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown shape 'rund'; did you mean 'round'?
    >>> shapes.get("zzz")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown shape 'zzz'; known: round
    >>> shapes.register("round", "()")
    Traceback (most recent call last):
    ...
    ValueError: shape 'round' is already registered (pass replace=True to replace it)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from mmdial_data.names import did_you_mean

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown name asked of a :class:`Registry`: a ``KeyError`` (a failed lookup) and a ``ValueError`` (a
    user error); ``str()`` is the plain message, not ``KeyError``'s quoted repr."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """``name -> object`` for one extension point, sorted listings, "did you mean" errors.

    Args:
        kind: What the names name, for messages (``"reader"``, ``"engine"``, ``"encoder backend"``).
        entries: What it holds from the start (built-in entries; registering them would run ``plugins``).
        plugins: Called once with this registry, on the first lookup of a name not registered or the first
            listing, to register what is found on demand (entry points); a plugin never replaces a name.
        hint: Appended to the unknown-name message (``" (or pass a checkpoint path)"``).
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T] | None = None,
        *,
        plugins: Callable[[Registry[T]], None] | None = None,
        hint: str = "",
    ) -> None:
        self.kind = kind
        self.hint = hint
        self._plugins = plugins
        self._entries: dict[str, T] = dict(entries or {})

    def load_plugins(self) -> None:
        """Run the ``plugins`` loader now, if there is one and it has not run."""
        loader, self._plugins = self._plugins, None
        if loader is not None:
            loader(self)

    def register(self, name: str, obj: T, *, replace: bool = False) -> T:
        """Register ``obj`` as ``name`` and return it; a taken name is a ``ValueError`` unless ``replace``."""
        if not replace:
            self.load_plugins()  # a name a plugin holds is taken too
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered (pass replace=True to replace it)")
        self._entries[name] = obj
        return obj

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return what it held (:class:`UnknownNameError` when unknown)."""
        obj = self.get(name)
        del self._entries[name]
        return obj

    def get(self, name: str) -> T:
        """What ``name`` holds; :class:`UnknownNameError` naming the closest known name when unknown."""
        if name in self:
            return self._entries[name]
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}{did_you_mean(name, self._entries, list_known=True)}{self.hint}"
        )

    def names(self) -> list[str]:
        """The registered names, sorted."""
        self.load_plugins()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, object)`` pairs, sorted by name."""
        return [(name, self._entries[name]) for name in self.names()]

    def values(self) -> list[T]:
        """The registered objects, sorted by name."""
        return [self._entries[name] for name in self.names()]

    def copy(self) -> Registry[T]:
        """An independent registry with the same entries (and plugin loader, when it has not run)."""
        return Registry(self.kind, self._entries, plugins=self._plugins, hint=self.hint)

    def __contains__(self, name: object) -> bool:
        if name in self._entries:
            return True
        self.load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"
