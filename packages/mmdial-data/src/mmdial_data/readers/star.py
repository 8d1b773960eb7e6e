"""STAR reader (Mosig et al., 2020: STAR, a Schema-Guided Dialog Dataset for Transfer Learning; ``RasaHQ/STAR``).

Input: ``dialogues/<DialogueID>.json`` files (one JSON object per dialogue), one of them, or a folder of them at any
depth. A dialogue holds ``DialogueID``, ``Scenario`` (domains, user and wizard tasks, wizard capabilities),
``Events`` and worker/batch/questionnaire fields. An event has ``Agent`` (``User``, ``Wizard``, ``UserGuide``,
``KnowledgeBase``) and ``Action``.

Turns are the events a person says: ``User``/``Wizard`` events with ``Action`` ``utter`` or ``pick_suggestion``
(the wizard sending one of the system's suggested responses); speaker ``User``/``Wizard``, role
``user``/``system``; ``Text`` -> text. A picked suggestion's ``ActionLabel`` is the turn's dialogue act
(``DialogueAct("ask_name")``). ``extra``: ``Action``, ``UnixTime``, ``ActionLabel``, ``ActionLabelOptions`` and
any other field of the event, and ``events_before``: the other events since the previous turn, verbatim, in order
(the user guide's ``instruct``, the wizard's ``request_suggestions`` with its typed text, ``query`` with its
``APIName``/``Constraints``, the knowledge base's ``return_item``, ``select_primary``). Events after the last turn
(the user's ``complete``) go to ``meta["events_after_last_turn"]``.

``meta``: every other dialogue field under its own name (``Scenario``, ``UserQuestionnaire``,
``WizardQuestionnaire``, ``BatchID``, ``CompletionLevel``, ``IntroducesConflicts``, ``FORMAT-VERSION``, the
anonymized worker ids ...).

Splits: STAR has none: every dialogue is ``full`` (``split=`` overrides). Dialogue ids: ``star/full/<DialogueID>``.

Licence: MIT (RasaHQ/STAR LICENSE.txt). Cite Mosig, Mehri and Kober 2020, "STAR: A Schema-Guided Dialog Dataset
for Transfer Learning", arXiv:2010.11853.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, load_json
from mmdial_data.schema import Annotations, Dialogue, DialogueAct, Turn

SOURCE = "star"
LICENSE = "MIT"
CITATION = "Mosig, Mehri and Kober 2020, STAR: A Schema-Guided Dialog Dataset for Transfer Learning, arXiv:2010.11853"
DEFAULT_SPLIT = "full"
#: Agents whose utterances are turns, and their roles.
ROLES = {"User": "user", "Wizard": "system"}
#: Actions that say something to the other side.
TURN_ACTIONS = ("utter", "pick_suggestion")


def read_star(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield STAR dialogues from one ``<DialogueID>.json`` or a folder of them (sorted by numeric id).

    Args:
        path: A dialogue file or a folder holding them (``dialogues/`` of the release).
        split: The split to give every dialogue (default ``full``: STAR has no splits).
        policy: What to do with a malformed dialogue (a file in another format always raises).

    Raises:
        SourceFormatError: Not a STAR dialogue (no ``DialogueID`` and ``Events`` of ``Agent``/``Action``), or,
            under ``on_error="raise"``, a malformed event.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> d = next(read_star(samples_dir("star") / "dialogues", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [(t.role, t.annotations.dialogue_acts) for t in d.turns[:2]]
        ('star/full/1', [('user', []), ('system', [DialogueAct(act='ask_name', domain=None, slot=None, values=[])])])
    """
    if path.is_dir():
        files = sorted((p for p in path.rglob("*.json") if p.is_file()), key=_sort_key)
        if not files:
            raise SourceFormatError("no STAR dialogue .json files in this folder", path=path)
    else:
        files = [path]
    for file in files:
        data = load_json(file)
        _check_format(data, file)
        record = f"dialogue {data.get('DialogueID')}"
        dialogue = build_or_report(
            partial(_dialogue, data, split or DEFAULT_SPLIT, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue


def _sort_key(p: Path) -> tuple[int, int, str]:
    return (0, int(p.stem), str(p)) if p.stem.isdigit() else (1, 0, str(p))


def _check_format(data: Any, file: Path) -> None:
    """Refuse a file that is not a STAR dialogue, whatever the error policy."""
    ok = (
        isinstance(data, dict)
        and "DialogueID" in data
        and isinstance(data.get("Events"), list)
        and all(isinstance(e, dict) and {"Agent", "Action"} <= e.keys() for e in data["Events"][:1])
    )
    expect(ok, "not STAR: expected an object with DialogueID and Events of Agent/Action", path=file, record="top level")


def _dialogue(data: dict[str, Any], split: str, file: Path, record: str) -> Dialogue:
    turns: list[Turn] = []
    pending: list[Any] = []
    for i, event in enumerate(data["Events"]):
        where = f"{record}, event {i}"
        expect(
            isinstance(event, dict) and "Agent" in event and "Action" in event,
            "event needs Agent and Action",
            path=file,
            record=where,
        )
        if not (event["Agent"] in ROLES and event["Action"] in TURN_ACTIONS):
            pending.append(event)
            continue
        text = event.get("Text")
        expect(isinstance(text, str) and bool(text.strip()), "an utterance needs a Text", path=file, record=where)
        acts = []
        if "ActionLabel" in event:
            expect(isinstance(event["ActionLabel"], str), "ActionLabel must be a string", path=file, record=where)
            acts.append(DialogueAct(event["ActionLabel"]))
        extra = {k: v for k, v in event.items() if k not in ("Agent", "Text")}
        if pending:
            extra["events_before"] = pending
            pending = []
        agent = event["Agent"]
        turns.append(
            Turn(len(turns), agent, ROLES[agent], text, annotations=Annotations(dialogue_acts=acts, extra=extra))
        )
    expect(bool(turns), "no utterance in this dialogue", path=file, record=record)
    meta = {k: v for k, v in data.items() if k != "Events"}
    if pending:
        meta["events_after_last_turn"] = pending
    return Dialogue(f"{SOURCE}/{split}/{data['DialogueID']}", SOURCE, split, turns, meta)
