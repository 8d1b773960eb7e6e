"""CMU Document Grounded Conversations reader (Zhou, Prabhumoye and Black, 2018: A Dataset for Document Grounded
Conversations; ``festvox/datasets-CMU_DoG``).

Input: ``Conversations/{train,valid,test}/<sha1>.json``, one JSON object per conversation: ``history`` (the
messages: ``text``, ``uid`` ``user1``/``user2``, ``docIdx`` the section of the document on screen, ``utcTimestamp``),
``wikiDocumentIdx`` (the movie's document), ``whoSawDoc``, ``rating``, ``status``, ``date``, log-in/out times,
``uid1response``/``uid2response`` and the workers' ids. A file, a split folder, ``Conversations/`` or the release
folder. The documents are ``WikiData/<movie>.json`` beside ``Conversations/`` (found in any folder above the file):
section ``"0"`` an object (``movieName``, ``introduction``, ``cast``, ``director``, ``genre``, ``rating``,
``critical_response``, ``year``), sections ``"1"``-``"3"`` texts, and ``wikiDocumentIdx``. Without ``WikiData`` the
conversations are read alone.

Turns: ``text`` (verbatim, trailing spaces kept), speaker ``uid`` (role ``speaker_a`` for ``user1``, ``speaker_b`` for
``user2``); ``docIdx``, ``utcTimestamp`` and any other field in ``extra``, and ``extra["doc_ids"]``: the section on
screen (``["2"]``; ``whoSawDoc`` in ``meta`` says which users could see the document). A message with no text is
not a turn: it is kept whole, with its ``index``, in ``meta["messages_without_text"]``.

Documents (``meta["documents"]``, :class:`~mmdial_data.tasks.KnowledgeDocument`): one per section of the movie's
document, ``doc_id`` the section (``"0"`` ... ``"3"``), title the movie name, source ``wikipedia``; section 0's text
its ``introduction`` and its other fields in ``extra``, the other sections' text as they are. ``meta``: every
conversation field but ``history`` under its own name, ``wiki_document`` (the WikiData file name) and any other
field of the document under ``wiki_document_fields``.

Splits: ``train``, ``valid``, ``test`` from the folder (``valid`` becomes ``validation``: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`; ``full`` when none). Ids: ``cmu_dog/<split>/<file name without
.json>``.

Licence: not stated (festvox/datasets-CMU_DoG has no licence file; the documents are from Wikipedia, CC BY-SA).
Cite Zhou, Prabhumoye and Black 2018, "A Dataset for Document Grounded Conversations", EMNLP 2018.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import _first_char, build_or_report, expect, infer_split, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn
from mmdial_data.tasks import DOC_IDS, DOCUMENTS, KnowledgeDocument

SOURCE = "cmu_dog"
LICENSE = "not stated (festvox/datasets-CMU_DoG has no licence file; Wikipedia text is CC BY-SA)"
CITATION = "Zhou, Prabhumoye and Black 2018, A Dataset for Document Grounded Conversations, EMNLP 2018"
DEFAULT_SPLIT = "full"
USERS = {"user1": "speaker_a", "user2": "speaker_b"}
WIKI_FOLDER = "WikiData"


def read_cmu_dog(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield CMU_DoG conversations, with the sections of their movie's document as knowledge documents.

    Args:
        path: A conversation file, or a folder holding them at any depth (``Conversations/train``, the release);
            ``WikiData/`` files are documents, never read as conversations.
        split: The split to give every conversation (default: its folder's name).
        policy: What to do with a malformed conversation (a file in another format always raises).

    Raises:
        SourceFormatError: Not a CMU_DoG conversation (an object with ``history`` and ``wikiDocumentIdx``), or,
            under ``on_error="raise"``, a malformed one (a message without ``uid``, a document WikiData lacks).

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> folder = samples_dir("cmu_dog") / "Conversations" / "train"
        >>> d = next(read_cmu_dog(folder, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].speaker, d.turns[0].text
        ('cmu_dog/train/000dcd312b337a413d9b030846c5ea6cabbded9e', 'user1', 'hello')
        >>> from mmdial_data.tasks import turn_documents
        >>> [(x.doc_id, x.title) for x in turn_documents(d, 0)]
        [('0', 'The Social Network')]
    """
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file() and WIKI_FOLDER not in p.relative_to(path).parts)
        if not files:
            raise SourceFormatError("no CMU_DoG conversation .json files in this folder", path=path)
    else:
        files = [path]
    wiki = _WikiData()
    for file in files:
        if _first_char(file) != "{":
            raise SourceFormatError("not CMU_DoG: expected a JSON object", path=file, record="top level")
        try:
            data = load_json(file)
        except SourceFormatError as exc:  # a broken conversation: the policy decides
            policy.handle(exc)
            continue
        ok = isinstance(data, dict) and isinstance(data.get("history"), list) and "wikiDocumentIdx" in data
        expect(ok, "not CMU_DoG: expected a conversation with history and wikiDocumentIdx", path=file,
               record="top level")  # fmt: skip
        record = f"conversation {file.stem}"
        folder = wiki.folder(file)
        found = wiki.get(folder, data["wikiDocumentIdx"]) if folder is not None else None  # a bad WikiData file raises
        build = partial(_dialogue, data, split or infer_split(file, DEFAULT_SPLIT), folder, found, file, record)
        dialogue = build_or_report(build, policy, path=file, record=record)
        if dialogue is not None:
            yield dialogue


class _WikiData:
    """The ``WikiData`` documents of each folder, by ``wikiDocumentIdx``, read once."""

    def __init__(self) -> None:
        self._folders: dict[Path, dict[Any, tuple[Path, Any]]] = {}

    def folder(self, conversation: Path) -> Path | None:
        for parent in conversation.parents:
            if (parent / WIKI_FOLDER).is_dir():
                return parent / WIKI_FOLDER
        return None

    def get(self, folder: Path, index: Any) -> tuple[Path, Any] | None:
        if folder not in self._folders:
            by_index: dict[Any, tuple[Path, Any]] = {}
            for p in sorted(folder.glob("*.json")):
                document = load_json(p)
                ok = isinstance(document, dict) and "wikiDocumentIdx" in document
                expect(ok, "not a CMU_DoG WikiData document (no wikiDocumentIdx)", path=p, record="top level")
                by_index[json.dumps(document["wikiDocumentIdx"])] = (p, document)
            self._folders[folder] = by_index
        return self._folders[folder].get(json.dumps(index))


def _documents(document: dict[str, Any], file: Path, record: str) -> tuple[list[KnowledgeDocument], dict[str, Any]]:
    sections = sorted((k for k in document if k.isdigit()), key=int)
    card = document.get("0")
    title = card.get("movieName") if isinstance(card, dict) else None
    expect(title is None or isinstance(title, str), "movieName must be a string", path=file, record=record)
    docs = []
    for key in sections:
        value = document[key]
        if isinstance(value, dict):
            text = value.get("introduction")
            expect(text is None or isinstance(text, str), "introduction must be a string", path=file, record=record)
            extra = {k: v for k, v in value.items() if k not in ("movieName", "introduction")}
            docs.append(KnowledgeDocument(key, title, text, "wikipedia", extra))
        else:
            expect(isinstance(value, str), f"section {key} must be a string or an object", path=file, record=record)
            docs.append(KnowledgeDocument(key, title, value, "wikipedia"))
    others = {k: v for k, v in document.items() if k not in sections and k != "wikiDocumentIdx"}
    return docs, others


def _dialogue(
    data: dict[str, Any],
    split: str,
    folder: Path | None,
    found: tuple[Path, Any] | None,
    file: Path,
    record: str,
) -> Dialogue:
    meta: dict[str, Any] = {k: v for k, v in data.items() if k != "history"}
    ids: set[str] = set()
    if folder is not None:
        expect(found is not None, f"wikiDocumentIdx {data['wikiDocumentIdx']!r} is not in {folder}", path=file,
               record=record)  # fmt: skip
        assert found is not None
        wiki_file, document = found
        docs, others = _documents(document, wiki_file, f"document {data['wikiDocumentIdx']}")
        ids = {d.doc_id for d in docs}
        meta["wiki_document"] = wiki_file.name
        if others:
            meta["wiki_document_fields"] = others
        meta[DOCUMENTS] = [d.to_dict() for d in docs]
    roles = dict(USERS)
    turns: list[Turn] = []
    empty: list[dict[str, Any]] = []
    for i, message in enumerate(data["history"]):
        where = f"{record}, message {i}"
        expect(isinstance(message, dict), "a message must be an object", path=file, record=where)
        uid, text = message.get("uid"), message.get("text")
        expect(isinstance(uid, str) and bool(uid), "a message needs a uid", path=file, record=where)
        expect(isinstance(text, str), "a message needs a text", path=file, record=where)
        if not text.strip():
            empty.append({"index": i, **message})
            continue
        extra = {k: v for k, v in message.items() if k not in ("text", "uid")}
        if DOCUMENTS in meta:
            section = str(message.get("docIdx"))
            extra[DOC_IDS] = [section] if section in ids else []
        role = roles.setdefault(uid, f"speaker_{chr(ord('a') + len(roles))}")
        turns.append(Turn(len(turns), uid, role, text, annotations=Annotations(extra=extra)))
    expect(bool(turns), "no message with text", path=file, record=record)
    if empty:
        meta["messages_without_text"] = empty
    return Dialogue(f"{SOURCE}/{split}/{file.stem}", SOURCE, split, turns, meta)
