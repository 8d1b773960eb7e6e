"""Chit-Chat Challenge reader (BYU PCC lab; the ``chitchat-dataset`` PyPI package's ``dataset.json``).

``dataset.json`` maps a conversation id to ``{"messages": [[utterance, ...], ...], "start", "prompt",
"ratings"}``; a message is a run of utterances ``{"text", "timestamp", "sender"}`` by one sender. Each message
becomes one turn (its utterances joined by newlines; the per-utterance texts and timestamps are kept in
``extra["utterances"]``), with the sender id as speaker (a message of only blank utterances makes no turn
and is kept in ``meta["blank_messages"]``); the first sender is ``speaker_a``. ``start``,
``prompt`` and ``ratings`` go to ``meta``. The 40 MB file is parsed one conversation at a time (``ijson``).
Pass the package's folder or file, or the reader's :func:`installed_path`. Split: ``train``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, iter_json_object
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "chitchat"
LICENSE = "MIT (the chitchat-dataset package's licence, PyPI metadata and LICENSE)"
CITATION = (
    "Myers, Etchart and Fulda 2020, Conversational Scaffolding: An Analogy-Based Approach to Response "
    "Prioritization in Open-Domain Dialogs"
)


def installed_path() -> Path:
    """The ``dataset.json`` of the installed ``chitchat-dataset`` package.

    Raises:
        ImportError: naming the extra to install when the package is missing.
    """
    try:
        import chitchat_dataset
    except ImportError as exc:
        from mmdial_data.errors import MissingExtraError

        raise MissingExtraError("chitchat-dataset", "chitchat", "the chitchat reader") from exc
    return Path(chitchat_dataset.__file__).parent / "dataset.json"


def read_chitchat(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield Chit-Chat conversations from ``dataset.json`` (or the folder holding it).

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_chitchat(demo_dir() / "chitchat", split=None, policy=ErrorPolicy()))
        >>> d.turns[0].text, d.turns[1].role, d.meta["prompt"]
        ('Hi!\\nHow was your weekend?', 'speaker_b', 'Talk about weekend plans')
    """
    file = path / "dataset.json" if path.is_dir() else path
    if not file.exists():
        raise SourceFormatError("no dataset.json in this folder", path=path)
    split_name = split or "train"
    try:
        for conv_id, raw in iter_json_object(file):
            record = f"conversation {conv_id}"
            dialogue = build_or_report(
                partial(_dialogue, conv_id, raw, split_name, file, record), policy, path=file, record=record
            )
            if dialogue is not None:
                yield dialogue
    except SourceFormatError as exc:
        policy.handle(exc)


def _dialogue(conv_id: str, raw: dict[str, Any], split: str, file: Path, record: str) -> Dialogue:
    expect(
        isinstance(raw, dict) and isinstance(raw.get("messages"), list), "no 'messages' list", path=file, record=record
    )
    roles: dict[str, str] = {}
    turns: list[Turn] = []
    empty: list[dict[str, Any]] = []
    for i, message in enumerate(raw["messages"]):
        where = f"{record}, message {i}"
        expect(
            isinstance(message, list) and bool(message), "a message must be a non-empty list", path=file, record=where
        )
        senders = {u.get("sender") for u in message}
        expect(
            len(senders) == 1,
            f"utterances of one message have senders {sorted(map(str, senders))}",
            path=file,
            record=where,
        )
        sender = str(message[0]["sender"])
        roles.setdefault(
            sender, "speaker_a" if not roles else "speaker_b" if len(roles) == 1 else f"speaker_{len(roles)}"
        )
        text = "\n".join(t for t in (str(u["text"]).strip() for u in message) if t)
        utterances = [{k: v for k, v in u.items() if k != "sender"} for u in message]
        if not text:  # only blank utterances: no turn, but kept (and reported in meta)
            empty.append({"message_index": i, "sender": sender, "utterances": utterances})
            continue
        extra = {"message_index": i, "utterances": utterances}
        turns.append(Turn(len(turns), sender, roles[sender], text, annotations=Annotations(extra=extra)))
    expect(bool(turns), "no messages", path=file, record=record)
    meta = {"conversation_id": conv_id, **{k: v for k, v in raw.items() if k != "messages"}}
    if empty:
        meta["blank_messages"] = empty
    return Dialogue(f"{SOURCE}/{split}/{conv_id}", SOURCE, split, turns, meta)
