"""WOZ 2.0 and DSTC2-clean reader (the neural-belief-tracker JSON layout of Mrkšić et al., 2017).

Input: one file (``woz_train_en.json``, ``dstc2_test_en.json``, DialogStudio's ``original_examples.json``) or a
folder of them: a JSON list of ``{"dialogue_idx", "dialogue": [exchange, ...]}``, each exchange holding
``system_transcript`` (the system utterance *before* the user's; empty in the first exchange), ``transcript``
(the user utterance), ``asr``, ``turn_label``, ``belief_state``, ``system_acts`` and ``turn_idx``.

Each exchange gives up to two turns, the system's then the user's; an empty utterance gives no turn (so the first
exchange has only a user turn). Per turn:

- system turn: ``system_acts`` as dialogue acts (a slot name alone is the system requesting it:
  ``DialogueAct("request", slot="area")``; a ``[slot, value]`` pair is the system confirming it:
  ``DialogueAct("confirm", slot="food", values=["chinese"])``), verbatim in ``extra["system_acts"]`` too;
- user turn: ``turn_label`` as dialogue acts (``["food", "chinese"]`` -> ``inform`` food; ``["request",
  "phone"]`` -> ``request`` phone), ``state`` = the ``inform`` slots of ``belief_state`` (the release's bare
  slot names: ``food``, ``price range``, ``area``; one domain, restaurants), and in ``extra`` the
  ``belief_state`` verbatim (its ``request`` entries are the requested slots), ``requested_slots``,
  ``turn_label``, ``asr`` (hypotheses with scores) and any other field of the exchange;
- both: ``extra["turn_idx"]``, the exchange index. Where the system utterance is empty (the first exchange),
  the exchange's ``system_acts`` stay in the user turn's ``extra``; an exchange whose user utterance is empty
  keeps its user side in the system turn's ``extra["user_side"]``; one with no text at all goes to
  ``meta["exchanges_without_text"]``.

``meta``: ``dialogue_idx``, ``corpus`` (``"dstc2_clean"`` when the file or a folder above it is named for DSTC2,
else ``"woz2.0"``), ``language`` (the ``_en``/``_de``/``_it`` file suffix, ``en`` when there is none), the
``ontology`` when one is found (``ontology_en.json`` beside the file, or ``ontologies/ontology_*_<lang>.json``
of the neural-belief-tracker checkout), and any other top-level field under ``source_fields``.

Splits: the file name's split word: ``train``, ``validate``, ``test`` (``validate`` becomes ``validation``:
``read_source`` gives the canonical name of :mod:`mmdial_data.splits`); a file that names none is ``train``.
Dialogue ids are ``woz2/<split>/<dialogue_idx>`` for English WOZ 2.0, with the corpus and a non-English language as
an extra part otherwise (``woz2/test/dstc2_clean/12``, ``woz2/train/de/3``), so the corpora and languages can be
mixed.

Licence: WOZ 2.0 as released in nmrksic/neural-belief-tracker, Apache-2.0; DSTC2-clean as shipped by
DialogStudio, GPL-3.0 (DialogStudio's LICENSE.txt for that folder). Cite Mrkšić et al., "Neural Belief Tracker:
Data-Driven Dialogue State Tracking", ACL 2017 (WOZ 2.0: Wen et al., EACL 2017).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "woz2"
LICENSE = "Apache-2.0 (WOZ 2.0); GPL-3.0 (DSTC2-clean, DialogStudio)"
CITATION = "Mrkšić et al., Neural Belief Tracker: Data-Driven Dialogue State Tracking, ACL 2017"
#: Split words of the release's file names (``woz_validate_en.json``), as they are spelt there (``read_source`` gives
#: the canonical name, ``validation``, and keeps this one in ``meta["source_split"]``).
SPLIT_WORDS = ("train", "validate", "valid", "validation", "dev", "val", "test")
_LANG = re.compile(r"_([a-z]{2})$")
_EXCHANGE_TEXT = ("system_transcript", "transcript")


def read_woz2(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield WOZ 2.0 / DSTC2-clean dialogues from one NBT-format JSON file or a folder of them.

    Args:
        path: A ``woz_<split>_<lang>.json``-style file or a folder of such files (ontology files are skipped).
        split: Override the split taken from the file name.
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> path = samples_dir("woz2.0") / "data" / "woz" / "woz_train_en.json"
        >>> d = next(read_woz2(path, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [t.role for t in d.turns[:3]], d.turns[0].annotations.state
        ('woz2/train/0', ['user', 'system', 'user'], {'food': ['eritrean']})
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file() and not p.name.startswith("ontology"))
        if not files:
            raise SourceFormatError("no WOZ 2.0 / DSTC2 dialogue .json files in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def split_of(file: Path) -> str:
    """The split word of a release file name, as the release spells it (``train`` when none).

    >>> split_of(Path("woz_validate_en.json")), split_of(Path("dstc2_test_en.json")), split_of(Path("x.json"))
    ('validate', 'test', 'train')
    """
    for token in file.stem.lower().replace("-", "_").split("_"):
        if token in SPLIT_WORDS:
            return token
    return "train"


def _language(file: Path) -> str:
    m = _LANG.search(file.stem.lower())
    return m.group(1) if m else "en"


def _corpus(file: Path) -> str:
    names = [file.name, *(p.name for p in list(file.parents)[:3])]
    return "dstc2_clean" if any("dstc2" in n.lower() for n in names) else "woz2.0"


def _ontology(file: Path, language: str) -> tuple[Path | None, Any]:
    candidates = [file.parent / f"ontology_{language}.json"]
    for folder in list(file.parents)[:3]:
        candidates += sorted((folder / "ontologies").glob(f"ontology_*_{language}.json"))
    for candidate in candidates:
        if candidate.is_file():
            return candidate, load_json(candidate)
    return None, None


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not in the NBT layout, whatever the error policy."""
    expect(
        isinstance(data, list), "not WOZ 2.0/DSTC2: expected a JSON list of dialogues", path=file, record="top level"
    )
    expect(bool(data), "no dialogues in this file", path=file, record="top level")
    first = data[0]
    ok = (
        isinstance(first, dict)
        and "dialogue_idx" in first
        and isinstance(first.get("dialogue"), list)
        and all(isinstance(x, dict) and set(_EXCHANGE_TEXT) <= x.keys() for x in first["dialogue"])
    )
    expect(
        ok,
        "not WOZ 2.0/DSTC2: dialogues need dialogue_idx and exchanges with transcript and system_transcript",
        path=file,
        record="dialogue 0",
    )


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = load_json(file)
    _check_format(data, file)
    split_name = split or split_of(file)
    language, corpus = _language(file), _corpus(file)
    ontology_path, ontology = _ontology(file, language)
    prefix = "/".join(x for x in (corpus if corpus != "woz2.0" else "", language if language != "en" else "") if x)
    context = {"corpus": corpus, "language": language}
    if ontology is not None:
        context["ontology_file"] = ontology_path.name if ontology_path else None
        context["ontology"] = ontology
    for index, raw in enumerate(data):
        idx = raw.get("dialogue_idx", "?") if isinstance(raw, dict) else "?"
        record = f"dialogue {index} (dialogue_idx {idx})"
        dialogue = build_or_report(
            partial(_dialogue, raw, split_name, prefix, context, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _dialogue(raw: Any, split: str, prefix: str, context: dict[str, Any], file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and "dialogue_idx" in raw and isinstance(raw.get("dialogue"), list),
        "missing dialogue_idx or dialogue",
        path=file,
        record=record,
    )
    turns: list[Turn] = []
    untexted: list[Any] = []
    for i, exchange in enumerate(raw["dialogue"]):
        where = f"{record}, exchange {i}"
        expect(isinstance(exchange, dict), "exchange must be an object", path=file, record=where)
        system_text, user_text = (exchange.get(k, "") for k in _EXCHANGE_TEXT)
        expect(
            isinstance(system_text, str) and isinstance(user_text, str),
            "transcript and system_transcript must be strings",
            path=file,
            record=where,
        )
        user = _user_annotations(exchange, file, where)
        system_turn: Turn | None = None
        if system_text.strip():
            system_turn = Turn(
                len(turns), "system", "system", system_text, annotations=_system_annotations(exchange, file, where)
            )
            turns.append(system_turn)
        if user_text.strip():
            if system_turn is None:  # the system side without text (the first exchange's empty system_acts)
                user.extra.update({k: exchange[k] for k in ("system_acts",) if k in exchange})
                if system_text:
                    user.extra["system_transcript"] = system_text
            turns.append(Turn(len(turns), "user", "user", user_text, annotations=user))
        elif system_turn is not None:
            system_turn.annotations.extra["user_side"] = {
                k: v for k, v in exchange.items() if k not in ("system_transcript", "system_acts", "turn_idx")
            }
        else:
            untexted.append(exchange)
    expect(bool(turns), "no utterance in this dialogue", path=file, record=record)
    meta: dict[str, Any] = {"dialogue_idx": raw["dialogue_idx"], **context}
    if untexted:
        meta["exchanges_without_text"] = untexted
    rest = {k: v for k, v in raw.items() if k not in ("dialogue_idx", "dialogue")}
    if rest:
        meta["source_fields"] = rest
    original = "/".join(x for x in (prefix, str(raw["dialogue_idx"])) if x)
    return Dialogue(f"{SOURCE}/{split}/{original}", SOURCE, split, turns, meta)


def _system_annotations(exchange: dict[str, Any], file: Path, record: str) -> Annotations:
    acts = []
    system_acts = exchange.get("system_acts", [])
    expect(isinstance(system_acts, list), "system_acts must be a list", path=file, record=record)
    for act in system_acts:
        if isinstance(act, str):
            acts.append(DialogueAct("request", slot=act))
        else:
            expect(
                isinstance(act, list) and len(act) == 2,
                "system act must be a slot or [slot, value]",
                path=file,
                record=record,
            )
            acts.append(DialogueAct("confirm", slot=str(act[0]), values=[str(act[1])]))
    return Annotations(dialogue_acts=acts, extra={"turn_idx": exchange.get("turn_idx"), "system_acts": system_acts})


def _user_annotations(exchange: dict[str, Any], file: Path, record: str) -> Annotations:
    acts = []
    turn_label = exchange.get("turn_label", [])
    expect(isinstance(turn_label, list), "turn_label must be a list", path=file, record=record)
    for pair in turn_label:
        expect(
            isinstance(pair, list) and len(pair) == 2, "turn_label entries are [slot, value]", path=file, record=record
        )
        slot, value = str(pair[0]), str(pair[1])
        acts.append(
            DialogueAct("request", slot=value)
            if slot == "request"
            else DialogueAct("inform", slot=slot, values=[value])
        )
    state: dict[str, list[str]] = {}
    requested: list[str] = []
    belief_state = exchange.get("belief_state", [])
    expect(isinstance(belief_state, list), "belief_state must be a list", path=file, record=record)
    for entry in belief_state:
        expect(
            isinstance(entry, dict) and isinstance(entry.get("slots"), list),
            "belief_state entries need slots",
            path=file,
            record=record,
        )
        for pair in entry["slots"]:
            expect(
                isinstance(pair, list) and len(pair) == 2,
                "belief_state slots are [slot, value]",
                path=file,
                record=record,
            )
            if entry.get("act") == "request":
                requested.append(str(pair[1]))
            elif entry.get("act") == "inform":
                values = state.setdefault(str(pair[0]), [])
                if str(pair[1]) not in values:
                    values.append(str(pair[1]))
    extra: dict[str, Any] = {"turn_idx": exchange.get("turn_idx")}
    extra["belief_state"] = belief_state
    extra["requested_slots"] = requested
    extra["turn_label"] = turn_label
    for k, v in exchange.items():
        if k not in ("system_transcript", "transcript", "system_acts", "turn_idx", "belief_state", "turn_label"):
            extra[k] = v  # asr and anything else
    return Annotations(dialogue_acts=acts, state=state, extra=extra)
