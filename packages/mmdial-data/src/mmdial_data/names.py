"""The project's one "did you mean" for unknown names (readers, engines, encoders, pool formats, config keys).

Example:
    >>> did_you_mean("ofline", ["offline", "openclip"])
    "; did you mean 'offline'?"
    >>> did_you_mean("zzz", ["offline", "openclip"], list_known=True)
    '; known: offline, openclip'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str], *, cutoff: float = 0.6, list_known: bool = False) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` (difflib ratio >= ``cutoff``), else ``""`` — or,
    with ``list_known``, ``"; known: a, b"`` (sorted) so the message still says what would have worked."""
    options = list(choices)
    close = difflib.get_close_matches(name, options, n=1, cutoff=cutoff)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(sorted(options))}" if list_known and options else ""
