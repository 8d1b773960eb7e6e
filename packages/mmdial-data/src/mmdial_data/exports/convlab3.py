"""Export to ConvLab-3's unified format (``data/unified_datasets``), and the format's checks.

``export_convlab3(dialogues_or_path, out)`` writes one dataset folder per dataset name under ``out``:
``out/<dataset>/data.zip`` (``data/dialogues.json`` and ``data/ontology.json``) and ``dummy_data.json`` (its first
10 dialogues), the layout of ConvLab-3's ``data/unified_datasets``, which its ``load_dataset`` and ``check.py``
read and the ``convlab3`` reader reads back. :func:`check_convlab3` applies the checks ConvLab-3 documents for a
unified dataset (``check.py``'s rules, see its docstring); the export runs it on what it wrote before the output
is moved into place, so a folder that fails them is never left.

Where each field goes (the inverse of :mod:`mmdial_data.readers.convlab3`):

- dataset: ``dataset=``, else a ``convlab3`` dialogue's ``meta["dataset"]``, else the dialogue's ``source``;
  ``dialogue_id`` ``<dataset>-<split>-<n>`` (kept from a ``convlab3`` dialogue whose id has that form; others are
  numbered from 0 per split, after the kept ones); ``data_split`` = the split (a canonical name of
  :mod:`mmdial_data.splits`, which ConvLab-3's ``train``/``validation``/``test`` are); ``original_id`` (meta's, else
  the unified id without ``<source>/<split>/``), ``domains``, ``goal`` and every other ``meta`` entry as a dialogue
  attribute of its own name. ``domains`` is meta's (plus any domain the acts use), else the domains of the acts, state
  and goal in order of first use; ``goal`` is meta's when it has ConvLab-3's shape, else ``{"description": "",
  "inform": {}, "request": {}}``. ``meta["turns_without_text"]`` (ConvLab-3 turns with an empty utterance) goes back
  into the turns at their ``utt_idx``.
- turns: roles ``user``/``system`` as speaker; other roles by first appearance, alternately ``user``, ``system``;
  consecutive turns of one speaker (ConvLab-3 requires turns to alternate) are merged into one, their texts joined
  by a space (spans shifted), acts concatenated, the last one's state, and the parts whole in ``mmdial.turns``.
  Acts: the list and span fields of ``extra["dialogue_acts"]`` where it is aligned with the acts, else
  ``non-categorical`` for an act with values (several joined by ``"|"``, the format's separator) and ``binary``
  without; domain None as ``general``, slot None as ``""``. State (user turns): ``"<domain>-<slot>"`` split at the
  first ``-``, values joined by ``"|"``, plus ``extra["state_empty"]``; ``db_results`` (system turns, ``{}`` by
  default) and every other ``extra`` entry as a turn attribute.
- the ontology is built from the data (``meta["ontology_domains"]`` first where a ``convlab3`` dialogue has it):
  every domain, slot (``is_categorical`` from the act lists; categorical values as ``possible_values``), intent,
  state slot and dialogue act (with the speakers that use it), descriptions empty where unknown.

Not carried by the format, and so written into the ``mmdial`` attribute (see :mod:`._carry`) of the turn or
dialogue: a speaker or role other than the ConvLab-3 speaker, images, emotion, intent, knowledge, acts the mapping
above does not give back (several values, a None domain or slot), state on a system turn or one the mapping does
not give back (several values, a slot without ``-``), ``db_results`` on a user turn, a changed id or source, and
meta entries that collide with the format's own (``dataset``, ``domains``, ``goal`` of another shape). Read back
by the ``convlab3`` reader, those land in ``extra["mmdial"]``/``meta["mmdial"]``. Not kept at all: a
``convlab3`` dialogue's ``meta["data_split"]`` (the original split after a split override: the written
``data_split`` is the dialogue's split), and ``schema_version``; a ``convlab3`` dialogue read without an ontology
reads back with ``meta["ontology_domains"]`` of the ontology written here. The whole dataset is held in memory
(the format is one JSON list).

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, DialogueAct, Turn, Annotations, read_source
    >>> hi = Annotations(dialogue_acts=[DialogueAct("inform", "hotel", "area", ["north"])],
    ...                  state={"hotel-area": ["north"]})
    >>> d = Dialogue("mine/train/7", "mine", "train", [Turn(0, "u", "user", "a hotel in the north", annotations=hi),
    ...                                               Turn(1, "s", "system", "ok")])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "unified"
    >>> export_convlab3([d], out)
    {'mine': 1}
    >>> sorted(p.name for p in (out / "mine").iterdir())
    ['data.zip', 'dummy_data.json']
    >>> check_convlab3(out)["mine"]["dialogues"]
    1
    >>> back = next(read_source("convlab3", out))
    >>> back.dialogue_id, back.turns[0].annotations.state, back.meta["mmdial"]["dialogue_id"]
    ('convlab3/train/mine-train-0', {'hotel-area': ['north']}, 'mine/train/7')
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmdial_data.errors import MMDialDataError
from mmdial_data.exports._carry import (
    CARRY_KEY,
    dialogue_loss,
    full_turn,
    iter_dialogues,
    meta_loss,
    original_id,
    turn_loss,
)
from mmdial_data.readers import convlab3 as reader
from mmdial_data.schema import Dialogue, Turn

ACT_TYPES = reader.ACT_TYPES
#: Values ConvLab-3 treats as "no value" (never a categorical slot's possible value).
SPECIAL_VALUES = ("", "dontcare", None, "?")
#: How many dialogues ``dummy_data.json`` holds.
DUMMY_SIZE = 10
_TURN_FORMAT_KEYS = {"speaker", "utterance", "utt_idx", "dialogue_acts", "state", "db_results"}
_TURN_DERIVED = {"dialogue_acts", "dialogue_acts_other", "state_empty", "utt_idx", "db_results"}
_DIALOGUE_FORMAT_KEYS = {"dataset", "data_split", "dialogue_id", "turns", "domains", "goal"}
_DIALOGUE_DERIVED = {"ontology_domains", "turns_without_text", "data_split"}
_NAME = re.compile(r"^[^-/\\\s]+$")


class ConvLab3CheckError(MMDialDataError):
    """A unified dataset breaks one of ConvLab-3's documented rules."""


def export_convlab3(
    data: Iterable[Dialogue] | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dataset: str | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write dialogues as ConvLab-3 unified datasets under ``out`` (atomically); returns dialogues per dataset.

    Args:
        data: Dialogues, or a build folder, Parquet shard folder or unified ``.parquet``/``.jsonl`` file.
        out: The output folder (new or empty, or ``overwrite``): one ``<dataset>/`` folder per dataset.
        dataset: The dataset name for every dialogue (default: a ``convlab3`` dialogue's own, else its source).
        overwrite: Replace an existing ``out``.

    Raises:
        OutputError: ``out`` exists (without ``overwrite``) or cannot be a folder.
        ValueError: A dataset or split name ConvLab-3 ids cannot hold (with ``-``), or no dialogue at all.
        ConvLab3CheckError: The written dataset fails :func:`check_convlab3` (nothing is left at ``out``).
    """
    from mmdial_data.outputs import check_output, staged

    check_output(out, kind="dir", overwrite=overwrite)
    if dataset is not None:
        _check_name(dataset, "dataset")
    groups: dict[str, list[tuple[Dialogue, dict[str, Any]]]] = {}
    for d in iter_dialogues(data):
        name = dataset or _dataset_of(d)
        _check_name(name, "dataset")
        _check_name(d.split, "split")
        groups.setdefault(name, []).append((d, _dialogue_dict(d, name)))
    if not groups:
        raise ValueError(f"{os.fspath(data) if isinstance(data, (str, os.PathLike)) else 'input'}: no dialogues")
    with staged(out, kind="dir", overwrite=overwrite) as tmp:
        for name, items in groups.items():
            _assign_ids(name, items)
            dialogues = [raw for _, raw in items]
            seed: dict[str, Any] = next((d.meta["ontology_domains"] for d, _ in items if _ontology_seed(d)), {})
            ontology = build_ontology(dialogues, seed)
            folder = tmp / name
            folder.mkdir()
            with zipfile.ZipFile(folder / "data.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("data/ontology.json", json.dumps(ontology, ensure_ascii=False, indent=2))
                archive.writestr("data/dialogues.json", json.dumps(dialogues, ensure_ascii=False, indent=2))
            (folder / "dummy_data.json").write_text(
                json.dumps(dialogues[:DUMMY_SIZE], ensure_ascii=False, indent=2), encoding="utf-8"
            )
        check_convlab3(tmp)
    return {name: len(items) for name, items in groups.items()}


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise ValueError(
            f"{what} name {name!r} cannot be part of a ConvLab-3 dialogue id <dataset>-<split>-<n> (no '-', '/' or "
            "spaces)" + ("; pass --dataset NAME" if what == "dataset" else "")
        )


def _native(d: Dialogue) -> bool:
    return d.source == reader.SOURCE


def _dataset_of(d: Dialogue) -> str:
    name = d.meta.get("dataset") if _native(d) else None
    return name if isinstance(name, str) and name else d.source


def _ontology_seed(d: Dialogue) -> bool:
    return _native(d) and isinstance(d.meta.get("ontology_domains"), dict)


def _goal_ok(goal: Any) -> bool:
    return (
        isinstance(goal, dict)
        and isinstance(goal.get("description"), str)
        and isinstance(goal.get("inform"), dict)
        and isinstance(goal.get("request"), dict)
        and all(isinstance(s, dict) for s in (*goal["inform"].values(), *goal["request"].values()))
    )


def _speakers(turns: list[Turn]) -> list[str]:
    """The ConvLab-3 speaker of each turn: ``user``/``system`` roles as they are, other roles alternately."""
    other: dict[str, str] = {}
    out = []
    for t in turns:
        if t.role in ("user", "system"):
            out.append(t.role)
        else:
            out.append(other.setdefault(t.role, ("user", "system")[len(other) % 2]))
    return out


def _act_dicts(t: Turn) -> dict[str, list[dict[str, Any]]]:
    acts = t.annotations.dialogue_acts
    info = t.annotations.extra.get("dialogue_acts")
    aligned = (
        isinstance(info, list)
        and len(info) == len(acts)
        and all(isinstance(x, dict) and x.get("type") in ACT_TYPES for x in info)
    )
    lists: dict[str, list[dict[str, Any]]] = {k: [] for k in ACT_TYPES}
    other = t.annotations.extra.get("dialogue_acts_other")
    if isinstance(other, dict):
        lists.update({k: copy.deepcopy(v) for k, v in other.items() if k not in ACT_TYPES})
    infos: list[dict[str, Any]] = info if aligned and isinstance(info, list) else [{} for _ in acts]
    for act, given in zip(acts, infos, strict=True):
        fields = {k: v for k, v in given.items() if k != "type"}
        kind = str(given["type"]) if aligned else ("non-categorical" if act.values else "binary")
        if kind == "binary" and act.values:
            kind = "non-categorical"
        elif kind != "binary" and not act.values:
            kind = "binary"
        da: dict[str, Any] = {
            "intent": act.act,
            "domain": "general" if act.domain is None else act.domain,
            "slot": "" if act.slot is None else act.slot,
        }
        if kind != "binary":
            da["value"] = "|".join(act.values)
        da.update({k: v for k, v in fields.items() if k not in da})
        lists[kind].append(da)
    return lists


def _state_dict(t: Turn) -> dict[str, dict[str, Any]]:
    empty = t.annotations.extra.get("state_empty")
    state: dict[str, dict[str, Any]] = copy.deepcopy(empty) if isinstance(empty, dict) else {}
    for key, values in t.annotations.state.items():
        domain, _, slot = key.partition("-")
        state.setdefault(domain, {})[slot] = "|".join(values)
    return state


def _turn_dict(t: Turn, speaker: str) -> dict[str, Any]:
    extra = t.annotations.extra
    td: dict[str, Any] = {"speaker": speaker, "utterance": t.text, "utt_idx": 0, "dialogue_acts": _act_dicts(t)}
    if speaker == "user":
        td["state"] = _state_dict(t)
    else:
        db = extra.get("db_results", {})
        td["db_results"] = db if isinstance(db, dict) else {}
    for k, v in extra.items():
        if k not in _TURN_FORMAT_KEYS and k not in _TURN_DERIVED:
            td[k] = v
    return td


def _merge(parts: list[tuple[Turn, dict[str, Any]]]) -> dict[str, Any]:
    """One ConvLab-3 turn of consecutive turns of one speaker; the parts whole in ``mmdial.turns``."""
    merged = copy.deepcopy(parts[0][1])
    texts = [merged["utterance"]]
    offset = len(merged["utterance"])
    for _, td in parts[1:]:
        offset += 1
        for kind, acts in td["dialogue_acts"].items():
            for da in acts:
                da = dict(da)
                if isinstance(da.get("start"), int) and isinstance(da.get("end"), int):
                    da["start"] += offset
                    da["end"] += offset
                merged["dialogue_acts"].setdefault(kind, []).append(da)
        for k, v in td.items():
            if k not in ("speaker", "utterance", "utt_idx", "dialogue_acts", "db_results"):
                merged[k] = v
        if td.get("db_results"):
            merged["db_results"] = {**merged.get("db_results", {}), **td["db_results"]}
        texts.append(td["utterance"])
        offset += len(td["utterance"])
    merged["utterance"] = " ".join(texts)
    merged[CARRY_KEY] = {"turns": [full_turn(t) for t, _ in parts]}
    return merged


def _read_back(td: dict[str, Any], position: int) -> Turn | None:
    """What the ``convlab3`` reader makes of a written turn (None: it becomes no turn)."""
    if not td["utterance"].strip():
        return None
    annotations = reader._annotations(td, position, Path("."), "")
    return Turn(position, td["speaker"], td["speaker"], td["utterance"], annotations=annotations)


def _dialogue_dict(d: Dialogue, name: str) -> dict[str, Any]:
    native = _native(d)
    speakers = _speakers(d.turns)
    written: list[tuple[list[Turn], dict[str, Any]]] = []
    untexted = d.meta.get("turns_without_text") if native else None
    if isinstance(untexted, list) and all(isinstance(x, dict) and isinstance(x.get("utt_idx"), int) for x in untexted):
        pending = sorted(untexted, key=lambda x: int(x["utt_idx"]))
    else:
        untexted, pending = None, []
    for t, speaker in zip(d.turns, speakers, strict=True):
        utt_idx = t.annotations.extra.get("utt_idx", t.turn_index) if native else None
        while pending and isinstance(utt_idx, int) and pending[0]["utt_idx"] <= utt_idx:
            written.append(([], copy.deepcopy(pending.pop(0))))
        td = _turn_dict(t, speaker)
        if written and written[-1][1]["speaker"] == speaker and written[-1][0]:
            written[-1][0].append(t)
            continue
        written.append(([t], td))
    written.extend(([], copy.deepcopy(x)) for x in pending)
    turns: list[dict[str, Any]] = []
    texted = 0
    for parts, td in written:
        if len(parts) > 1:
            td = _merge([(p, _turn_dict(p, td["speaker"])) for p in parts])
        td["utt_idx"] = len(turns)
        if len(parts) == 1:
            lost = turn_loss(parts[0], _read_back(td, texted))
            if lost:
                if CARRY_KEY in parts[0].annotations.extra:
                    lost.setdefault("extra", {})[CARRY_KEY] = parts[0].annotations.extra[CARRY_KEY]
                td[CARRY_KEY] = lost
        texted += bool(td["utterance"].strip())
        turns.append(td)
    return _dialogue_fields(d, name, native, turns, untexted is not None)


def _domains(turns: list[dict[str, Any]], goal: dict[str, Any], given: Any) -> list[str]:
    """meta's domains (a ``convlab3`` dialogue) plus those its acts and goal need, else every domain used."""
    native = isinstance(given, list) and all(isinstance(x, str) for x in given)
    domains: list[str] = list(given) if native else []
    needed: list[str] = []
    for td in turns:
        for kind, acts in td["dialogue_acts"].items():
            if kind != "binary" or not native:
                needed += [da["domain"] for da in acts if isinstance(da, dict) and isinstance(da.get("domain"), str)]
        if not native:
            needed += list(td.get("state", {}))
    needed += [*goal.get("inform", {}), *goal.get("request", {})]
    for domain in needed:
        if domain not in domains:
            domains.append(domain)
    return domains


def _dialogue_fields(
    d: Dialogue, name: str, native: bool, turns: list[dict[str, Any]], reinserted: bool
) -> dict[str, Any]:
    meta = d.meta
    goal: dict[str, Any] = {"description": "", "inform": {}, "request": {}}
    if native and _goal_ok(meta.get("goal")):
        goal = meta["goal"]
    raw: dict[str, Any] = {"dataset": name, "data_split": d.split, "dialogue_id": None}
    if "original_id" not in meta:
        raw["original_id"] = original_id(d)
    raw["domains"] = _domains(turns, goal, meta.get("domains") if native else None)
    raw["goal"] = goal
    for k, v in meta.items():
        if k not in _DIALOGUE_FORMAT_KEYS and k not in _DIALOGUE_DERIVED and k not in raw:
            raw[k] = v
    raw["turns"] = turns
    view = {k: v for k, v in raw.items() if k not in ("data_split", "dialogue_id", "turns")}
    view_untexted = [td for td in turns if not td["utterance"].strip()]
    if view_untexted:
        view["turns_without_text"] = view_untexted
    ignore = {"ontology_domains", "data_split"} if native else set()
    if native and reinserted:
        ignore.add("turns_without_text")
    raw["_lost_meta"] = meta_loss(meta, view, ignore=ignore)
    return raw


def _assign_ids(name: str, items: list[tuple[Dialogue, dict[str, Any]]]) -> None:
    """Dialogue ids ``<name>-<split>-<n>``: a ``convlab3`` dialogue's own where it has that form and is unique,
    then the others numbered per split after the largest kept; the ``mmdial`` record of each dialogue."""
    used: set[str] = set()
    keep: dict[int, str] = {}
    pattern = re.compile(rf"^{re.escape(name)}-(?P<split>[^-]+)-(?P<n>\d+)$")
    top: dict[str, int] = {}
    for i, (d, _raw) in enumerate(items):
        own = d.dialogue_id.removeprefix(f"{reader.SOURCE}/{d.split}/") if _native(d) else ""
        m = pattern.match(own)
        if m and m["split"] == d.split and own not in used:
            keep[i] = own
            used.add(own)
            top[d.split] = max(top.get(d.split, -1), int(m["n"]))
    for i, (d, raw) in enumerate(items):
        if i not in keep:
            top[d.split] = top.get(d.split, -1) + 1
            keep[i] = f"{name}-{d.split}-{top[d.split]}"
        raw["dialogue_id"] = keep[i]
        got_id = f"{reader.SOURCE}/{d.split}/{raw['dialogue_id']}"
        lost = dialogue_loss(d, got_id, reader.SOURCE, raw.pop("_lost_meta"))
        if lost:
            if CARRY_KEY in d.meta and "meta" not in lost:
                lost["meta"] = {CARRY_KEY: d.meta[CARRY_KEY]}
            raw[CARRY_KEY] = lost


def _act_key(da: dict[str, Any]) -> tuple[str, str, str]:
    return (str(da.get("intent")), str(da.get("domain")), str(da.get("slot")))


def build_ontology(dialogues: list[dict[str, Any]], seed: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ConvLab-3 ontology for unified dialogues: ``seed`` domain entries first, then every domain, slot,
    intent, state slot and dialogue act the dialogues use (empty descriptions where none is known).

    >>> turn = {"speaker": "user", "utterance": "hi", "utt_idx": 0, "state": {"hotel": {"area": ""}},
    ...         "dialogue_acts": {"categorical": [{"intent": "inform", "domain": "hotel", "slot": "area",
    ...                                            "value": "north"}], "non-categorical": [], "binary": []}}
    >>> o = build_ontology([{"domains": ["hotel"], "goal": {}, "turns": [turn]}])
    >>> o["domains"]["hotel"]["slots"]["area"], o["state"]
    ({'description': '', 'is_categorical': True, 'possible_values': ['north']}, {'hotel': {'area': ''}})
    >>> o["dialogue_acts"]["categorical"]
    ["{'user': True, 'system': False, 'intent': 'inform', 'domain': 'hotel', 'slot': 'area'}"]
    """
    domains: dict[str, Any] = copy.deepcopy(seed) if isinstance(seed, dict) else {}
    intents: dict[str, Any] = {}
    state: dict[str, dict[str, str]] = {}
    acts: dict[str, dict[tuple[str, str, str], dict[str, bool]]] = {k: {} for k in ACT_TYPES}

    def slot(domain: str, name: str, categorical: bool | None = None, value: Any = None) -> None:
        entry = domains.setdefault(domain, {"description": "", "slots": {}})
        entry.setdefault("description", "")
        slots = entry.setdefault("slots", {})
        s = slots.setdefault(name, {"description": "", "is_categorical": bool(categorical), "possible_values": []})
        if s.get("is_categorical") and isinstance(value, str):
            known = {str(v).lower() for v in s["possible_values"]}
            for v in value.split("|"):
                if v.lower() not in SPECIAL_VALUES and v.lower() not in known:
                    s["possible_values"].append(v)
                    known.add(v.lower())

    for raw in dialogues:  # the act lists decide whether a slot is categorical, so acts come first
        for domain in raw.get("domains", []):
            domains.setdefault(domain, {"description": "", "slots": {}})
        for td in raw["turns"]:
            speaker = td.get("speaker")
            for kind, items in (td.get("dialogue_acts") or {}).items():
                for da in items:
                    intents.setdefault(str(da.get("intent")), {"description": ""})
                    if kind != "binary":
                        slot(str(da.get("domain")), str(da.get("slot")), kind == "categorical", da.get("value"))
                    users = acts.setdefault(kind, {}).setdefault(_act_key(da), {"user": False, "system": False})
                    users[str(speaker)] = True
    for raw in dialogues:
        goal = raw.get("goal", {})
        for part in ("inform", "request"):
            for domain, slots in (goal.get(part) or {}).items():
                for name, value in slots.items():
                    slot(domain, name, None, value)
        for td in raw["turns"]:
            for domain, slots in (td.get("state") or {}).items():
                for name, value in slots.items():
                    slot(domain, name, None, value)
                    state.setdefault(domain, {})[name] = ""
    dialogue_acts = {
        kind: sorted(
            repr({"user": u["user"], "system": u["system"], "intent": i, "domain": dom, "slot": s})
            for (i, dom, s), u in table.items()
        )
        for kind, table in acts.items()
    }
    return {"domains": domains, "intents": intents, "state": state, "dialogue_acts": dialogue_acts}


# --- checks ---------------------------------------------------------------------------------------------------


def check_convlab3(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Check a ConvLab-3 unified dataset folder (or a folder of them) against the format's documented rules;
    returns per dataset ``{"dialogues", "utterances", "splits": {split: dialogues}}``.

    The rules (those of ConvLab-3's ``data/unified_datasets/README.md`` and its ``check.py``):

    - the folder holds ``data.zip`` with ``data/ontology.json`` and ``data/dialogues.json``, and
      ``dummy_data.json``; both dialogue lists pass the checks below;
    - ontology: ``domains`` of ``description`` and ``slots`` (each with ``description``, ``is_categorical``,
      ``possible_values``: non-empty for a categorical slot and without ``""``, ``dontcare``, ``?``, null);
      ``intents`` with descriptions; ``state``: ``{domain: {slot: ""}}`` of ontology slots; ``dialogue_acts``: per
      act list, strings of ``{'user', 'system', 'intent', 'domain', 'slot'}`` dicts;
    - dialogue: ``dataset`` = the folder's name, ``data_split`` a string, ``dialogue_id``
      ``<dataset>-<data_split>-<int>``, unique; ``domains`` a list of ontology domains; ``goal`` with a
      ``description`` string, ``inform`` (non-empty values) and ``request`` (empty values) of ontology slots of the
      dialogue's domains; ``turns`` non-empty;
    - turn: ``speaker`` ``user`` or ``system``, alternating; ``utt_idx`` its position; ``dialogue_acts`` with the
      three lists; categorical and non-categorical acts of ontology intents, of the dialogue's domains, of
      ontology slots whose ``is_categorical`` matches the list; a non-categorical span (``start`` and ``end``
      both or neither) equal to the value; binary acts without a value; every act listed in the ontology for its
      speaker; a user turn has no ``db_results`` and its ``state`` uses ontology slots; a system turn has no
      ``state`` and ``db_results`` maps domains to lists.

    Raises:
        ConvLab3CheckError: The first rule broken, naming the file and the dialogue/turn.

    Example:
        >>> import tempfile, pathlib
        >>> check_convlab3(pathlib.Path(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mmdial_data.exports.convlab3.ConvLab3CheckError: ...: no ConvLab-3 dataset folder (with data.zip) here
    """
    folder = Path(folder)
    if (folder / "data.zip").is_file():
        datasets = [folder]
    else:
        datasets = sorted(p for p in folder.iterdir() if (p / "data.zip").is_file()) if folder.is_dir() else []
    if not datasets:
        raise ConvLab3CheckError("no ConvLab-3 dataset folder (with data.zip) here", path=folder)
    return {p.name: _check_dataset(p) for p in datasets}


def _fail(condition: bool, message: str, path: Path, record: str) -> None:
    if not condition:
        raise ConvLab3CheckError(message, path=path, record=record)


def _check_dataset(folder: Path) -> dict[str, Any]:
    archive_path = folder / "data.zip"
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        for member in ("data/ontology.json", "data/dialogues.json"):
            _fail(member in names, f"no {member} in the archive", archive_path, "top level")
        ontology = json.loads(archive.read("data/ontology.json").decode("utf-8"))
        dialogues = json.loads(archive.read("data/dialogues.json").decode("utf-8"))
    dummy_path = folder / "dummy_data.json"
    _fail(dummy_path.is_file(), "no dummy_data.json beside data.zip", folder, "top level")
    dummy = json.loads(dummy_path.read_text(encoding="utf-8"))
    acts = _check_ontology(ontology, archive_path)
    _check_dialogues(folder.name, dummy, ontology, acts, dummy_path)
    return _check_dialogues(folder.name, dialogues, ontology, acts, archive_path)


def _check_ontology(ontology: Any, path: Path) -> dict[str, dict[tuple[Any, Any, Any], dict[str, Any]]]:
    where = "data/ontology.json"
    _fail(isinstance(ontology, dict), "the ontology must be an object", path, where)
    for key in ("domains", "intents", "state", "dialogue_acts"):
        _fail(isinstance(ontology.get(key), dict), f"the ontology needs {key!r} (an object)", path, where)
    for dname, domain in ontology["domains"].items():
        _fail(
            isinstance(domain, dict) and "description" in domain and isinstance(domain.get("slots"), dict),
            f"domain {dname!r} needs description and slots",
            path,
            where,
        )
        for sname, s in domain["slots"].items():
            here = f"{where}, slot {dname}-{sname}"
            _fail(
                isinstance(s, dict) and {"description", "is_categorical", "possible_values"} <= s.keys(),
                "a slot needs description, is_categorical and possible_values",
                path,
                here,
            )
            _fail(isinstance(s["possible_values"], list), "possible_values must be a list", path, here)
            if s["is_categorical"]:
                _fail(bool(s["possible_values"]), "a categorical slot needs possible values", path, here)
                lowered = [str(v).lower() if v is not None else None for v in s["possible_values"]]
                for special in SPECIAL_VALUES:
                    _fail(special not in lowered, f"special value {special!r} in possible values", path, here)
    for iname, intent in ontology["intents"].items():
        _fail(
            isinstance(intent, dict) and "description" in intent, f"intent {iname!r} needs a description", path, where
        )
    for dname, slots in ontology["state"].items():
        _fail(dname in ontology["domains"], f"state domain {dname!r} is not an ontology domain", path, where)
        _fail(isinstance(slots, dict), f"state domain {dname!r} must map slots to ''", path, where)
        for sname, value in slots.items():
            _fail(
                sname in ontology["domains"][dname]["slots"], f"state slot {dname}-{sname} is not a slot", path, where
            )
            _fail(value == "", f"state slot {dname}-{sname} must be ''", path, where)
    table: dict[str, dict[tuple[Any, Any, Any], dict[str, Any]]] = {}
    for kind, items in ontology["dialogue_acts"].items():
        _fail(isinstance(items, list), f"dialogue_acts[{kind!r}] must be a list", path, where)
        table[kind] = {}
        for text in items:
            try:
                da = ast.literal_eval(text) if isinstance(text, str) else None
            except (ValueError, SyntaxError):
                da = None
            _fail(
                isinstance(da, dict) and {"user", "system", "intent", "domain", "slot"} <= da.keys(),
                f"dialogue_acts[{kind!r}] entry {text!r} is not a dict string of user/system/intent/domain/slot",
                path,
                where,
            )
            assert isinstance(da, dict)
            table[kind][(da["intent"], da["domain"], da["slot"])] = {"user": da["user"], "system": da["system"]}
    return table


def _check_dialogues(
    name: str, dialogues: Any, ontology: dict[str, Any], acts: dict[str, Any], path: Path
) -> dict[str, Any]:
    _fail(isinstance(dialogues, list), "the dialogues must be a JSON list", path, "top level")
    ids: set[str] = set()
    splits: dict[str, int] = {}
    utterances = 0
    domains_of = ontology["domains"]
    for index, dialogue in enumerate(dialogues):
        _fail(isinstance(dialogue, dict), "a dialogue must be an object", path, f"dialogue {index}")
        did = dialogue.get("dialogue_id")
        record = f"dialogue {index} ({did})"
        _fail(isinstance(did, str), "dialogue_id must be a string", path, record)
        _fail(dialogue.get("dataset") == name, f"dataset {dialogue.get('dataset')!r} is not {name!r}", path, record)
        split = dialogue.get("data_split")
        _fail(isinstance(split, str), "data_split must be a string", path, record)
        parts = did.split("-")
        _fail(
            len(parts) == 3 and parts[0] == name and parts[1] == split and parts[2].lstrip("-").isdigit(),
            f"dialogue_id must be {name}-{split}-<int>",
            path,
            record,
        )
        _fail(did not in ids, "dialogue_id used twice", path, record)
        ids.add(did)
        splits[split] = splits.get(split, 0) + 1
        current: set[str] = set()
        if "domains" in dialogue:
            _fail(isinstance(dialogue["domains"], list), "domains must be a list", path, record)
            current = set(dialogue["domains"])
            for domain in current:
                _fail(domain in domains_of, f"domain {domain!r} is not an ontology domain", path, record)

        def slot_of(
            domain: Any, slot: Any, where: str, in_dialogue: bool, current: set[str] = current
        ) -> dict[str, Any]:
            if in_dialogue:
                _fail(domain in current, f"domain {domain!r} is not among the dialogue's domains", path, where)
            _fail(domain in domains_of, f"domain {domain!r} is not an ontology domain", path, where)
            _fail(slot in domains_of[domain]["slots"], f"slot {slot!r} is not a slot of {domain!r}", path, where)
            s: dict[str, Any] = domains_of[domain]["slots"][slot]
            return s

        if "goal" in dialogue:
            goal = dialogue["goal"]
            where = f"{record}, goal"
            _fail(isinstance(goal, dict), "goal must be an object", path, where)
            _fail(isinstance(goal.get("description"), str), "goal description must be a string", path, where)
            for part, filled in (("inform", True), ("request", False)):
                _fail(isinstance(goal.get(part), dict), f"goal {part} must be an object", path, where)
                for domain, slots in goal[part].items():
                    for slot, value in slots.items():
                        slot_of(domain, slot, f"{where} {part}", True)
                        _fail((value != "") == filled, f"goal {part} {domain}-{slot}: value {value!r}", path, where)
        turns = dialogue.get("turns")
        _fail(isinstance(turns, list) and bool(turns), "turns must be a non-empty list", path, record)
        utterances += len(turns)
        for i, turn in enumerate(turns):
            where = f"{record}, turn {i}"
            _fail(isinstance(turn, dict), "a turn must be an object", path, where)
            speaker = turn.get("speaker")
            _fail(speaker in ("user", "system"), f"speaker {speaker!r} is not user or system", path, where)
            _fail(turn.get("utt_idx") == i, f"utt_idx {turn.get('utt_idx')!r} is not {i}", path, where)
            if i:
                _fail(turns[i - 1].get("speaker") != speaker, "user and system must alternate", path, where)
            _fail(isinstance(turn.get("utterance"), str), "utterance must be a string", path, where)
            if "dialogue_acts" in turn:
                _check_turn_acts(turn, acts, set(ontology["intents"]), slot_of, path, where)
            if speaker == "user":
                _fail("db_results" not in turn, "a user turn has no db_results", path, where)
                state = turn.get("state", {})
                _fail(isinstance(state, dict), "state must be an object", path, where)
                for domain, slots in state.items():
                    _fail(isinstance(slots, dict), f"state {domain!r} must map slots to values", path, where)
                    for slot in slots:
                        slot_of(domain, slot, f"{where}, state", False)
            else:
                _fail("state" not in turn, "a system turn has no state", path, where)
                db = turn.get("db_results", {})
                _fail(
                    isinstance(db, dict) and all(isinstance(v, list) for v in db.values()),
                    "db_results must map domains to lists",
                    path,
                    where,
                )
    return {"dialogues": len(dialogues), "utterances": utterances, "splits": splits}


def _check_turn_acts(
    turn: dict[str, Any], acts: dict[str, Any], intents: set[str], slot_of: Any, path: Path, where: str
) -> None:
    dialogue_acts = turn["dialogue_acts"]
    _fail(isinstance(dialogue_acts, dict), "dialogue_acts must be an object", path, where)
    for kind in ACT_TYPES:
        _fail(isinstance(dialogue_acts.get(kind), list), f"{kind} dialogue_acts must be a list", path, where)
    for kind, items in dialogue_acts.items():
        for da in items:
            here = f"{where}, {kind} act {da!r}"
            _fail(isinstance(da, dict) and {"intent", "domain", "slot"} <= da.keys(), "act fields", path, here)
            if kind in ("categorical", "non-categorical"):
                _fail(da["intent"] in intents, "intent is not an ontology intent", path, here)
                s = slot_of(da["domain"], da["slot"], here, True)
                _fail(
                    bool(s["is_categorical"]) == (kind == "categorical"),
                    f"is_categorical of {da['domain']}-{da['slot']} does not match the {kind} list",
                    path,
                    here,
                )
                _fail("value" in da, "the act needs a value", path, here)
            if kind == "non-categorical" and da["value"] not in SPECIAL_VALUES:
                _fail(("start" in da) == ("end" in da), "start and end both or neither", path, here)
                if "start" in da:
                    span = turn["utterance"][da["start"] : da["end"]]
                    _fail(span == da["value"], f"span {span!r} is not the value", path, here)
            if kind == "binary":
                _fail("value" not in da, "a binary act has no value", path, here)
            users = acts.get(kind, {}).get((da["intent"], da["domain"], da["slot"]))
            _fail(
                isinstance(users, dict) and users.get(turn["speaker"]) is True,
                f"the act is not in the ontology's {kind} dialogue_acts for the {turn['speaker']}",
                path,
                here,
            )
