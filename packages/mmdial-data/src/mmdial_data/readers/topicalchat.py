"""Topical-Chat reader (Gopalakrishnan et al., 2019: Topical-Chat, Towards Knowledge-Grounded Open-Domain
Conversations; ``alexa/Topical-Chat``).

Input: ``conversations/<split>.json`` (``train``, ``valid_freq``, ``valid_rare``, ``test_freq``, ``test_rare``), a
JSON object of conversations by id: ``article_url``, ``config`` (``A``-``D``), ``content`` (the turns: ``message``,
``agent``, ``sentiment``, ``knowledge_source``, ``turn_rating``) and ``conversation_rating``. A file, the
``conversations/`` folder or the release folder. The reading sets are found beside it:
``reading_sets/post-build/<split>.json`` (built by the release's ``build.py``: texts) or else
``reading_sets/pre-build/<split>.json`` (as released: pointers), each keyed by the same conversation ids, with
``agent_1``/``agent_2`` factual sections ``FS1``-``FS3`` (``entity``, ``shortened_wiki_lead_section`` or
``summarized_wiki_lead_section``, ``fun_facts``) and, built, the shared ``article`` (``url``, ``headline``,
``AS1``-``AS4``). Without reading sets the conversations are read alone.

Turns: ``message`` -> text, ``agent`` -> speaker (role ``speaker_a`` for ``agent_1``, ``speaker_b`` for ``agent_2``),
``sentiment`` -> ``emotion``; ``knowledge_source``, ``turn_rating`` and any other field verbatim in ``extra``, and
``extra["doc_ids"]``: the documents its knowledge sources name (``FS2`` of ``agent_1`` -> ``agent_1/FS2``, ``AS1`` ->
``article/AS1``; ``Personal Knowledge`` and sections the reading set lacks name none). A message with no text is
not a turn: it is kept whole, with its ``index``, in ``meta["messages_without_text"]``.

Documents (``meta["documents"]``, :class:`~mmdial_data.tasks.KnowledgeDocument`): one per agent and factual
section, ``doc_id`` ``<agent>/<section>``, title the entity, text the lead section when built (None for a
pre-build pointer), source ``wikipedia``, ``extra``: ``agent``, ``section``, ``lead_section`` (which of the two
keys held the text) and the section's other fields verbatim (``fun_facts``: Reddit texts when built, thread ids in
pre-build; the lead section's id in pre-build). Built article sections are documents ``article/AS1`` ...
(title the headline, source ``washington_post``); the article's other fields stay in ``meta["article"]``.
``meta``: ``article_url``, ``config``, ``conversation_rating`` and any other conversation field, ``reading_set``
(``post-build`` or ``pre-build``) and the reading set's fields that differ from the conversation's, under
``reading_set_fields``.

Splits: the file names (``valid_freq`` becomes ``validation_freq``, ``test_rare`` stays: ``read_source`` gives the
canonical name of :mod:`mmdial_data.splits`; another name: the split token in it, else ``full``). Ids:
``topicalchat/<split>/<conversation id>``.

Licence: CDLA-Sharing-1.0 (alexa/Topical-Chat DATALICENSE); the built reading sets carry Wikipedia, Reddit and
Washington Post text under their own terms. Cite Gopalakrishnan et al. 2019, "Topical-Chat: Towards
Knowledge-Grounded Open-Domain Conversations", Interspeech 2019.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import _first_char, build_or_report, expect, infer_split, iter_json_object
from mmdial_data.schema import Annotations, Dialogue, Turn
from mmdial_data.tasks import DOC_IDS, DOCUMENTS, KnowledgeDocument

SOURCE = "topicalchat"
LICENSE = "CDLA-Sharing-1.0"
CITATION = (
    "Gopalakrishnan et al. 2019, Topical-Chat: Towards Knowledge-Grounded Open-Domain Conversations, Interspeech 2019"
)
SPLITS = ("train", "valid_freq", "valid_rare", "test_freq", "test_rare")
DEFAULT_SPLIT = "full"
AGENTS = {"agent_1": "speaker_a", "agent_2": "speaker_b"}
LEAD_SECTIONS = ("shortened_wiki_lead_section", "summarized_wiki_lead_section")
#: Reading-set folders, the built one first.
BUILDS = ("post-build", "pre-build")


def read_topicalchat(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield Topical-Chat conversations, with their reading sets as knowledge documents.

    Args:
        path: A conversations file (``conversations/valid_freq.json``), the ``conversations/`` folder, or the
            release folder holding it; reading sets are looked up beside it.
        split: The split to give every conversation (default: the file name).
        policy: What to do with a malformed conversation (a file in another format always raises).

    Raises:
        SourceFormatError: Not Topical-Chat conversations (a JSON object of ``{content: [{message, agent}]}``) or
            reading sets, or, under ``on_error="raise"``, a malformed conversation.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> path = samples_dir("topical_chat") / "conversations" / "valid_freq.json"
        >>> d = next(read_topicalchat(path, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id
        'topicalchat/valid_freq/t_a2b769a0-c082-4c26-8d8d-e2c5b8a79d93'
        >>> d.turns[0].text, d.turns[0].annotations.emotion
        ('Are you a football fan?', 'Curious to dive deeper')
        >>> from mmdial_data.tasks import turn_documents
        >>> [(x.doc_id, x.title) for x in turn_documents(d, 1)]
        [('agent_2/FS3', 'Football')]
    """
    if path.is_dir():
        folder = path / "conversations" if (path / "conversations").is_dir() else path
        files = sorted(p for p in folder.glob("*.json") if p.is_file())
        if not files:
            raise SourceFormatError("no Topical-Chat conversation .json files in this folder", path=folder)
    else:
        files = [path]
    for file in files:
        name = split or (file.stem if file.stem in SPLITS else infer_split(file, DEFAULT_SPLIT))
        if _first_char(file) != "{":
            raise SourceFormatError("not Topical-Chat: expected a JSON object of conversations", path=file,
                                    record="top level")  # fmt: skip
        reading_sets = _ReadingSets.beside(file)
        for index, (conversation_id, raw) in enumerate(iter_json_object(file)):
            if index == 0:
                _check_format(raw, file)
            record = f"conversation {conversation_id}"
            reading_set = reading_sets.get(conversation_id) if reading_sets else None
            build = partial(_dialogue, conversation_id, raw, reading_set, reading_sets, name, file, record)
            dialogue = build_or_report(build, policy, path=file, record=record)
            if dialogue is not None:
                yield dialogue


def _check_format(raw: Any, file: Path) -> None:
    """Refuse a file that is not Topical-Chat conversations, whatever the error policy."""
    content = raw.get("content") if isinstance(raw, dict) else None
    ok = isinstance(content, list) and all(
        isinstance(t, dict) and {"message", "agent"} <= t.keys() for t in content[:1]
    )
    expect(ok, "not Topical-Chat: expected conversations of content [{message, agent}]", path=file, record="top level")


class _ReadingSets:
    """The reading sets of one conversations file, read in step with it (the release keeps the same key order), or
    loaded whole the first time a key is out of step."""

    def __init__(self, file: Path, build: str) -> None:
        self.file, self.build = file, build
        self._stream: Iterator[tuple[str, Any]] | None = iter_json_object(file)
        self._all: dict[str, Any] | None = None

    @classmethod
    def beside(cls, conversations: Path) -> _ReadingSets | None:
        for root in (conversations.parent.parent, conversations.parent):
            for build in BUILDS:
                candidate = root / "reading_sets" / build / conversations.name
                if candidate.is_file():
                    return cls(candidate, build)
        return None

    def get(self, conversation_id: str) -> Any:
        if self._stream is not None:
            key, value = next(self._stream, (None, None))
            if key == conversation_id:
                self._check(value)
                return value
            self._stream = None
            self._all = dict(iter_json_object(self.file))
        assert self._all is not None
        value = self._all.get(conversation_id)
        if value is not None:
            self._check(value)
        return value

    def _check(self, value: Any) -> None:
        ok = isinstance(value, dict) and all(isinstance(value.get(a), dict) for a in AGENTS)
        expect(ok, "not a Topical-Chat reading set: expected agent_1 and agent_2 sections", path=self.file,
               record="top level")  # fmt: skip


def _documents(rs: dict[str, Any], file: Path, record: str) -> tuple[list[KnowledgeDocument], dict[str, Any]]:
    """The documents of a reading set, and what of it goes to ``meta`` (the article's other fields)."""
    docs = []
    for agent in AGENTS:
        for section, fs in rs[agent].items():
            where = f"{record}, reading set {agent} {section}"
            expect(isinstance(fs, dict), "a reading-set section must be an object", path=file, record=where)
            lead = next((k for k in LEAD_SECTIONS if isinstance(fs.get(k), str)), None)
            extra: dict[str, Any] = {"agent": agent, "section": section}
            if lead is not None:
                extra["lead_section"] = lead
            extra.update((k, v) for k, v in fs.items() if k not in ("entity", lead))
            entity = fs.get("entity")
            expect(entity is None or isinstance(entity, str), "entity must be a string", path=file, record=where)
            docs.append(
                KnowledgeDocument(f"{agent}/{section}", entity, fs.get(lead) if lead else None, "wikipedia", extra)
            )
    meta: dict[str, Any] = {}
    article = rs.get("article")
    if isinstance(article, dict):
        headline = article.get("headline")
        for key, text in article.items():
            if key.startswith("AS") and isinstance(text, str):
                title = headline if isinstance(headline, str) else None
                docs.append(KnowledgeDocument(f"article/{key}", title, text, "washington_post", {"section": key}))
        meta["article"] = {k: v for k, v in article.items() if not (k.startswith("AS") and isinstance(v, str))}
    elif "article" in rs:
        meta["article"] = article
    return docs, meta


def _dialogue(
    conversation_id: str,
    raw: Any,
    rs: Any,
    reading_sets: _ReadingSets | None,
    split: str,
    file: Path,
    record: str,
) -> Dialogue:
    expect(isinstance(raw, dict) and isinstance(raw.get("content"), list), "no content list", path=file, record=record)
    meta: dict[str, Any] = {k: v for k, v in raw.items() if k != "content"}
    ids: set[str] = set()
    if rs is not None and reading_sets is not None:
        docs, article_meta = _documents(rs, reading_sets.file, record)
        ids = {d.doc_id for d in docs}
        meta["reading_set"] = reading_sets.build
        meta.update(article_meta)
        differ = {k: v for k, v in rs.items() if k not in (*AGENTS, "article") and raw.get(k) != v}
        if differ:
            meta["reading_set_fields"] = differ
        meta[DOCUMENTS] = [d.to_dict() for d in docs]
    roles = dict(AGENTS)
    turns: list[Turn] = []
    empty: list[dict[str, Any]] = []
    for i, t in enumerate(raw["content"]):
        where = f"{record}, turn {i}"
        expect(isinstance(t, dict), "a turn must be an object", path=file, record=where)
        agent, text = t.get("agent"), t.get("message")
        expect(isinstance(agent, str) and bool(agent), "a turn needs an agent", path=file, record=where)
        expect(isinstance(text, str), "a turn needs a message", path=file, record=where)
        if not text.strip():
            empty.append({"index": i, **t})
            continue
        sentiment = t.get("sentiment")
        expect(sentiment is None or isinstance(sentiment, str), "sentiment must be a string", path=file, record=where)
        extra = {k: v for k, v in t.items() if k not in ("message", "agent", "sentiment")}
        sources = t.get("knowledge_source") or []
        expect(isinstance(sources, list), "knowledge_source must be a list", path=file, record=where)
        if DOCUMENTS in meta:
            refs = [f"{agent}/{s}" if f"{agent}/{s}" in ids else f"article/{s}" for s in sources if isinstance(s, str)]
            extra[DOC_IDS] = [r for r in refs if r in ids]
        role = roles.setdefault(agent, f"speaker_{chr(ord('a') + len(roles))}")
        annotations = Annotations(emotion=sentiment, extra=extra)
        turns.append(Turn(len(turns), agent, role, text, annotations=annotations))
    expect(bool(turns), "no message with text", path=file, record=record)
    if empty:
        meta["messages_without_text"] = empty
    return Dialogue(f"{SOURCE}/{split}/{conversation_id}", SOURCE, split, turns, meta)
