"""Export to ConvLab-3's unified format (``data/unified_datasets``); the format's checks are in :mod:`.convlab3_check`.

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

import copy
import json
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mmdial_data.exports._carry import (
    CARRY_KEY,
    dialogue_loss,
    full_turn,
    iter_dialogues,
    meta_loss,
    original_id,
    turn_loss,
)
from mmdial_data.exports.convlab3_check import SPECIAL_VALUES as SPECIAL_VALUES
from mmdial_data.exports.convlab3_check import ConvLab3CheckError as ConvLab3CheckError
from mmdial_data.exports.convlab3_check import check_convlab3 as check_convlab3
from mmdial_data.exports.convlab3_ontology import build_ontology as build_ontology
from mmdial_data.readers import convlab3 as reader
from mmdial_data.schema import Dialogue, Turn

ACT_TYPES = reader.ACT_TYPES
#: How many dialogues ``dummy_data.json`` holds.
DUMMY_SIZE = 10
_TURN_FORMAT_KEYS = {"speaker", "utterance", "utt_idx", "dialogue_acts", "state", "db_results"}
_TURN_DERIVED = {"dialogue_acts", "dialogue_acts_other", "state_empty", "utt_idx", "db_results"}
_DIALOGUE_FORMAT_KEYS = {"dataset", "data_split", "dialogue_id", "turns", "domains", "goal"}
_DIALOGUE_DERIVED = {"ontology_domains", "turns_without_text", "data_split"}
_NAME = re.compile(r"^[^-/\\\s]+$")


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
