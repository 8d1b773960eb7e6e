"""The one lazy-import helper (PEP 562): a package's ``__init__`` names what it exports and from which module,
and the module is imported on first access, so ``import mmdial_<pkg>`` stays fast.

``mmdial_metrics`` keeps its own copy of these few lines (its core imports nothing of ours).

Example:
    >>> import types
    >>> pkg = types.ModuleType("pkg")
    >>> pkg.__getattr__, pkg.__dir__ = lazy_exports("pkg", {"dedent": "textwrap", "wrap": "textwrap"})
    >>> import sys; sys.modules["pkg"] = pkg
    >>> pkg.dedent("  a")
    'a'
    >>> "wrap" in dir(pkg)
    True
    >>> pkg.nope
    Traceback (most recent call last):
    ...
    AttributeError: module 'pkg' has no attribute 'nope'
    >>> del sys.modules["pkg"]
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(module_name: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the module ``module_name`` that exports ``name`` from ``exports[name]``.

    Args:
        module_name: The package's ``__name__``.
        exports: ``{attribute: module}``; a module starting with ``.`` is relative to ``module_name``.

    The first access imports the module and caches the attribute in the package's namespace, so later
    accesses are plain lookups; ``dir()`` lists the lazy names beside the loaded ones.
    """
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(target, module_name if target.startswith(".") else None), name)
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[module_name]), *table})

    return __getattr__, __dir__
