"""ConvLab-3's documented checks of a unified dataset folder: :func:`check_convlab3`.

The rules of ConvLab-3's ``data/unified_datasets/README.md`` and its ``check.py`` (listed in
:func:`check_convlab3`), applied by :func:`mmdial_data.exports.convlab3.export_convlab3` to what it wrote before the
output is moved into place, and usable on any unified dataset.

Example:
    >>> import tempfile, pathlib
    >>> check_convlab3(pathlib.Path(tempfile.mkdtemp()))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mmdial_data.exports.convlab3_check.ConvLab3CheckError: ...: no ConvLab-3 dataset folder (with data.zip) here
"""

from __future__ import annotations

import ast
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from mmdial_data.errors import MMDialDataError
from mmdial_data.readers.convlab3 import ACT_TYPES

#: Values ConvLab-3 treats as "no value" (never a categorical slot's possible value).
SPECIAL_VALUES = ("", "dontcare", None, "?")


class ConvLab3CheckError(MMDialDataError):
    """A unified dataset breaks one of ConvLab-3's documented rules."""


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
        mmdial_data.exports.convlab3_check.ConvLab3CheckError: ...: no ConvLab-3 dataset folder (with data.zip) here
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
