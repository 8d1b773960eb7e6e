"""Options, answers and knowledge documents: where multiple-choice and knowledge-grounded sources put them.

Schema v1 has no columns for these, and its Arrow layout stays as it is; they follow a convention on the JSON
fields the schema already has, with typed helpers here and checks in :func:`mmdial_data.validate_dialogue`:

- ``Dialogue.meta["choices"]``: a list of :class:`MultipleChoice` rows (``MultipleChoice.to_dict()``): a question
  (None when the task is to pick the next response, as in MuTual), its options, the index of the right one
  (None where the source withholds it, as in a test split), ``after_turn`` (the turn the question follows;
  None when it is about the whole dialogue, as in DREAM) and ``extra`` (whatever else the source has).
- ``Dialogue.meta["documents"]``: a list of :class:`KnowledgeDocument` rows: ``doc_id`` (unique in the dialogue),
  ``title``, ``text`` (None when the source ships only a pointer, such as Topical-Chat's pre-build reading sets),
  ``source`` (``"wikipedia"`` ...) and ``extra``. Each document is stored once per dialogue.
- ``Turn.annotations.extra["doc_ids"]``: the ids of the documents of ``meta["documents"]`` a turn is grounded on
  (Topical-Chat's knowledge sources, CMU_DoG's section on screen).
- ``Turn.annotations.knowledge`` keeps what it holds today (Wizard of Wikipedia's checked sentence): the exact
  texts that ground the turn, where the source marks them; documents are referenced, not copied into it.

Example:
    >>> from mmdial_data import Dialogue, Turn, Annotations
    >>> doc = KnowledgeDocument("fs1", "Lighthouse", "A lighthouse is a tower.", "wikipedia")
    >>> choice = MultipleChoice("What is the topic?", ["ships", "lighthouses"], answer=1)
    >>> turn = Turn(0, "A", "speaker_a", "I love lighthouses.", annotations=Annotations(extra={"doc_ids": ["fs1"]}))
    >>> d = Dialogue("demo/train/1", "demo", "train", [turn],
    ...              {"choices": [choice.to_dict()], "documents": [doc.to_dict()]})
    >>> choices_of(d)[0].answer_text, [x.title for x in turn_documents(d, 0)]
    ('lighthouses', ['Lighthouse'])
    >>> check_tasks(d) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmdial_data.schema import Dialogue

#: ``Dialogue.meta`` key of the multiple-choice questions.
CHOICES = "choices"
#: ``Dialogue.meta`` key of the knowledge documents.
DOCUMENTS = "documents"
#: ``Annotations.extra`` key of a turn's document ids.
DOC_IDS = "doc_ids"

_CHOICE_KEYS = ("question", "options", "answer", "after_turn", "extra")
_DOCUMENT_KEYS = ("doc_id", "title", "text", "source", "extra")


@dataclass
class MultipleChoice:
    """A multiple-choice question about a dialogue (or the choice of its next response).

    Attributes:
        question: The question; None when the options are candidate next responses (MuTual).
        options: The options, in the source's order.
        answer: Index of the right option in ``options``; None where the source does not give it.
        after_turn: The turn the question follows (MuTual: the last turn, whose next response is asked for);
            None when it is about the whole dialogue (DREAM).
        extra: Anything else the source has for the question (a JSON object).
    """

    question: str | None
    options: list[str]
    answer: int | None = None
    after_turn: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answer_text(self) -> str | None:
        """The right option's text, or None when the answer is not known."""
        return None if self.answer is None else self.options[self.answer]

    def to_dict(self) -> dict[str, Any]:
        """The JSON row stored in ``meta["choices"]``."""
        return {
            "question": self.question,
            "options": list(self.options),
            "answer": self.answer,
            "after_turn": self.after_turn,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> MultipleChoice:
        """Build from a ``meta["choices"]`` row."""
        return cls(
            question=row.get("question"),
            options=list(row["options"]),
            answer=row.get("answer"),
            after_turn=row.get("after_turn"),
            extra=dict(row.get("extra") or {}),
        )


@dataclass
class KnowledgeDocument:
    """A knowledge document (or one section of one) that turns of a dialogue can be grounded on.

    Attributes:
        doc_id: Id of the document, unique within its dialogue (turns name it in ``extra["doc_ids"]``).
        title: Its title (an entity, a headline, a movie name), if any.
        text: Its text; None when the source gives only a pointer to it (kept in ``extra``).
        source: Where it comes from (``"wikipedia"``, ``"reddit"``, ``"washington_post"`` ...), if known.
        extra: Everything else the source has for it (a JSON object).
    """

    doc_id: str
    title: str | None
    text: str | None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON row stored in ``meta["documents"]``."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "text": self.text,
            "source": self.source,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> KnowledgeDocument:
        """Build from a ``meta["documents"]`` row."""
        return cls(
            doc_id=row["doc_id"],
            title=row.get("title"),
            text=row.get("text"),
            source=row.get("source"),
            extra=dict(row.get("extra") or {}),
        )


def choices_of(dialogue: Dialogue) -> list[MultipleChoice]:
    """The multiple-choice questions of ``dialogue`` (``meta["choices"]``), or ``[]``.

    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/train/1", "x", "train", [Turn(0, "m", "speaker_a", "hi")],
    ...              {"choices": [{"question": None, "options": ["f : hello", "f : bye"], "answer": 0}]})
    >>> choices_of(d)
    [MultipleChoice(question=None, options=['f : hello', 'f : bye'], answer=0, after_turn=None, extra={})]
    """
    return [MultipleChoice.from_dict(row) for row in dialogue.meta.get(CHOICES) or []]


def documents_of(dialogue: Dialogue) -> list[KnowledgeDocument]:
    """The knowledge documents of ``dialogue`` (``meta["documents"]``), or ``[]``.

    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "speaker_a", "hi")],
    ...              {"documents": [{"doc_id": "1", "title": "Iron Man", "text": "Iron Man is a film."}]})
    >>> documents_of(d)[0].title
    'Iron Man'
    """
    return [KnowledgeDocument.from_dict(row) for row in dialogue.meta.get(DOCUMENTS) or []]


def doc_ids_of(dialogue: Dialogue, turn_index: int) -> list[str]:
    """The document ids turn ``turn_index`` is grounded on (``extra["doc_ids"]``), or ``[]``."""
    return list(dialogue.turns[turn_index].annotations.extra.get(DOC_IDS) or [])


def turn_documents(dialogue: Dialogue, turn_index: int) -> list[KnowledgeDocument]:
    """The documents turn ``turn_index`` is grounded on, in the order the turn names them.

    Raises:
        KeyError: The turn names a document the dialogue does not have (:func:`check_tasks` reports it).
    """
    ids = doc_ids_of(dialogue, turn_index)
    if not ids:
        return []
    by_id = {doc.doc_id: doc for doc in documents_of(dialogue)}
    return [by_id[i] for i in ids]


def _optional_str(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_choices(rows: Any, n_turns: int) -> str | None:
    if not isinstance(rows, list):
        return f"meta[{CHOICES!r}] must be a list of multiple-choice questions"
    for i, row in enumerate(rows):
        where = f"meta[{CHOICES!r}][{i}]"
        if not isinstance(row, dict):
            return f"{where} must be an object"
        unknown = [k for k in row if k not in _CHOICE_KEYS]
        if unknown:
            return f"{where} has unknown key {unknown[0]!r} (keys: {', '.join(_CHOICE_KEYS)})"
        options = row.get("options")
        if not isinstance(options, list) or not options:
            return f"{where} has no options"
        if not all(isinstance(o, str) and o.strip() for o in options):
            return f"{where}: every option must be a non-empty string"
        if not _optional_str(row.get("question")):
            return f"{where}: question must be a string or null"
        answer = row.get("answer")
        if answer is not None and not (_index(answer) and 0 <= answer < len(options)):
            return f"{where}: answer {answer!r} is not an index of its {len(options)} options"
        after = row.get("after_turn")
        if after is not None and not (_index(after) and 0 <= after < n_turns):
            return f"{where}: after_turn {after!r} is not a turn of the dialogue (0..{n_turns - 1})"
        if not isinstance(row.get("extra", {}), dict):
            return f"{where}: extra must be an object"
    return None


def _check_documents(rows: Any) -> tuple[str | None, set[str]]:
    if not isinstance(rows, list):
        return f"meta[{DOCUMENTS!r}] must be a list of knowledge documents", set()
    ids: set[str] = set()
    for i, row in enumerate(rows):
        where = f"meta[{DOCUMENTS!r}][{i}]"
        if not isinstance(row, dict):
            return f"{where} must be an object", ids
        unknown = [k for k in row if k not in _DOCUMENT_KEYS]
        if unknown:
            return f"{where} has unknown key {unknown[0]!r} (keys: {', '.join(_DOCUMENT_KEYS)})", ids
        doc_id = row.get("doc_id")
        if not isinstance(doc_id, str) or not doc_id:
            return f"{where} has no doc_id", ids
        if doc_id in ids:
            return f"{where}: doc_id {doc_id!r} is not unique", ids
        ids.add(doc_id)
        for name in ("title", "text", "source"):
            if not _optional_str(row.get(name)):
                return f"{where}: {name} must be a string or null", ids
        if not isinstance(row.get("extra", {}), dict):
            return f"{where}: extra must be an object", ids
    return None, ids


def check_tasks(dialogue: Dialogue) -> str | None:
    """Why ``dialogue`` breaks the convention of this module, or None when it follows it (or has none of it).

    Rules: ``meta["choices"]`` is a list of objects with the keys of :class:`MultipleChoice`, each with a
    non-empty list of non-empty options, an answer that indexes them (or null) and an ``after_turn`` that is a turn
    (or null); ``meta["documents"]`` is a list of objects with the keys of :class:`KnowledgeDocument`, unique
    non-empty ``doc_id`` strings; a turn's ``extra["doc_ids"]`` is a list of ids of those documents.
    :func:`mmdial_data.validate_dialogue` raises with this reason.

    >>> from mmdial_data import Dialogue, Turn
    >>> d = Dialogue("x/train/1", "x", "train", [Turn(0, "A", "speaker_a", "hi")],
    ...              {"choices": [{"question": "Who?", "options": ["A", "B"], "answer": 2}]})
    >>> check_tasks(d)
    "meta['choices'][0]: answer 2 is not an index of its 2 options"
    """
    meta = dialogue.meta
    if CHOICES in meta:
        problem = _check_choices(meta[CHOICES], len(dialogue.turns))
        if problem:
            return problem
    ids: set[str] = set()
    if DOCUMENTS in meta:
        problem, ids = _check_documents(meta[DOCUMENTS])
        if problem:
            return problem
    for i, turn in enumerate(dialogue.turns):
        refs = turn.annotations.extra.get(DOC_IDS)
        if refs is None and DOC_IDS not in turn.annotations.extra:
            continue
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            return f"turn {i}: extra[{DOC_IDS!r}] must be a list of document ids"
        missing = [r for r in refs if r not in ids]
        if missing:
            return f"turn {i}: extra[{DOC_IDS!r}] names {missing[0]!r}, which is not in meta[{DOCUMENTS!r}]"
    return None
