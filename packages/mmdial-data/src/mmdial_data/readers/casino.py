"""CaSiNo (Chawla et al., NAACL 2021: campsite negotiation dialogues) reader.

Release: ``kushalchawla/CaSiNo`` (licence CC BY 4.0). Input: ``data/casino.json`` (all 1030 dialogues),
``data/split/casino_{train,valid,test}.json``, or a folder (every ``casino*.json`` below it).

A dialogue is ``{"dialogue_id", "chat_logs": [{"text", "task_data", "id"}, ...], "participant_info": {agent id:
{"value2issue", "value2reason", "outcomes", "demographics", "personality"}}, "annotations": [[utterance,
"label,label"], ...]}``. Mapping:

- ``chat_logs`` element -> one :class:`Turn`, the agent id (``mturk_agent_1``) as speaker; roles ``speaker_a``,
  ``speaker_b`` ... by the sorted agent ids (so ``mturk_agent_1`` is always ``speaker_a``).
- The deal actions (``Submit-Deal``, ``Accept-Deal``, ``Reject-Deal``, ``Walk-Away``) keep that text and become a
  :class:`DialogueAct` of the same name; their ``task_data`` (the proposed split ``issue2youget``/``issue2theyget``,
  ``{"data": "accept_deal"}`` ...) goes to ``extra["task_data"]`` (an empty ``task_data`` is left out).
- ``annotations`` (strategy labels, present for 396 of the 1030 dialogues) list the utterances other than deal
  actions, in order, each with its comma-separated labels: each goes to its turn as ``extra["annotation"]`` (the
  label string as in the source) and ``extra["strategies"]`` (the labels as a list). When the list does not line
  up with those utterances (another count or text), it is kept as it is in ``meta["annotations"]`` instead, with
  ``meta["annotations_aligned"] = False``.
- ``meta``: ``dialogue_id``, ``participant_info`` (priorities, reasons, outcomes, demographics, personality, all
  verbatim), ``annotated`` (whether the dialogue has strategy annotations) and any other top-level field.

Splits: ``casino_train``/``casino_valid``/``casino_test`` -> ``train``/``validation``/``test`` (``read_source``
gives the canonical name of :mod:`mmdial_data.splits`; ``valid`` is kept in ``meta["source_split"]``);
``casino.json`` -> ``full``. Dialogue ids: ``casino/<split>/<dialogue_id>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "casino"
LICENSE = "CC BY 4.0"
CITATION = (
    "Chawla et al. 2021, CaSiNo: A Corpus of Campsite Negotiation Dialogues for Automatic Negotiation Systems, NAACL"
)
#: Chat messages that are deal actions, not utterances (they have no strategy annotation).
DEAL_ACTIONS = ("Submit-Deal", "Accept-Deal", "Reject-Deal", "Walk-Away")
_TURN_KEYS = ("text", "task_data", "id")


def read_casino(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield CaSiNo dialogues from ``casino.json``, a split file, or the ``casino*.json`` files in a folder.

    Args:
        path: A CaSiNo JSON file or a folder holding some (searched recursively).
        split: Override the split inferred from the file name.
        policy: What to do with a malformed dialogue (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not CaSiNo (not a JSON list of dialogues with ``chat_logs``), or, under
            ``on_error="raise"``, a dialogue is malformed.

    Example:
        >>> import json, tempfile
        >>> p = Path(tempfile.mkdtemp()) / "casino_valid.json"
        >>> chat = [{"text": "Hi! I need water.", "task_data": {}, "id": "mturk_agent_2"},
        ...         {"text": "Submit-Deal", "task_data": {"issue2youget": {"Water": "3"}}, "id": "mturk_agent_1"}]
        >>> _ = p.write_text(json.dumps([{"dialogue_id": 5, "chat_logs": chat, "participant_info": {},
        ...                               "annotations": [["Hi! I need water.", "small-talk,self-need"]]}]))
        >>> d = next(read_casino(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].role, d.turns[0].annotations.extra["strategies"]
        ('casino/valid/5', 'speaker_b', ['small-talk', 'self-need'])
        >>> d.turns[1].annotations.dialogue_acts[0].act, d.turns[1].annotations.extra["task_data"]
        ('Submit-Deal', {'issue2youget': {'Water': '3'}})
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("casino*.json") if p.is_file())
        if not files:
            raise SourceFormatError("no casino*.json file in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    data = load_json(file)
    expect(
        isinstance(data, list) and bool(data),
        "not a CaSiNo file: expected a non-empty JSON list of dialogues",
        path=file,
        record="top level",
    )
    expect(
        isinstance(data[0], dict) and isinstance(data[0].get("chat_logs"), list),
        "not a CaSiNo file: the first item has no 'chat_logs' list",
        path=file,
        record="item 0",
    )
    split_name = split or ("full" if file.name == "casino.json" else infer_split(file))
    for index, raw in enumerate(data):
        ident = raw.get("dialogue_id", "?") if isinstance(raw, dict) else "?"
        record = f"dialogue {index} ({ident})"
        dialogue = build_or_report(partial(_dialogue, raw, split_name, file, record), policy, path=file, record=record)
        if dialogue is not None:
            yield dialogue


def _role(n: int) -> str:
    return "speaker_" + (chr(ord("a") + n) if n < 26 else str(n))


def _aligned(annotations: Any, utterances: list[str]) -> bool:
    """Whether ``annotations`` is one ``[utterance, labels]`` pair per non-action utterance, in order."""
    if not isinstance(annotations, list) or len(annotations) != len(utterances):
        return False
    return all(
        isinstance(a, list) and len(a) == 2 and a[0] == u and isinstance(a[1], str)
        for a, u in zip(annotations, utterances, strict=True)
    )


def _dialogue(raw: Any, split: str, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("chat_logs"), list),
        "no 'chat_logs' list",
        path=file,
        record=record,
    )
    ident = raw.get("dialogue_id")
    expect(
        isinstance(ident, (int, str)) and not isinstance(ident, bool) and str(ident) != "",
        "no 'dialogue_id'",
        path=file,
        record=record,
    )
    logs = raw["chat_logs"]
    expect(bool(logs), "empty 'chat_logs'", path=file, record=record)
    for i, t in enumerate(logs):
        where = f"{record}, message {i}"
        expect(isinstance(t, dict), "message is not an object", path=file, record=where)
        expect(isinstance(t.get("text"), str), "no text", path=file, record=where)
        expect(isinstance(t.get("id"), str) and bool(t["id"]), "no agent 'id'", path=file, record=where)
        expect(isinstance(t.get("task_data", {}), dict), "'task_data' is not an object", path=file, record=where)
    participants = raw.get("participant_info", {})
    expect(isinstance(participants, dict), "'participant_info' is not an object", path=file, record=record)
    agents = sorted({t["id"] for t in logs} | set(participants))
    roles = {agent: _role(n) for n, agent in enumerate(agents)}
    utterances = [t["text"] for t in logs if t["text"] not in DEAL_ACTIONS]
    annotations = raw.get("annotations", [])
    aligned = _aligned(annotations, utterances)
    labels = iter(annotations if aligned else [])
    turns = []
    for i, t in enumerate(logs):
        text = t["text"]
        extra: dict[str, Any] = {}
        acts = []
        if text in DEAL_ACTIONS:
            acts.append(DialogueAct(text))
        elif aligned:
            label = next(labels)[1]
            extra["annotation"] = label
            extra["strategies"] = label.split(",")
        if t.get("task_data"):
            extra["task_data"] = t["task_data"]
        rest = {k: v for k, v in t.items() if k not in _TURN_KEYS}
        if rest:
            extra["source_fields"] = rest
        turns.append(Turn(i, t["id"], roles[t["id"]], text, annotations=Annotations(dialogue_acts=acts, extra=extra)))
    meta: dict[str, Any] = {"dialogue_id": ident, "participant_info": participants, "annotated": bool(annotations)}
    if annotations and not aligned:
        meta["annotations"] = annotations
        meta["annotations_aligned"] = False
    rest = {k: v for k, v in raw.items() if k not in ("dialogue_id", "chat_logs", "participant_info", "annotations")}
    meta.update(rest)
    return Dialogue(f"{SOURCE}/{split}/{ident}", SOURCE, split, turns, meta)
