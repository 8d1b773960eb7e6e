"""The MultiWOZ venue databases (restaurant, hotel, attraction, train) and mwzeval's query semantics.

The bundled files under ``data/`` are MultiWOZ's own ``db/*_db.json`` (budzianowski/multiwoz, MIT, see
``data/README.md``). mwzeval's copy differs from them in one attraction value (``"mutliple sports"`` is
spelled ``"multiple sports"``); :class:`VenueDatabase` applies that fix when loading, so queries match mwzeval's.

A query takes a (normalised) domain state ``{slot: value}`` and returns the ids of the matching venues
(train ids for trains): a venue matches when every database column that the state constrains matches, with
fuzzy matching (``partial_ratio >= 90``) on names, restaurant food and train stations, ``arrive`` meaning
"arrives no later than" and ``leave`` "leaves no earlier than"; ``"?"`` in the database matches anything.

Example:
    >>> db = VenueDatabase()
    >>> len(db.query("restaurant", {"food": "chinese", "area": "north", "pricerange": "expensive"}))
    2
    >>> db.query("hotel", {"name": "the lensfield hotel"})
    ['29']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmdial_metrics.multiwoz.fuzzy import partial_ratio
from mmdial_metrics.multiwoz.normalize import normalize_slot_value, time_to_minutes

__all__ = ["DATA_DIR", "VENUE_DOMAINS", "VenueDatabase"]

#: Folder of the bundled database files.
DATA_DIR = Path(__file__).with_name("data")
#: Domains with a venue database.
VENUE_DOMAINS = ("restaurant", "attraction", "hotel", "train")

_IGNORED_COLUMNS = {
    "attraction": ("location", "openhours"),
    "hotel": ("location", "price", "takesbookings"),
    "restaurant": ("location", "introduction", "signature"),
}
_FUZZY_COLUMNS = {
    "hotel": {"name"},
    "attraction": {"name"},
    "restaurant": {"name", "food"},
    "train": {"departure", "destination"},
}
_DONTCARE = {"dontcare", "not mentioned", "don't care", "dont care", "do n't care", "do not care"}
_VALUE_FIXES = {("attraction", "type", "mutliple sports"): "multiple sports"}


def _column(name: str) -> str:
    if name == "id":
        return name
    name = name.lower().replace(" ", "")
    return {"arriveby": "arrive", "leaveat": "leave"}.get(name, name)


class VenueDatabase:
    """The four MultiWOZ venue databases with mwzeval's query rules.

    Args:
        db_dir: folder holding ``restaurant_db.json``, ``attraction_db.json``, ``hotel_db.json`` and
            ``train_db.json`` (MultiWOZ's ``db/`` folder); default: the bundled copy.
        fuzzy_ratio: the ``partial_ratio`` a fuzzy column needs (mwzeval: 90).
        fuzzy_backend: ``"levenshtein"`` (mwzeval's install) or ``"difflib"``, see :mod:`.fuzzy`.
    """

    def __init__(
        self, db_dir: str | Path | None = None, *, fuzzy_ratio: int = 90, fuzzy_backend: str = "levenshtein"
    ) -> None:
        self.db_dir = Path(db_dir) if db_dir is not None else DATA_DIR
        self.fuzzy_ratio = fuzzy_ratio
        self.fuzzy_backend = fuzzy_backend
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.columns: dict[str, set[str]] = {}
        for domain in VENUE_DOMAINS:
            path = self.db_dir / f"{domain}_db.json"
            if not path.is_file():
                raise ValueError(f"MultiWOZ database file {path} not found; pass the folder with MultiWOZ's *_db.json")
            rows = []
            for item in json.loads(path.read_text(encoding="utf-8")):
                item = {k: v for k, v in item.items() if k not in _IGNORED_COLUMNS.get(domain, ())}
                row = {_column(k): v for k, v in item.items()}
                for (dom, col, old), new in _VALUE_FIXES.items():
                    if dom == domain and row.get(col) == old:
                        row[col] = new
                rows.append(row)
            if not rows:
                raise ValueError(f"MultiWOZ database file {path} holds no venues")
            self.rows[domain] = rows
            self.columns[domain] = set(rows[0])

    def _matches(self, domain: str, row: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
        for column, wanted in query.items():
            if wanted is None or row[column] == "?":
                continue
            if column == "arrive":
                if time_to_minutes(row[column]) > wanted:
                    return False
            elif column == "leave":
                if time_to_minutes(row[column]) < wanted:
                    return False
            elif column in _FUZZY_COLUMNS.get(domain, ()):
                if partial_ratio(row[column], wanted, backend=self.fuzzy_backend) < self.fuzzy_ratio:
                    return False
            elif row[column] != wanted:
                return False
        return True

    def query(self, domain: str, constraints: Mapping[str, Any]) -> list[Any]:
        """Ids of the venues of ``domain`` matching ``constraints`` (``[]`` for a domain without a database)."""
        if domain not in self.rows:
            return []
        query: dict[str, Any] = {}
        for column in self.columns[domain]:
            if column not in constraints:
                query[column] = None
                continue
            value = constraints[column]
            if value in _DONTCARE:
                continue
            value = normalize_slot_value(column, value)
            query[column] = time_to_minutes(value) if column in ("arrive", "leave") else value
        key = "trainid" if domain == "train" else "id"
        return [row[key] for row in self.rows[domain] if self._matches(domain, row, query)]
