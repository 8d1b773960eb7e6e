"""ABCD reader (Chen et al., NAACL 2021: the Action-Based Conversations Dataset, ``asappresearch/abcd``).

Input: the release ``abcd_v1.1.json.gz`` (or the unzipped ``abcd_v1.1.json``: an object ``{"train": [...],
"dev": [...], "test": [...]}``), a JSON list of conversations such as the authors' ``abcd_sample.json``, or a
folder holding them at any depth (``abcd*.json`` / ``abcd*.json.gz``). A conversation holds ``convo_id``, ``scenario``
(``personal``, ``order``, ``product``, ``flow``, ``subflow``), ``original`` (``[speaker, text]`` pairs; speakers
``customer``, ``agent``, ``action``) and ``delexed`` (aligned with ``original``: ``speaker``, delexicalized
``text``, ``turn_count``, ``targets``, ``candidates``).

One turn per ``original`` pair: ``text`` as said (the original casing); speaker as given, role ``user`` for the
customer and ``system`` for the agent and for ``action`` turns (the agent's workflow actions, rendered as system
text: "Account has been pulled up for ..."). From the aligned ``delexed`` entry: ``targets`` ``[intent, nextstep,
action, values, utterance rank]`` -> ``Annotations.intent`` (the intent label, null for none), an action turn's
``DialogueAct(<action button>, values=<values>)`` (``pull-up-account``, ``["crystal minh"]``), ``extra``:
``next_step`` (``retrieve_utterance``, ``take_action``, ``end_conversation`` or null), ``utterance_rank`` (the
index of the true response among ``candidates``, ``-1`` for none), ``candidates`` (ids into the release's
``utterances.json``, not resolved here), ``delexed`` (the delexicalized text), ``turn_count`` only where it is not
the turn's position + 1, an action or values on a non-action turn (``action``/``values``) and any other field of
the entry under its own name.

``meta``: ``convo_id`` and ``scenario`` verbatim (customer ``personal`` details, ``order``, ``product``, ``flow``,
``subflow``), any other conversation field under its own name, and, with ``kb.json`` beside the file (or one
folder up), ``kb_actions``: the action sequence the agent guidelines prescribe for the conversation's subflow.
:func:`read_abcd_ontology` returns ``ontology.json`` (intents: flows and subflows; actions by kind; values) and
``kb.json`` as they are.

Splits: the release's ``train``/``dev``/``test`` (``dev`` becomes ``validation``: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`, the release's in ``meta["source_split"]``); a list file is ``full``
unless its name names a split. Dialogue ids: ``abcd/<split>/<convo_id>``.

Licence: MIT (asappresearch/abcd LICENSE). Cite Chen, Chen, Yang, Lin and Yu 2021, "Action-Based Conversations
Dataset: A Corpus for Building More In-Depth Task-Oriented Dialogue Systems", NAACL.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "abcd"
LICENSE = "MIT"
CITATION = (
    "Chen, Chen, Yang, Lin and Yu 2021, Action-Based Conversations Dataset: A Corpus for Building More In-Depth "
    "Task-Oriented Dialogue Systems, NAACL"
)
#: The release's splits, in reading order.
SPLITS = ("train", "dev", "test")
DEFAULT_SPLIT = "full"
#: Speakers and their roles (an action is the agent's, shown as system text).
ROLES = {"customer": "user", "agent": "system", "action": "system"}
#: The five ``targets`` of a delexed turn, in order.
TARGETS = ("intent", "next_step", "action", "values", "utterance_rank")
_DELEXED_KEYS = ("speaker", "text", "turn_count", "targets", "candidates")


def read_abcd(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield ABCD conversations from the release file (``.json.gz`` or ``.json``), a list file, or a folder.

    Args:
        path: ``abcd_v1.1.json.gz``, ``abcd_v1.1.json``, ``abcd_sample.json``, or a folder holding them.
        split: Override the split (the release's key, or ``full`` for a list file).
        policy: What to do with a malformed conversation (a file in another format always raises).

    Raises:
        SourceFormatError: Not ABCD (neither a list of conversations with ``convo_id`` and ``original`` nor an
            object of such lists keyed by split; no ``abcd*.json`` in a folder), or, under ``on_error="raise"``,
            a malformed conversation.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_abcd(samples_dir("abcd") / "data", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [(t.speaker, t.role) for t in d.turns[5:7]]
        ('abcd/full/3592', [('agent', 'system'), ('action', 'system')])
        >>> d.turns[6].annotations.dialogue_acts
        [DialogueAct(act='pull-up-account', domain=None, slot=None, values=['crystal minh'])]
        >>> d.meta["kb_actions"]
        ['pull-up-account', 'validate-purchase', 'membership', 'enter-details', 'update-order']
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("abcd*") if p.is_file() and _is_json(p))
        if not files:
            raise SourceFormatError("no ABCD abcd*.json or abcd*.json.gz file in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _is_json(p: Path) -> bool:
    return p.name.endswith(".json") or p.name.endswith(".json.gz")


def _load(file: Path) -> Any:
    if not file.name.endswith(".gz"):
        return load_json(file)
    try:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, EOFError) as exc:
        raise SourceFormatError(f"not a readable gzip file ({exc})", path=file) from exc
    except json.JSONDecodeError as exc:
        raise SourceFormatError(f"malformed JSON ({exc.msg})", path=file, record=f"line {exc.lineno}") from exc
    except UnicodeDecodeError as exc:
        raise SourceFormatError(f"not valid UTF-8 at byte {exc.start}", path=file) from exc


def _beside(file: Path, name: str) -> Path | None:
    for folder in (file.parent, file.parent.parent):
        if (folder / name).is_file():
            return folder / name
    return None


def read_abcd_ontology(path: Path) -> dict[str, Any]:
    """``{"ontology": ontology.json, "kb": kb.json}`` beside ``path`` (a file or folder; absent ones are None).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> o = read_abcd_ontology(samples_dir("abcd") / "data")
        >>> sorted(o["ontology"]), o["kb"]["recover_username"]
        (['actions', 'intents', 'next_steps', 'values', 'vocabulary'], ['pull-up-account', 'verify-identity'])
    """
    anchor = path / "x" if path.is_dir() else path
    out: dict[str, Any] = {}
    for key, name in (("ontology", "ontology.json"), ("kb", "kb.json")):
        found = _beside(anchor, name)
        out[key] = None if found is None else load_json(found)
    return out


def _is_conversation(x: Any) -> bool:
    return isinstance(x, dict) and "convo_id" in x and isinstance(x.get("original"), list)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = _load(file)
    if isinstance(data, list):
        expect(
            bool(data) and _is_conversation(data[0]),
            "not ABCD: expected conversations with convo_id and original",
            path=file,
            record="item 0",
        )
        parts = [(infer_split(file, DEFAULT_SPLIT), data)]
    else:
        ok = isinstance(data, dict) and bool(data) and all(isinstance(v, list) for v in data.values())
        ok = ok and any(v and _is_conversation(v[0]) for v in data.values())
        expect(
            ok,
            "not ABCD: expected a list of conversations or an object of them by split (train/dev/test)",
            path=file,
            record="top level",
        )
        parts = sorted(data.items(), key=lambda kv: SPLITS.index(kv[0]) if kv[0] in SPLITS else len(SPLITS))
    kb_path = _beside(file, "kb.json")
    kb = load_json(kb_path) if kb_path is not None else None
    for split_name, items in parts:
        for index, raw in enumerate(items):
            cid = raw.get("convo_id", "?") if isinstance(raw, dict) else "?"
            record = f"{split_name} conversation {index} ({cid})"
            dialogue = build_or_report(
                partial(_dialogue, raw, split or split_name, kb, file, record), policy, path=file, record=record
            )
            if dialogue is not None:
                yield dialogue


def _dialogue(raw: Any, split: str, kb: Any, file: Path, record: str) -> Dialogue:
    expect(_is_conversation(raw), "a conversation needs convo_id and original", path=file, record=record)
    original = raw["original"]
    delexed = raw.get("delexed")
    expect(
        delexed is None or (isinstance(delexed, list) and len(delexed) == len(original)),
        f"delexed has {len(delexed) if isinstance(delexed, list) else 'no list of'} entries for {len(original)} turns",
        path=file,
        record=record,
    )
    turns: list[Turn] = []
    for i, pair in enumerate(original):
        where = f"{record}, turn {i}"
        expect(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair),
            "a turn must be [speaker, text]",
            path=file,
            record=where,
        )
        speaker, text = pair
        expect(speaker in ROLES, f"unknown speaker {speaker!r} (customer, agent, action)", path=file, record=where)
        expect(isinstance(text, str), "text is not a string", path=file, record=where)
        entry = delexed[i] if delexed is not None else None
        annotations = _annotations(entry, speaker, i, file, where) if entry is not None else Annotations()
        turns.append(Turn(i, speaker, ROLES[speaker], text, annotations=annotations))
    expect(bool(turns), "no turn in this conversation", path=file, record=record)
    meta = {k: v for k, v in raw.items() if k not in ("original", "delexed")}
    subflow = raw.get("scenario", {}).get("subflow") if isinstance(raw.get("scenario"), dict) else None
    if isinstance(kb, dict) and subflow in kb:
        meta["kb_actions"] = kb[subflow]
    return Dialogue(f"{SOURCE}/{split}/{raw['convo_id']}", SOURCE, split, turns, meta)


def _annotations(entry: Any, speaker: str, i: int, file: Path, where: str) -> Annotations:
    expect(isinstance(entry, dict), "a delexed entry must be an object", path=file, record=where)
    expect(
        entry.get("speaker", speaker) == speaker,
        f"delexed speaker {entry.get('speaker')!r} is not {speaker!r}",
        path=file,
        record=where,
    )
    targets = entry.get("targets", [None, None, None, [], -1])
    expect(
        isinstance(targets, list) and len(targets) == len(TARGETS),
        "targets must be [intent, nextstep, action, values, utterance rank]",
        path=file,
        record=where,
    )
    intent, next_step, action, values, rank = targets
    expect(intent is None or isinstance(intent, str), "the intent target must be a string", path=file, record=where)
    expect(isinstance(values, list), "the values target must be a list", path=file, record=where)
    acts: list[DialogueAct] = []
    extra: dict[str, Any] = {"next_step": next_step, "utterance_rank": rank}
    if speaker == "action" and isinstance(action, str):
        acts.append(DialogueAct(action, values=[str(v) for v in values]))
        if any(not isinstance(v, str) for v in values):
            extra["values"] = values
    elif action is not None or values:
        extra["action"], extra["values"] = action, values
    if "candidates" in entry:
        extra["candidates"] = entry["candidates"]
    if "text" in entry:
        extra["delexed"] = entry["text"]
    if entry.get("turn_count", i + 1) != i + 1:
        extra["turn_count"] = entry["turn_count"]
    extra.update({k: v for k, v in entry.items() if k not in _DELEXED_KEYS})
    return Annotations(dialogue_acts=acts, intent=intent, extra=extra)
