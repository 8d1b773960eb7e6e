"""The one strict ``mapping -> dataclass`` loader of the project's configs (recipes, the augment and fusion
configs): only the dataclass's fields are accepted, an unknown key is a ``ValueError`` naming where it is and
the closest field, nested dataclasses (and lists of them) are built from nested mappings, and scalar fields
(``int``, ``float``, ``bool``, ``str``, optionally ``| None``) are type-checked.

Example:
    >>> from dataclasses import dataclass, field
    >>> @dataclass
    ... class Train:
    ...     lr: float = 1e-3
    ...     epochs: int = 1
    >>> @dataclass
    ... class Config:
    ...     name: str = "run"
    ...     train: Train = field(default_factory=Train)
    >>> from_mapping(Config, {"train": {"lr": "5e-4", "epochs": 3}}, "config")
    Config(name='run', train=Train(lr=0.0005, epochs=3))
    >>> from_mapping(Config, {"trian": {}}, "config")
    Traceback (most recent call last):
    ...
    ValueError: config: unknown key 'trian'; did you mean 'train'?
    >>> from_mapping(Config, {"train": {"epochs": 1.5}}, "config")
    Traceback (most recent call last):
    ...
    ValueError: config.train.epochs: expected an integer, got 1.5
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from mmdial_data.names import did_you_mean

T = TypeVar("T")


def check_keys(data: Any, known: Iterable[str], where: str) -> None:
    """``data`` is a mapping whose keys are all in ``known``, else a ``ValueError``: ``"<where>: unknown key
    'x'; did you mean 'y'?"`` (or ``"; known: a, b"`` when nothing is close).

    >>> check_keys({"seed": 1}, ["name", "seed"], "recipe")
    >>> check_keys({"colour": 1}, ["name", "seed"], "recipe")
    Traceback (most recent call last):
    ...
    ValueError: recipe: unknown key 'colour'; known: name, seed
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    names = list(known)
    for key in data:
        if key not in names:
            raise ValueError(f"{where}: unknown key {key!r}{did_you_mean(str(key), names, list_known=True)}")


def from_mapping(cls: type[T], data: Any, where: str, *, check_types: bool = True) -> T:
    """Build the dataclass ``cls`` from the mapping ``data`` (``where`` names it in errors: ``config.train``).

    A field whose type is a dataclass is built from a nested mapping (``None`` or absent: its defaults), a
    ``list[<dataclass>]`` field from a list of mappings (``where[i]`` in errors); with ``check_types``, scalar
    fields are checked (``float`` also takes an ``int`` or a numeric string such as YAML's ``1e-4``).
    Missing required fields and ``__post_init__`` errors come from ``cls`` itself.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    check_keys(data, fields, where)
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        at = f"{where}.{key}"
        hint = hints.get(key, fields[key].default_factory)  # unresolvable annotation: field(default_factory=X)
        item = _list_item(hint)
        if _is_dataclass_type(hint):
            kwargs[key] = from_mapping(hint, value or {}, at, check_types=check_types)
        elif item is not None:
            if not isinstance(value, list):
                raise ValueError(f"{at}: expected a list, got {type(value).__name__}")
            kwargs[key] = [from_mapping(item, x, f"{at}[{i}]", check_types=check_types) for i, x in enumerate(value)]
        elif check_types:
            kwargs[key] = check_scalar(value, _annotation_text(fields[key].type), at)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def check_scalar(value: Any, annotation: str, where: str) -> Any:
    """``value`` checked against a scalar annotation (``"int"``, ``"float | None"``, ``"float | int"`` ...);
    other annotations pass ``value`` through.

    >>> check_scalar("1e-4", "float", "train.lr"), check_scalar(None, "int | None", "train.steps")
    (0.0001, None)
    >>> check_scalar(True, "int", "train.epochs")
    Traceback (most recent call last):
    ...
    ValueError: train.epochs: expected an integer, got True
    """
    parts = _union_parts(annotation)
    kinds = {p for p in parts if p != "None"}
    if value is None:
        if "None" in parts:
            return None
        raise ValueError(f"{where}: must not be null")
    if kinds == {"float"} or kinds == {"float", "int"}:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        if isinstance(value, int) and "int" in kinds:
            return value
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if kinds == {"int"} and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{where}: expected an integer, got {value!r}")
    if kinds == {"bool"} and not isinstance(value, bool):
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if kinds == {"str"} and not isinstance(value, str):
        raise ValueError(f"{where}: expected a string, got {value!r}")
    return value


def _union_parts(annotation: str) -> list[str]:
    """The top-level members of ``A | B | None`` (brackets respected: ``dict[str, int | None]`` is one)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(annotation):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "|" and depth == 0:
            parts.append(annotation[start:i].strip())
            start = i + 1
    parts.append(annotation[start:].strip())
    return parts


def _annotation_text(annotation: Any) -> str:
    """A field's annotation as written: a string already under ``from __future__ import annotations``."""
    if isinstance(annotation, str):
        return annotation
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # a name imported only for type checkers: no nesting, string checks only
        return {}


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _list_item(hint: Any) -> type | None:
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint) or (None,)
        if _is_dataclass_type(item):
            return item  # type: ignore[no-any-return]
    return None
