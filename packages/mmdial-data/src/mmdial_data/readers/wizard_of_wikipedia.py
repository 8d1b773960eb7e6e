"""Wizard of Wikipedia reader (Dinan et al., 2019; ParlAI's ``wizard_of_wikipedia`` release).

Files: ``train.json``, ``valid_random_split.json``, ``valid_topic_split.json``, ``test_random_split.json``,
``test_topic_split.json`` (or ``data.json``): a JSON list of dialogues ``{"chosen_topic", "persona",
"wizard_eval", "chosen_topic_passage": [sentences], "dialog": [turns]}``. A turn has ``speaker``
(``"0_Wizard"``, ``"1_Apprentice"`` ...), ``text``, ``retrieved_topics``, ``retrieved_passages``
(``[{title: [sentences]}]``) and, on wizard turns, ``checked_sentence`` (``{key: sentence}``, key
``"no_passages_used"`` when none) and ``checked_passage`` (``{key: title}``).

Mapping: role ``wizard``/``apprentice`` from the speaker; the checked sentence becomes the turn's
``knowledge`` (none for ``no_passages_used``); checked sentence/passage, retrieved topics and passages are
kept verbatim in ``extra``; the topic, persona, evaluation score and topic passage in ``meta``. Ids are
``wizard_of_wikipedia/<split>/<variant>/<index in file>`` (variant ``random_split``/``topic_split``/``train``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, iter_json_array, json_files
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "wizard_of_wikipedia"
LICENSE = "not stated for the data (ParlAI's code is MIT; Wikipedia text is CC BY-SA)"
CITATION = "Dinan et al. 2019, Wizard of Wikipedia: Knowledge-Powered Conversational Agents, ICLR"
NO_PASSAGE = "no_passages_used"


def read_wizard_of_wikipedia(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield Wizard of Wikipedia dialogues from a release file or a folder of them.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_wizard_of_wikipedia(demo_dir() / "wizard_of_wikipedia", split=None, policy=ErrorPolicy()))
        >>> d.meta["chosen_topic"], d.turns[1].role, d.turns[1].annotations.knowledge
        ('Lighthouse', 'wizard', ['A lighthouse is a tower designed to emit light to aid navigation.'])
    """
    for file in json_files(path):
        split_name = split or infer_split(file)
        stem = file.stem
        variant = stem.split("_", 1)[1] if "_" in stem and stem.split("_", 1)[0] in ("valid", "test") else stem
        try:
            for index, raw in iter_json_array(file):
                record = f"dialogue {index}"
                dialogue = build_or_report(
                    partial(_dialogue, raw, index, split_name, variant, file, record), policy, path=file, record=record
                )
                if dialogue is not None:
                    yield dialogue
        except SourceFormatError as exc:
            policy.handle(exc)


def _role(speaker: str) -> str:
    name = speaker.split("_", 1)[-1].lower()
    return name if name in ("wizard", "apprentice") else speaker.lower()


def _dialogue(raw: dict[str, Any], index: int, split: str, variant: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(raw, dict) and isinstance(raw.get("dialog"), list), "no 'dialog' list", path=file, record=record)
    expect(bool(raw["dialog"]), "empty dialog", path=file, record=record)
    turns = []
    for i, t in enumerate(raw["dialog"]):
        where = f"{record}, turn {i}"
        expect(isinstance(t.get("speaker"), str), "missing speaker", path=file, record=where)
        expect(isinstance(t.get("text"), str), "no text", path=file, record=where)
        checked = t.get("checked_sentence") or {}
        expect(isinstance(checked, dict), "checked_sentence must be an object", path=file, record=where)
        knowledge = [s for k, s in checked.items() if k != NO_PASSAGE and s != NO_PASSAGE and s]
        extra = {k: v for k, v in t.items() if k not in ("speaker", "text")}
        turns.append(
            Turn(
                i,
                t["speaker"],
                _role(t["speaker"]),
                t["text"],
                annotations=Annotations(knowledge=knowledge, extra=extra),
            )
        )
    meta = {k: v for k, v in raw.items() if k != "dialog"}
    meta.update({"variant": variant, "index": index})
    return Dialogue(f"{SOURCE}/{split}/{variant}/{index}", SOURCE, split, turns, meta)
