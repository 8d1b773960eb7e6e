"""Taskmaster-1, -2, -3 and -4 reader (Google's Taskmaster releases: ``utterances`` + ``segments`` JSON).

Input: one conversations file (a JSON list of conversations, or one conversation object as TM-1's
``sample.json``), or a folder (``TM-1-2019/``, ``TM-2-2020/data/``, ``TM-3-2020/``, ``TM-4-2024/data/``,
DialogStudio's ``Taskmaster*/``): its ``*.json`` files, recursively, except the ontologies and other files that
are not conversations (``ontology*``, ``apis.json``, ``entities.json``, ``otgy.json``, anything under
``ontology/`` or ``reward/``). Each conversation: ``conversation_id``, ``utterances`` and, by release,
``instruction_id`` (TM-1, TM-2) or ``vertical``/``scenario``/``instructions`` (TM-3, TM-4).

Per utterance: ``speaker`` ``USER``/``user`` -> role ``user``, ``ASSISTANT``/``assistant``/``agent`` -> role
``system`` (the original spelling stays in ``Turn.speaker``); ``extra`` keeps ``index``, the annotated
``segments`` verbatim (``start_index``/``end_index``/``text``/``annotations[].name``, and TM-4's
``annotator_id``), TM-3's ``apis`` (API calls: ``name``, ``args``, ``response``) and TM-4's utterance-level
``annotations`` (``api_call``/``request``/``api_response``/``response`` entries tied by ``context``), and any other
field. The segment labels are not mapped onto dialogue acts or state: their names differ by release
(``restaurant_reservation.num.guests.accept`` in TM-1, ``name.theater`` in TM-3) and mark mentions, not acts.

``meta``: ``conversation_id``, ``corpus`` (``"TM-1"`` ... ``"TM-4"`` when a folder on the path names the
release: ``TM-1-2019``, ``Taskmaster2``...), ``instruction_id``, ``vertical``, ``scenario``, ``instructions``
where present, and any other field under ``source_fields`` (DialogStudio adds ``filename``).

Splits: only TM-1 ships conversation-id lists (``train-dev-test/{train,dev,test}.csv``, looked up beside the file
and one folder up): a listed conversation takes that list's name (``dev`` becomes ``validation``: ``read_source``
gives the canonical name of :mod:`mmdial_data.splits`); every other conversation, and every conversation of TM-2,
TM-3 (whose ``splits/`` hold context/response rows, not dialogues) and TM-4, is ``full``, the name the ``multiwoz``
and ``camrest676`` readers give an unsplit release. Dialogue ids are ``taskmaster/<split>/<conversation_id>``.

Licence: CC BY 4.0 (all four releases, google-research-datasets/Taskmaster). Cite Byrne et al., "Taskmaster-1:
Toward a Realistic and Diverse Dialog Dataset", EMNLP-IJCNLP 2019 (TM-2/TM-3/TM-4: the Taskmaster repository).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, iter_lines, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "taskmaster"
LICENSE = "CC BY 4.0"
CITATION = "Byrne et al., Taskmaster-1: Toward a Realistic and Diverse Dialog Dataset, EMNLP-IJCNLP 2019"
_ROLES = {"user": "user", "assistant": "system", "agent": "system"}
#: Files of the releases that are not conversations.
_NOT_DIALOGUES = {"ontology.json", "apis.json", "entities.json", "otgy.json"}
_NOT_DIALOGUE_FOLDERS = {"ontology", "reward"}
_CORPUS = re.compile(r"^(?:TM-?(\d)(?:-\d{4})?|Taskmaster-?(\d))$", re.IGNORECASE)
_SPLIT_LISTS = ("train", "dev", "test")
_DIALOGUE_KEYS = ("conversation_id", "utterances", "instruction_id", "vertical", "scenario", "instructions")


def read_taskmaster(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield Taskmaster-1/2/3/4 conversations from a conversations file or a release folder.

    Args:
        path: A conversations JSON file (a list, or one conversation object) or a folder of them.
        split: Override the split (``full`` unless TM-1's id lists name one).
        policy: What to do with a malformed conversation (a file in another format always raises).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_taskmaster(samples_dir("taskmaster1") / "TM-1-2019", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.meta["corpus"], [t.role for t in d.turns[:2]]
        ('taskmaster/dev/dlg-00055f4e-4a46-48bf-8d99-4e477663eb23', 'TM-1', ['user', 'system'])
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file() and _is_dialogue_file(p, path))
        if not files:
            raise SourceFormatError("no Taskmaster conversation .json files in this folder", path=path)
    else:
        files = [path]
    lists: dict[Path, dict[str, str]] = {}
    for file in files:
        yield from _read_file(file, split, policy, lists)


def _is_dialogue_file(p: Path, root: Path) -> bool:
    parts = {q.lower() for q in p.relative_to(root).parts[:-1]}
    return not (p.name in _NOT_DIALOGUES or p.name.startswith("ontology") or parts & _NOT_DIALOGUE_FOLDERS)


def corpus_of(file: Path) -> str | None:
    """``"TM-1"`` ... ``"TM-4"`` from the nearest folder named for a release, or None.

    >>> corpus_of(Path("Taskmaster/TM-2-2020/data/hotels.json")), corpus_of(Path("Taskmaster3/x.json"))
    ('TM-2', 'TM-3')
    >>> corpus_of(Path("data/x.json")) is None
    True
    """
    for parent in file.parents:
        m = _CORPUS.match(parent.name)
        if m:
            return f"TM-{m.group(1) or m.group(2)}"
    return None


def _split_lists(file: Path, cache: dict[Path, dict[str, str]]) -> dict[str, str]:
    """conversation id -> split name from TM-1's ``train-dev-test/*.csv`` beside the file or one folder up."""
    for folder in (file.parent / "train-dev-test", file.parent.parent / "train-dev-test"):
        if folder.is_dir():
            if folder not in cache:
                ids: dict[str, str] = {}
                for name in _SPLIT_LISTS:
                    csv = folder / f"{name}.csv"
                    if csv.is_file():
                        for _, line in iter_lines(csv):
                            cid = line.split(",")[0].strip()
                            if cid:
                                ids[cid] = name
                cache[folder] = ids
            return cache[folder]
    return {}


def _check_format(data: Any, file: Path) -> list[Any]:
    """The file's conversations; a file that is not Taskmaster is refused whatever the error policy."""
    if isinstance(data, dict) and "utterances" in data:
        data = [data]  # TM-1's sample.json: one conversation object
    expect(
        isinstance(data, list), "not Taskmaster: expected a JSON list of conversations", path=file, record="top level"
    )
    expect(bool(data), "no conversations in this file", path=file, record="top level")
    first = data[0]
    ok = (
        isinstance(first, dict)
        and "conversation_id" in first
        and isinstance(first.get("utterances"), list)
        and all(isinstance(u, dict) and {"speaker", "text"} <= u.keys() for u in first["utterances"])
    )
    expect(
        ok,
        "not Taskmaster: conversations need conversation_id and utterances with speaker and text",
        path=file,
        record="conversation 0",
    )
    return data


def _read_file(
    file: Path, split: str | None, policy: ErrorPolicy, cache: dict[Path, dict[str, str]]
) -> Iterator[Dialogue]:
    conversations = _check_format(load_json(file), file)
    lists = {} if split else _split_lists(file, cache)
    corpus = corpus_of(file)
    for index, raw in enumerate(conversations):
        cid = raw.get("conversation_id", "?") if isinstance(raw, dict) else "?"
        record = f"conversation {index} ({cid})"
        split_name = split or lists.get(str(cid), "full")
        dialogue = build_or_report(
            partial(_dialogue, raw, split_name, corpus, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _dialogue(raw: Any, split: str, corpus: str | None, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict)
        and isinstance(raw.get("conversation_id"), str)
        and isinstance(raw.get("utterances"), list),
        "missing conversation_id or utterances",
        path=file,
        record=record,
    )
    expect(bool(raw["utterances"]), "no utterances", path=file, record=record)
    turns = []
    for i, u in enumerate(raw["utterances"]):
        where = f"{record}, utterance {i}"
        expect(isinstance(u, dict), "utterance must be an object", path=file, record=where)
        speaker = u.get("speaker")
        expect(
            isinstance(speaker, str) and speaker.lower() in _ROLES,
            f"unknown speaker {speaker!r}",
            path=file,
            record=where,
        )
        text = u.get("text")
        expect(isinstance(text, str) and bool(text.strip()), "empty or missing text", path=file, record=where)
        extra = {k: v for k, v in u.items() if k not in ("speaker", "text")}
        turns.append(Turn(i, speaker, _ROLES[speaker.lower()], text, annotations=Annotations(extra=extra)))
    meta: dict[str, Any] = {"conversation_id": raw["conversation_id"]}
    if corpus is not None:
        meta["corpus"] = corpus
    for key in _DIALOGUE_KEYS[2:]:
        if key in raw:
            meta[key] = raw[key]
    rest = {k: v for k, v in raw.items() if k not in _DIALOGUE_KEYS}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{raw['conversation_id']}", SOURCE, split, turns, meta)
