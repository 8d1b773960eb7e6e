"""Import optional dependencies with an error that names the extra to install.

Example:
    >>> require("json", "faiss").dumps([1])
    '[1]'
    >>> require("no_such_module_xyz", "faiss")
    Traceback (most recent call last):
    ...
    mmdial_retrieval._extras.MissingExtraError: no_such_module_xyz is needed here: pip install "mmdial-retrieval[faiss]"
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency of mmdial-retrieval is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pip install "mmdial-retrieval[extra]"``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise
        raise MissingExtraError(f'{module} is needed here: pip install "mmdial-retrieval[{extra}]"') from exc
