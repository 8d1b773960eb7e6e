"""ConvoKit corpus reader (Chang et al., SIGDIAL 2020: the Cornell Conversational Analysis Toolkit).

Input: a corpus folder as ``Corpus.dump`` writes it (``utterances.jsonl``, ``conversations.json``,
``speakers.json`` or the older ``users.json``, ``corpus.json``, ``index.json``), or a folder holding such corpus
folders. Only ``utterances.jsonl`` is required. Both generations of field names are read: ``speaker`` /
``conversation_id`` / ``reply_to`` (or ``reply-to``) and the older ``user`` / ``root``.

One :class:`Dialogue` per conversation (the utterances sharing a ``conversation_id``), in the order of
``conversations.json`` and then of first appearance in ``utterances.jsonl``; its turns are the conversation's
utterances in file order (ConvoKit's own order; ``reply_to`` keeps the reply tree). Per utterance:

- ``text`` -> ``Turn.text``; ``speaker`` (``user``) -> ``Turn.speaker``; roles ``speaker_a``, ``speaker_b`` ... by
  first appearance within the conversation (ConvoKit has no roles; ``speaker_27`` after ``speaker_z``);
- ``extra``: ``id`` (the utterance id), ``reply_to`` (whichever spelling the file used), ``timestamp``, ``meta``
  (the utterance metadata, verbatim), ``vectors`` when the line has them, and any other field under its own name.

An utterance with empty text (a Reddit link post, say) has no turn: it is kept whole, with the same fields plus
``speaker``, in ``meta["utterances_without_text"]`` (so replies to it still resolve). A conversation with no
utterance that has text is a bad record (raised or skipped per policy).

``meta``: ``conversation_id``, ``conversation`` (its ``conversations.json`` entry: ``meta``, ``vectors`` ...),
``speakers`` (the ``speakers.json`` entries of the speakers who take part), ``corpus`` (``corpus.json``),
``index`` (``index.json``), ``corpus_name`` (the corpus folder's name) and ``field_names`` (``"speaker"`` or the
older ``"user"``). A conversation listed in ``conversations.json`` with no utterance, and a speaker who never
speaks, give nothing (ConvoKit itself builds them from the utterances too).

Splits: ConvoKit corpora have none: every dialogue is ``full`` (``split=`` overrides). Dialogue ids:
``convokit/full/<conversation_id>``.

Licence: ConvoKit is MIT; each corpus has its own terms (the sample is Reddit data redistributed by Cornell, terms
not verified). Cite Chang et al. 2020, "ConvoKit: A Toolkit for the Analysis of Conversations", SIGDIAL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, iter_lines, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "convokit"
LICENSE = "MIT (ConvoKit); each corpus keeps its own terms (subreddit corpora: Reddit data, terms not verified)"
CITATION = "Chang et al. 2020, ConvoKit: A Toolkit for the Analysis of Conversations, SIGDIAL"
UTTERANCES = "utterances.jsonl"
DEFAULT_SPLIT = "full"
#: Fields of an utterance line that map onto columns (or the grouping) rather than ``extra``.
_COLUMN_KEYS = ("text", "speaker", "user", "conversation_id", "root")


def read_convokit(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield one dialogue per conversation of a ConvoKit corpus folder (or of each corpus folder below ``path``).

    Args:
        path: A corpus folder (with ``utterances.jsonl``), its ``utterances.jsonl``, or a folder of corpus folders.
        split: The split to give every dialogue (default ``full``: ConvoKit corpora have no splits).
        policy: What to do with a malformed utterance line or conversation (a file that is not ConvoKit's
            always raises).

    Raises:
        SourceFormatError: No ``utterances.jsonl``, a first line that is not a ConvoKit utterance, or (under
            ``on_error="raise"``) a malformed line or a conversation without text.

    Example:
        >>> from mmdial_data.testing import samples_dir
        >>> corpus = samples_dir("convokit_subreddit_cornell") / "data"
        >>> d = next(read_convokit(corpus, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[0].speaker, d.turns[0].role, d.meta["conversation"]["meta"]["title"]
        ('convokit/full/o0ss4', 'moon_river', 'speaker_a', 'oh look.. a picture!')
    """
    if path.is_file():
        folders = [path.parent]
        if path.name != UTTERANCES:
            raise SourceFormatError(f"not a ConvoKit corpus: expected {UTTERANCES} or its folder", path=path)
    elif (path / UTTERANCES).is_file():
        folders = [path]
    else:
        folders = sorted(p.parent for p in path.rglob(UTTERANCES) if p.is_file())
        if not folders:
            raise SourceFormatError(f"not a ConvoKit corpus: no {UTTERANCES} in this folder", path=path)
    for folder in folders:
        yield from _read_corpus(folder, split or DEFAULT_SPLIT, policy)


def _optional_json(folder: Path, *names: str) -> tuple[Path | None, Any]:
    for name in names:
        if (folder / name).is_file():
            return folder / name, load_json(folder / name)
    return None, None


def _read_corpus(folder: Path, split: str, policy: ErrorPolicy) -> Iterator[Dialogue]:
    file = folder / UTTERANCES
    by_conversation: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    speaker_key = None
    for lineno, line in iter_lines(file):
        if not line.strip():
            continue
        record = f"line {lineno}"
        try:
            utt = json.loads(line)
        except json.JSONDecodeError as exc:
            if speaker_key is None:  # the first line decides whether this is ConvoKit at all
                raise SourceFormatError(f"not a ConvoKit utterance line ({exc.msg})", path=file, record=record) from exc
            policy.handle(SourceFormatError(f"malformed JSON ({exc.msg})", path=file, record=record))
            continue
        problem = _utterance_problem(utt)
        if speaker_key is None:
            if problem:
                raise SourceFormatError(f"not a ConvoKit utterance: {problem}", path=file, record=record)
            speaker_key = "speaker" if "speaker" in utt else "user"
        elif problem:
            policy.handle(SourceFormatError(problem, path=file, record=record))
            continue
        conversation = str(utt.get("conversation_id", utt.get("root")))
        by_conversation.setdefault(conversation, []).append((lineno, utt))
    if speaker_key is None:
        raise SourceFormatError("no utterances in this file", path=file)
    _, conversations = _optional_json(folder, "conversations.json")
    _, speakers = _optional_json(folder, "speakers.json", "users.json")
    _, corpus = _optional_json(folder, "corpus.json")
    _, index = _optional_json(folder, "index.json")
    for name, value in (("conversations.json", conversations), ("speakers.json", speakers)):
        expect(
            value is None or isinstance(value, dict), "expected a JSON object", path=folder / name, record="top level"
        )
    context = {"corpus": corpus, "index": index, "corpus_name": folder.name, "field_names": speaker_key}
    order = [c for c in (conversations or {}) if c in by_conversation]
    order += [c for c in by_conversation if c not in (conversations or {})]
    for conversation in order:
        utterances = by_conversation[conversation]
        record = f"conversation {conversation!r} (line {utterances[0][0]})"
        dialogue = build_or_report(
            partial(
                _dialogue,
                conversation,
                utterances,
                split,
                (conversations or {}).get(conversation),
                speakers or {},
                context,
                file,
                record,
            ),
            policy,
            path=file,
            record=record,
        )
        if dialogue is not None:
            yield dialogue


def _utterance_problem(utt: Any) -> str | None:
    if not isinstance(utt, dict):
        return "an utterance line must be a JSON object"
    if not isinstance(utt.get("id"), (str, int)):
        return "no utterance id"
    if not isinstance(utt.get("text"), str):
        return "no text string"
    if "speaker" not in utt and "user" not in utt:
        return "no speaker (or user)"
    if "conversation_id" not in utt and "root" not in utt:
        return "no conversation_id (or root)"
    speaker = utt.get("speaker", utt.get("user"))
    if not isinstance(speaker, (str, int)):
        return "speaker must be a string"
    return None


def _role(n: int) -> str:
    return "speaker_" + (chr(ord("a") + n) if n < 26 else str(n + 1))


def _dialogue(
    conversation: str,
    utterances: list[tuple[int, dict[str, Any]]],
    split: str,
    info: Any,
    speakers: dict[str, Any],
    context: dict[str, Any],
    file: Path,
    record: str,
) -> Dialogue:
    roles: dict[str, str] = {}
    turns: list[Turn] = []
    untexted: list[dict[str, Any]] = []
    for _lineno, utt in utterances:
        speaker = str(utt.get("speaker", utt.get("user")))
        extra = {k: v for k, v in utt.items() if k not in _COLUMN_KEYS}
        if not utt["text"].strip():
            untexted.append({"speaker": speaker, "text": utt["text"], **extra})
            continue
        role = roles.setdefault(speaker, _role(len(roles)))
        turns.append(Turn(len(turns), speaker, role, utt["text"], annotations=Annotations(extra=extra)))
    expect(bool(turns), "no utterance with text in this conversation", path=file, record=record)
    taking_part = dict.fromkeys(str(u.get("speaker", u.get("user"))) for _, u in utterances)
    meta: dict[str, Any] = {"conversation_id": conversation}
    if info is not None:
        meta["conversation"] = info
    meta["speakers"] = {s: speakers[s] for s in taking_part if s in speakers}
    meta.update({k: v for k, v in context.items() if v is not None})
    if untexted:
        meta["utterances_without_text"] = untexted
    return Dialogue(f"{SOURCE}/{split}/{conversation}", SOURCE, split, turns, meta)
