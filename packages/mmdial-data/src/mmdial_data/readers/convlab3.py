"""ConvLab-3 unified-format reader (Zhu et al., 2022: ConvLab-3's ``data/unified_datasets``).

Input: any dataset in the unified format: a dataset folder (``data.zip`` holding ``data/dialogues.json`` and
``data/ontology.json``, read from the archive in memory; without ``data.zip``, ``data/dialogues.json`` or
``dummy_data.json``), the ``data.zip``, a ``dialogues.json``/``dummy_data.json`` file, or a folder of dataset
folders (``data/unified_datasets``). A dialogue is ``{dataset, data_split, dialogue_id, original_id, domains,
goal, turns}``; a turn ``{speaker, utterance, utt_idx, dialogue_acts: {categorical, non-categorical, binary},
state (user turns), db_results (system turns)}``; any other field is optional in the format and kept.

Per turn: ``speaker`` (``user``/``system``) -> speaker and role; ``utterance`` -> text. Every act of the three
lists becomes a :class:`DialogueAct` ``(intent, domain, slot, [value])`` (binary acts have no value) in the
order categorical, non-categorical, binary; ``extra["dialogue_acts"]`` holds, aligned with them, the act's list
(``{"type": "non-categorical"}``) and its other fields (``start``/``end`` spans). A user turn's ``state``
(``{domain: {slot: value}}``) -> ``state`` as ``"<domain>-<slot>" -> [value]`` for the filled slots; the empty
ones (``""`` or null) stay in ``extra["state_empty"]`` as ``{domain: {slot: ""}}`` (a domain without slots
too). ``db_results``, ``booked`` and any other turn field -> ``extra`` under its own name (an empty
``db_results``, which the format requires of a system turn, is not kept); ``utt_idx`` in ``extra`` only where it
is not the turn's position. A turn with empty text has no :class:`Turn`: it goes whole to
``meta["turns_without_text"]``.

``meta``: ``dataset``, ``original_id``, ``domains``, ``goal`` and every other dialogue field under its own name;
with an ontology (the zip's, or ``ontology.json``/``data/ontology.json`` beside the file), ``ontology_domains``:
the ontology's entries of the dialogue's domains (descriptions, ``is_categorical``, ``possible_values``).
:func:`read_convlab3_ontology` returns the whole ontology.

Splits: ``data_split`` as the dataset names it (``train``, ``validation``, ``test``). Dialogue ids:
``convlab3/<split>/<dialogue_id>`` (ConvLab-3's ids, ``multiwoz21-train-0``, already name the dataset).

Licence: ConvLab-3 is Apache-2.0; each unified dataset keeps its source's licence (MultiWOZ 2.1 MIT, CamRest676
as released by its authors ...). Cite Zhu et al. 2022, "ConvLab-3: A Flexible Dialogue System Toolkit Based on a
Unified Data Format".
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "convlab3"
LICENSE = "Apache-2.0 (ConvLab-3); each unified dataset keeps its source's licence"
CITATION = "Zhu et al. 2022, ConvLab-3: A Flexible Dialogue System Toolkit Based on a Unified Data Format"
#: The three act lists of a turn, in the order their acts are read.
ACT_TYPES = ("categorical", "non-categorical", "binary")
_ACT_KEYS = ("intent", "domain", "slot", "value")
_TURN_KEYS = ("speaker", "utterance", "utt_idx", "dialogue_acts", "state")
_DIALOGUE_KEYS = ("data_split", "dialogue_id", "turns")


def read_convlab3(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield the dialogues of a ConvLab-3 unified dataset (folder, ``data.zip``, or dialogues file).

    Args:
        path: A dataset folder, its ``data.zip``, a ``dialogues.json``/``dummy_data.json``, or a folder of datasets.
        split: Override every dialogue's ``data_split``.
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Raises:
        SourceFormatError: Not the unified format (not a list of dialogues with ``dialogue_id`` and ``turns`` of
            ``speaker``/``utterance``; a zip without ``data/dialogues.json``), or, under ``on_error="raise"``, a
            malformed dialogue.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> camrest = samples_dir("convlab3_unified") / "data" / "unified_datasets" / "camrest"
        >>> d = next(read_convlab3(camrest, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].role
        ('convlab3/train/camrest-train-0', 'user')
        >>> d.turns[0].annotations.state
        {'restaurant-price range': ['expensive'], 'restaurant-area': ['south']}
        >>> d.turns[0].annotations.dialogue_acts[0]
        DialogueAct(act='inform', domain='restaurant', slot='price range', values=['expensive'])
    """
    for file, member in _sources(path):
        yield from _read_file(file, member, split, policy)


def _is_dataset(folder: Path) -> bool:
    return any((folder / n).is_file() for n in ("data.zip", "dummy_data.json", "data/dialogues.json"))


def _sources(path: Path) -> list[tuple[Path, str | None]]:
    """``(file, zip member or None)`` of each dialogues file under ``path``."""
    if path.is_file():
        return [(path, "data/dialogues.json" if zipfile.is_zipfile(path) else None)]
    if _is_dataset(path):
        folders = [path]
    else:
        folders = sorted(p for p in path.iterdir() if p.is_dir() and _is_dataset(p))
        if not folders:
            raise SourceFormatError(
                "not a ConvLab-3 unified dataset: no data.zip, data/dialogues.json or dummy_data.json", path=path
            )
    out: list[tuple[Path, str | None]] = []
    for folder in folders:
        if (folder / "data.zip").is_file():
            out.append((folder / "data.zip", "data/dialogues.json"))
        elif (folder / "data" / "dialogues.json").is_file():
            out.append((folder / "data" / "dialogues.json", None))
        else:
            out.append((folder / "dummy_data.json", None))
    return out


def _load_member(file: Path, member: str) -> Any:
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        if member not in names:
            raise SourceFormatError(f"not a ConvLab-3 data.zip: no {member} in the archive", path=file)
        raw = archive.read(member)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceFormatError(f"malformed JSON ({exc})", path=file, record=member) from exc


def read_convlab3_ontology(path: Path) -> dict[str, Any] | None:
    """The ontology of a unified dataset (``path``: its folder, ``data.zip`` or a dialogues file), or None.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> read_convlab3_ontology(samples_dir("convlab3_unified") / "data" / "unified_datasets" / "camrest") is None
        True
    """
    folder = path if path.is_dir() else path.parent
    if path.is_file() and zipfile.is_zipfile(path):
        zipped: Path | None = path
    else:
        zipped = folder / "data.zip" if (folder / "data.zip").is_file() else None
    if zipped is not None:
        with zipfile.ZipFile(zipped) as archive:
            if "data/ontology.json" in archive.namelist():
                ontology = _load_member(zipped, "data/ontology.json")
                return ontology if isinstance(ontology, dict) else None
    for candidate in (folder / "ontology.json", folder / "data" / "ontology.json"):
        if candidate.is_file():
            ontology = load_json(candidate)
            return ontology if isinstance(ontology, dict) else None
    return None


def _check_format(data: Any, file: Path, where: str) -> None:
    """Refuse a file that is not in the unified format, whatever the error policy."""
    expect(isinstance(data, list), "not ConvLab-3 unified: expected a JSON list of dialogues", path=file, record=where)
    expect(bool(data), "no dialogues in this file", path=file, record=where)
    first = data[0]
    ok = (
        isinstance(first, dict)
        and {"dataset", "data_split", "dialogue_id"} <= first.keys()
        and isinstance(first.get("turns"), list)
        and all(isinstance(t, dict) and {"speaker", "utterance", "utt_idx"} <= t.keys() for t in first["turns"])
    )
    expect(
        ok,
        "not ConvLab-3 unified: dialogues need dataset, data_split, dialogue_id and turns with speaker, utterance "
        "and utt_idx",
        path=file,
        record="dialogue 0",
    )


def _read_file(file: Path, member: str | None, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = _load_member(file, member) if member else load_json(file)
    _check_format(data, file, member or "top level")
    ontology = read_convlab3_ontology(file)
    domains = ontology.get("domains") if isinstance(ontology, dict) else None
    for index, raw in enumerate(data):
        did = raw.get("dialogue_id", "?") if isinstance(raw, dict) else "?"
        record = f"dialogue {index} ({did})"
        dialogue = build_or_report(
            partial(_dialogue, raw, split, domains, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _dialogue(raw: Any, split: str | None, domains: Any, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("dialogue_id"), str) and isinstance(raw.get("turns"), list),
        "missing dialogue_id or turns",
        path=file,
        record=record,
    )
    split_name = split or str(raw.get("data_split", "train"))
    turns: list[Turn] = []
    untexted: list[Any] = []
    for i, t in enumerate(raw["turns"]):
        where = f"{record}, turn {i}"
        expect(isinstance(t, dict), "turn must be an object", path=file, record=where)
        expect(
            isinstance(t.get("utterance"), str) and isinstance(t.get("speaker"), str),
            "turn needs speaker and utterance strings",
            path=file,
            record=where,
        )
        if not t["utterance"].strip():
            untexted.append(t)
            continue
        annotations = _annotations(t, len(turns), file, where)
        turns.append(Turn(len(turns), t["speaker"], t["speaker"], t["utterance"], annotations=annotations))
    expect(bool(turns), "no utterance in this dialogue", path=file, record=record)
    meta = {k: v for k, v in raw.items() if k not in _DIALOGUE_KEYS}
    if split and "data_split" in raw and raw["data_split"] != split:
        meta["data_split"] = raw["data_split"]
    if isinstance(domains, dict) and isinstance(raw.get("domains"), list):
        meta["ontology_domains"] = {d: domains[d] for d in raw["domains"] if d in domains}
    if untexted:
        meta["turns_without_text"] = untexted
    return Dialogue(f"{SOURCE}/{split_name}/{raw['dialogue_id']}", SOURCE, split_name, turns, meta)


def _annotations(t: dict[str, Any], position: int, file: Path, where: str) -> Annotations:
    acts: list[DialogueAct] = []
    act_info: list[dict[str, Any]] = []
    dialogue_acts = t.get("dialogue_acts", {})
    expect(isinstance(dialogue_acts, dict), "dialogue_acts must be an object", path=file, record=where)
    for kind in ACT_TYPES:
        items = dialogue_acts.get(kind, [])
        expect(isinstance(items, list), f"{kind} dialogue_acts must be a list", path=file, record=where)
        for da in items:
            expect(
                isinstance(da, dict) and isinstance(da.get("intent"), str),
                f"{kind} act needs an intent",
                path=file,
                record=where,
            )
            values = [str(da["value"])] if da.get("value") is not None else []
            domain, slot = da.get("domain"), da.get("slot")
            acts.append(DialogueAct(da["intent"], None if domain is None else str(domain), slot, values))
            act_info.append({"type": kind, **{k: v for k, v in da.items() if k not in _ACT_KEYS}})
    extra: dict[str, Any] = {}
    if act_info:
        extra["dialogue_acts"] = act_info
    other_lists = {k: v for k, v in dialogue_acts.items() if k not in ACT_TYPES}
    if other_lists:
        extra["dialogue_acts_other"] = other_lists
    state: dict[str, list[str]] = {}
    if "state" in t:
        expect(isinstance(t["state"], dict), "state must be an object", path=file, record=where)
        empty: dict[str, dict[str, Any]] = {}
        for domain, slots in t["state"].items():
            expect(isinstance(slots, dict), "state domains map slots to values", path=file, record=where)
            empty_slots = empty.setdefault(domain, {})
            for slot, value in slots.items():
                if value is None or value == "":
                    empty_slots[slot] = value
                else:
                    state[f"{domain}-{slot}"] = [str(value)]
            if not empty_slots and slots:
                del empty[domain]
        if empty:
            extra["state_empty"] = empty
    if t.get("utt_idx", position) != position:
        extra["utt_idx"] = t["utt_idx"]
    for k, v in t.items():
        if k not in _TURN_KEYS and not (k == "db_results" and v == {}):
            extra[k] = v
    return Annotations(dialogue_acts=acts, state=state, extra=extra)
