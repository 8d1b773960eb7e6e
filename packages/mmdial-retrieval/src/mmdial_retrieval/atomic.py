"""Atomic file writes, as :mod:`mmdial_data.outputs` does them for the whole project (kept importable here).

Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_text_atomic(target, "done")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('done', ['a.txt'])
"""

from __future__ import annotations

from mmdial_data.outputs import atomic_path, remove_stale_temporaries, write_text_atomic

__all__ = ["atomic_path", "remove_stale_temporaries", "write_text_atomic"]
