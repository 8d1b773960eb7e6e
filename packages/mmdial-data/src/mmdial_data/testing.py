"""Test helpers shared by the mmdial packages: the real dataset samples and the shipped demo inputs.

Example:
    >>> (demo_dir() / "dailydialog").is_dir()
    True
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmdial_data.schema import Dialogue

# ---- what a float comparison in a test promises ---------------------------------------------------------
# Two kinds of "the same result" exist in this project, and every test says which one it checks:
#
# * bit-identical: integer arithmetic, float64 arithmetic done in the same order, or the very same float32
#   computation repeated (a resumed run reading back what it wrote, a cache hit). Compared with ``==``.
# * equal within float32 rounding: float32 neural computations (encoders, BERTScore, fusion logits, VQA
#   scores) run with another batch composition, thread count or CPU. Matrix kernels then sum in another
#   order (batch shape picks the blocking, the thread count the split, the CPU the SIMD width), so the last
#   bits differ. The bounds below hold for that and are far below what any real change moves.

#: Absolute tolerance for float32 values of unit scale (cosines, components of unit vectors, probabilities,
#: BERTScore values) computed along another reduction order. float32's unit roundoff is u = 2**-24 = 6e-8;
#: a dot product of length d in another order differs by about sqrt(d) * u (1.2e-6 at d = 384) and at most
#: d * u; a few layers of a network compound that. 1e-5 is about 170 units in the last place of 1.0 and
#: still 100x below the smallest difference a changed input or weight makes (1e-3 and up).
FLOAT32_UNIT_ATOL = 1e-5
#: Relative tolerance for float32 values of any scale (logits, losses, summed scores) from another reduction
#: order through a multi-layer network; used with :data:`FLOAT32_UNIT_ATOL` for values near zero. Depth
#: multiplies the per-layer rounding (about 1e-6 relative per layer in float32), hence 1e-4 for the small
#: (2-4 layer) models of the tests.
FLOAT32_RTOL = 1e-4


def repo_root() -> Path | None:
    """The monorepo checkout this package is installed from (editable), or None."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "datasets" / "demo").is_dir() and (parent / "packages").is_dir():
            return parent
    cwd = Path.cwd()
    for parent in [cwd, *cwd.parents]:
        if (parent / "datasets" / "demo").is_dir() and (parent / "packages").is_dir():
            return parent
    return None


def demo_dir() -> Path:
    """``datasets/demo`` of the checkout: small inputs in each source format, written by hand for the project."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError("datasets/demo not found: run from an mmdial checkout")
    return root / "datasets" / "demo"


def samples_dir(dataset: str | None = None) -> Path:
    """The real dataset samples (``MMDIAL_SAMPLES``, default ``../shared/datasets/samples`` of the checkout).

    In a pytest run, a missing folder skips the test, except under ``CI=true`` where it fails.
    """
    env = os.environ.get("MMDIAL_SAMPLES")
    if env:
        base = Path(env)
    else:
        root = repo_root() or Path.cwd()
        base = root.parent / "shared" / "datasets" / "samples"
    path = base / dataset if dataset else base
    if not path.exists():
        import pytest

        message = f"real dataset samples not found at {path} (set MMDIAL_SAMPLES)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def broken_dailydialog(folder: Path) -> Path:
    """``folder/dd``: a copy of the demo DailyDialog files with one misaligned act line (record ``line 2``: 3
    utterances but 2 acts), for tests of error handling.

    >>> import tempfile
    >>> dd = broken_dailydialog(Path(tempfile.mkdtemp()))
    >>> (dd / "dialogues_act_train.txt").read_text().splitlines()[1]
    '2 1 '
    """
    dd = folder / "dd"
    dd.mkdir()
    for f in (demo_dir() / "dailydialog").iterdir():
        (dd / f.name).write_bytes(f.read_bytes())
    acts = (dd / "dialogues_act_train.txt").read_text().splitlines()
    acts[1] = "2 1 "
    (dd / "dialogues_act_train.txt").write_text("\n".join(acts) + "\n")
    return dd


def iter_leaves(obj: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Yield ``(json path, value)`` for every leaf of a JSON value; empty lists/objects are leaves too.

    >>> list(iter_leaves({"a": [1, {"b": ""}], "c": {}}))
    [('$.a[0]', 1), ('$.a[1].b', ''), ('$.c', {})]
    """
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from iter_leaves(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)) and obj:
        for i, v in enumerate(obj):
            yield from iter_leaves(v, f"{path}[{i}]")
    else:
        yield path, obj


def _last_key(path: str) -> str:
    """The last object key of a leaf path (``$.a[1].b[0]`` -> ``b``)."""
    part = path.rsplit(".", 1)[-1]
    return part.split("[", 1)[0]


def _collect_keys(obj: Any, keys: set[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            keys.add(str(k))
            _collect_keys(v, keys)
    elif isinstance(obj, list):
        for v in obj:
            _collect_keys(v, keys)


def unified_leaves(dialogues: Iterable[Dialogue]) -> tuple[list[Any], set[str]]:
    """Every leaf value of unified dialogues (columns, ``meta`` and ``extra`` JSON) and every key (columns too).

    >>> from mmdial_data import Dialogue, Turn
    >>> values, keys = unified_leaves([Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi")], {"k": 1})])
    >>> "hi" in values, 1 in values, "k" in keys
    (True, True, True)
    """
    values: list[Any] = []
    keys: set[str] = set()
    for d in dialogues:
        row = d.to_dict()
        row["meta"] = d.meta
        for turn_row, turn in zip(row["turns"], d.turns, strict=True):
            turn_row["annotations"]["extra"] = turn.annotations.extra
            _collect_keys(turn.annotations.extra, keys)
        _collect_keys(d.meta, keys)
        _collect_keys(row, keys)
        values.extend(v for _, v in iter_leaves(row))
        original_id = d.dialogue_id.split("/", 2)[-1]  # "<source>/<split>/<original id>"
        values.extend([original_id, *original_id.split("/")])
    return values, keys


def uncovered_fields(
    source: Any,
    dialogues: Dialogue | Iterable[Dialogue],
    *,
    normalize: Callable[[str], str] | None = None,
    mapped: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> list[str]:
    """The leaves of a source record whose value is found nowhere in the unified dialogue(s) made from it.

    A non-empty string leaf is covered when it (after ``normalize`` and stripping) equals a unified string
    value or, if at least 4 characters long, occurs inside one (joined utterances, reformatted text).
    A number is covered when an equal number or its decimal text occurs (a numeric string when an equal
    number occurs). ``True``/``False``/``None`` and empty strings, lists and objects carry their meaning in
    their key, so the key must reappear as a column or a key of a ``meta``/``extra`` object, or be named in
    ``mapped`` (keys the reader maps onto schema columns, such as ``share_photo`` onto ``Turn.images``).
    Leaves whose path matches an entry of ``ignore`` (exact path or
    last key) are not checked.

    Returns:
        ``"<json path> = <value>"`` for each uncovered leaf (empty when nothing was dropped).

    Example:
        >>> from mmdial_data import Dialogue, Turn
        >>> d = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hello there")], {"topic": "t"})
        >>> uncovered_fields({"id": 7, "text": "hello there", "topic": "t", "mood": "sad"}, d)
        ['$.id = 7', "$.mood = 'sad'"]
    """
    from mmdial_data.schema import Dialogue

    if isinstance(dialogues, Dialogue):
        dialogues = [dialogues]
    values, keys = unified_leaves(dialogues)
    keys |= set(mapped)
    strings = {v.strip() for v in values if isinstance(v, str)}
    numbers = {v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)}
    haystack = "\x00".join(sorted(strings))
    ignored = set(ignore)
    missing = []
    for path, value in iter_leaves(source):
        if path in ignored or _last_key(path) in ignored:
            continue
        empty = value is None or value in ([], {}) or (isinstance(value, str) and not value.strip())
        if isinstance(value, bool) or empty:
            ok = _last_key(path) in keys
        elif isinstance(value, str):
            text = (normalize(value) if normalize else value).strip()
            ok = text in strings or (len(text) >= 4 and text in haystack) or _as_number(text) in numbers
        elif isinstance(value, (int, float)):
            ok = value in numbers or str(value) in strings or json.dumps(value) in strings
        else:
            ok = False
        if not ok:
            missing.append(f"{path} = {value!r}")
    return missing


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def assert_fields_covered(source: Any, dialogues: Dialogue | Iterable[Dialogue], **kwargs: Any) -> None:
    """Fail with the list of dropped leaves unless every leaf of ``source`` is in ``dialogues``.

    Takes the keyword arguments of :func:`uncovered_fields`.

    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "user", "hi")])
    >>> assert_fields_covered({"text": "hi", "speaker": "A"}, d)
    >>> assert_fields_covered({"text": "hi", "lost": "value"}, d)
    Traceback (most recent call last):
    ...
    AssertionError: 1 source field(s) not found in the unified record x/train/1: $.lost = 'value'
    """
    dialogues = list(dialogues) if not hasattr(dialogues, "turns") else [dialogues]  # type: ignore[list-item]
    missing = uncovered_fields(source, dialogues, **kwargs)
    if missing:
        ids = ", ".join(d.dialogue_id for d in dialogues)
        shown = "; ".join(missing[:20]) + (f" ... ({len(missing) - 20} more)" if len(missing) > 20 else "")
        raise AssertionError(f"{len(missing)} source field(s) not found in the unified record {ids}: {shown}")
