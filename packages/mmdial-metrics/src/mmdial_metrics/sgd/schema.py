"""SGD / DSTC8 schemas: services with their slots (categorical or not), and seen vs unseen services.

A ``schema.json`` is a list of services ``{"service_name", "slots": [{"name", "is_categorical", ...}], ...}``.
As in the official evaluator, a service of the evaluation schema is *seen* when the training schema also has
it (by name) and *unseen* otherwise, and its *domain* is its name up to the first ``_`` (``Events_2`` -> ``Events``).

Example:
    >>> schema = parse_schema([{"service_name": "Buses_2", "slots": [
    ...     {"name": "to_city", "is_categorical": False}, {"name": "fare_type", "is_categorical": True}]}])
    >>> schema["Buses_2"].categorical_slots, domain_of("Buses_2")
    (('fare_type',), 'Buses')
    >>> sorted(seen_services(schema, ["Buses_2", "Events_2"]))
    ['Buses_2']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Slot:
    """One slot of a service: its name and whether its values come from a closed list."""

    name: str
    is_categorical: bool
    possible_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    """One service of a schema, its slots in schema order (the order the evaluator scores them in)."""

    name: str
    slots: tuple[Slot, ...]

    @property
    def categorical_slots(self) -> tuple[str, ...]:
        """Names of the categorical slots, in schema order."""
        return tuple(s.name for s in self.slots if s.is_categorical)

    @property
    def noncategorical_slots(self) -> tuple[str, ...]:
        """Names of the non-categorical slots, in schema order."""
        return tuple(s.name for s in self.slots if not s.is_categorical)


Schema = Mapping[str, Service]


def domain_of(service: str) -> str:
    """The domain a service's metrics are also aggregated under: its name up to the first ``_``."""
    return service.split("_")[0]


def parse_schema(data: Any, *, where: str = "schema") -> dict[str, Service]:
    """Services by name from a loaded ``schema.json`` (a list of services); ValueError on a malformed one."""
    if not isinstance(data, list):
        kind = type(data).__name__
        raise ValueError(f"{where}: expected a JSON list of services, got {kind}; pass a DSTC8 schema.json")
    services: dict[str, Service] = {}
    for i, item in enumerate(data):
        if not isinstance(item, Mapping) or not isinstance(item.get("service_name"), str):
            raise ValueError(f"{where}: service {i} has no string 'service_name'; pass a DSTC8 schema.json")
        name = item["service_name"]
        slots = []
        for j, slot in enumerate(item.get("slots") or []):
            if not isinstance(slot, Mapping) or not isinstance(slot.get("name"), str) or "is_categorical" not in slot:
                raise ValueError(
                    f"{where}: slot {j} of service {name!r} needs 'name' and 'is_categorical'; fix the schema file"
                )
            values = tuple(str(v) for v in slot.get("possible_values") or ())
            slots.append(Slot(slot["name"], bool(slot["is_categorical"]), values))
        services[name] = Service(name, tuple(slots))
    return services


def _read_json(path: str | os.PathLike[str], what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: {what} not found; pass the path of an existing DSTC8 schema.json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); pass a DSTC8 schema.json") from err


def load_schema(path: str | os.PathLike[str]) -> dict[str, Service]:
    """Read a ``schema.json`` into services by name (file order)."""
    return parse_schema(_read_json(path, "schema file"), where=str(path))


def service_names(path: str | os.PathLike[str]) -> frozenset[str]:
    """The service names of a ``schema.json`` (for the training schema only the names matter)."""
    return frozenset(load_schema(path))


def seen_services(eval_schema: Iterable[str], train_services: Iterable[str]) -> frozenset[str]:
    """Services of the evaluation schema that the training schema also has (the official "in-domain" set)."""
    return frozenset(eval_schema) & frozenset(train_services)
