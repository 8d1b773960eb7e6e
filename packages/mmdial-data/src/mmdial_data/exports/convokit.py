"""Export to a ConvoKit corpus folder (Chang et al., 2020), as ``Corpus.dump`` writes one.

``export_convokit(dialogues_or_path, out)`` makes ``out`` a corpus folder: ``utterances.jsonl`` (one utterance per
line: ``id``, ``conversation_id``, ``text``, ``speaker``, ``meta``, ``reply-to``, ``timestamp``, ``vectors``),
``conversations.json``, ``speakers.json`` (``{id: {"meta", "vectors"}}``), ``corpus.json`` and ``index.json`` (the
type of each metadata field, ConvoKit's index). ``convokit.Corpus(filename=out)`` loads it, and the ``convokit``
reader reads it back.

Where each field goes (the inverse of :mod:`mmdial_data.readers.convokit`):

- a ``convokit`` dialogue: conversation ``meta["conversation_id"]`` with its ``meta["conversation"]`` entry; each
  turn's line from ``extra`` (``id``, ``reply-to``/``reply_to`` as spelt, ``timestamp``, ``meta``, ``vectors``,
  any other field), ``meta["utterances_without_text"]`` as lines again (before the conversation's other lines:
  where they stood is not kept), ``meta["speakers"]`` into ``speakers.json``, ``meta["corpus"]`` into
  ``corpus.json`` and ``meta["index"]`` as ``index.json`` (the first dialogue's, for the corpus; with dialogues of
  other sources too, the start of an index that adds the types of the fields it does not list).
- any other dialogue: conversation id the unified ``dialogue_id``; utterance ids ``<dialogue_id>/<turn_index>``,
  each replying to the one before (the first to none), ``timestamp`` null; the turn's ``extra`` is the utterance
  ``meta`` and the dialogue's ``meta`` the conversation ``meta`` (verbatim); speakers by ``Turn.speaker``, with
  empty metadata.

Not carried by the format, and so written into an ``mmdial`` entry (see :mod:`._carry`): per utterance (in its
``meta``), what of the turn would not come back: the role (ConvoKit has none: the reader numbers speakers
``speaker_a``, ``speaker_b`` ... by first appearance), acts, emotion, intent, state, knowledge, images, and a
``convokit`` turn's ``extra`` entries a line cannot hold; per conversation (in its ``meta``), the unified
``dialogue_id``, ``source`` and ``split`` (ConvoKit has no splits: the reader gives ``full``) where they differ,
and a ``convokit`` dialogue's meta entries that would not come back (a speaker entry or corpus metadata that
differs from the first dialogue's). Read back, they land in ``extra["meta"]["mmdial"]`` and
``meta["conversation"]["meta"]["mmdial"]``. Not kept: ``meta["corpus_name"]`` (reads back as the name of
``out``) and ``meta["field_names"]`` (the written corpus uses ConvoKit's current ``speaker``/``conversation_id``),
and ``schema_version``. A turn with empty
text is a text-less utterance, which the reader keeps in ``meta["utterances_without_text"]``.

Example:
    >>> import tempfile, pathlib
    >>> from mmdial_data import Dialogue, Turn, read_source
    >>> d = Dialogue("mine/train/7", "mine", "train", [Turn(0, "ann", "user", "hi"), Turn(1, "bo", "system", "yo")])
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "corpus"
    >>> export_convokit([d], out)
    {'conversations': 1, 'utterances': 2, 'speakers': 2}
    >>> back = next(read_source("convokit", out))
    >>> back.dialogue_id, [t.annotations.extra["reply-to"] for t in back.turns]
    ('convokit/full/mine/train/7', [None, 'mine/train/7/0'])
    >>> back.meta["conversation"]["meta"]["mmdial"]["split"], back.turns[0].annotations.extra["meta"]["mmdial"]
    ('train', {'role': 'user'})
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable
from typing import Any

from mmdial_data.exports._carry import CARRY_KEY, dialogue_loss, iter_dialogues, meta_loss, turn_loss
from mmdial_data.readers import convokit as reader
from mmdial_data.schema import Annotations, Dialogue, Turn

#: The utterance fields ConvoKit's loader requires, with the defaults written where a turn has none.
REQUIRED: dict[str, Any] = {"meta": {}, "reply-to": None, "timestamp": None}
_READER_DERIVED = ("corpus_name", "field_names")


def export_convokit(
    data: Iterable[Dialogue] | str | os.PathLike[str], out: str | os.PathLike[str], *, overwrite: bool = False
) -> dict[str, int]:
    """Write dialogues as one ConvoKit corpus folder ``out`` (atomically); returns conversations, utterances and
    speakers written.

    Args:
        data: Dialogues, or a build folder, Parquet shard folder or unified ``.parquet``/``.jsonl`` file.
        out: The corpus folder (new or empty, or ``overwrite``).
        overwrite: Replace an existing ``out``.

    Raises:
        OutputError: ``out`` exists (without ``overwrite``) or cannot be a folder.
        ValueError: No dialogue at all, or two conversations or utterances with one id.
    """
    from mmdial_data.outputs import check_output, staged

    check_output(out, kind="dir", overwrite=overwrite)
    dialogues = list(iter_dialogues(data))
    if not dialogues:
        raise ValueError(f"{os.fspath(data) if isinstance(data, (str, os.PathLike)) else 'input'}: no dialogues")
    native = [d for d in dialogues if d.source == reader.SOURCE]
    corpus: dict[str, Any] = next((d.meta["corpus"] for d in native if isinstance(d.meta.get("corpus"), dict)), {})
    index: dict[str, Any] = next((d.meta["index"] for d in native if isinstance(d.meta.get("index"), dict)), {})
    speakers: dict[str, Any] = {}
    for d in native:
        for sid, entry in (d.meta.get("speakers") or {}).items():
            speakers.setdefault(str(sid), entry)
    conversations: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    ids: set[str] = set()
    for d in dialogues:
        cid, conversation, mine = _conversation(d)
        if cid in conversations:
            raise ValueError(f"conversation id {cid!r} used by two dialogues ({d.dialogue_id})")
        for line in mine:
            if str(line["id"]) in ids:
                raise ValueError(f"utterance id {line['id']!r} used twice ({d.dialogue_id})")
            ids.add(str(line["id"]))
            speakers.setdefault(str(line["speaker"]), {"meta": {}, "vectors": []})
        conversations[cid] = conversation
        lines += mine
    for d in dialogues:
        _carry_dialogue(d, conversations, speakers, corpus, index)
    if not index or len(native) < len(dialogues):  # the corpus's own index stands for its own utterances
        index = build_index(lines, conversations, speakers, corpus, index)
    with staged(out, kind="dir", overwrite=overwrite) as tmp:
        with (tmp / reader.UTTERANCES).open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        for name, value in (
            ("conversations.json", conversations),
            ("speakers.json", speakers),
            ("corpus.json", corpus),
            ("index.json", index),
        ):
            (tmp / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return {"conversations": len(conversations), "utterances": len(lines), "speakers": len(speakers)}


def _line(t: Turn, cid: str, uid: Any, previous: Any, native: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"id": uid, "conversation_id": cid, "text": t.text, "speaker": t.speaker}
    extra = t.annotations.extra
    if native:
        line.update({k: v for k, v in extra.items() if k not in ("id", *reader._COLUMN_KEYS)})
        for k, v in REQUIRED.items():
            if k not in line and not (k == "reply-to" and "reply_to" in line):
                line[k] = copy.deepcopy(v)
    else:
        line.update({"meta": dict(extra), "reply-to": previous, "timestamp": None, "vectors": []})
    return line


def _conversation(d: Dialogue) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    native = d.source == reader.SOURCE
    cid = str(d.meta.get("conversation_id", d.dialogue_id)) if native else d.dialogue_id
    lines: list[dict[str, Any]] = []
    untexted = d.meta.get("utterances_without_text") if native else None
    if isinstance(untexted, list):
        for u in untexted:
            if isinstance(u, dict) and "id" in u:
                lines.append({"id": u["id"], "conversation_id": cid, **{k: v for k, v in u.items() if k != "id"}})
    previous: Any = None
    roles: dict[str, str] = {}
    for t in d.turns:
        uid = t.annotations.extra.get("id", f"{cid}/{t.turn_index}") if native else f"{d.dialogue_id}/{t.turn_index}"
        line = _line(t, cid, uid, previous, native)
        role = roles.setdefault(t.speaker, reader._role(len(roles))) if t.text.strip() else t.role
        got = Turn(t.turn_index, t.speaker, role, t.text, annotations=Annotations(extra=_extra(line)))
        lost = turn_loss(t, got if t.text.strip() else None)
        if not native:
            lost.pop("extra", None)  # the whole extra is the utterance's meta
        if lost:
            _put(line, lost)
        lines.append(line)
        previous = uid
    entry = d.meta.get("conversation") if native else None
    if not isinstance(entry, dict):
        entry = {"meta": {} if native else dict(d.meta), "vectors": []}
    return cid, copy.deepcopy(entry), lines


def _extra(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k not in reader._COLUMN_KEYS}


def _put(line: dict[str, Any], lost: dict[str, Any]) -> None:
    """``lost`` into the utterance's ``meta["mmdial"]`` (at the top of the line where ``meta`` is no object)."""
    meta = line.get("meta")
    target = meta if isinstance(meta, dict) else line
    if CARRY_KEY in target:  # a record of an earlier export: kept inside this one
        lost["before"] = target[CARRY_KEY]
    target[CARRY_KEY] = lost


def _carry_dialogue(
    d: Dialogue,
    conversations: dict[str, Any],
    speakers: dict[str, Any],
    corpus: dict[str, Any],
    index: dict[str, Any],
) -> None:
    native = d.source == reader.SOURCE
    cid = str(d.meta.get("conversation_id", d.dialogue_id)) if native else d.dialogue_id
    entry = conversations[cid]
    lost_meta: dict[str, Any] = {}
    if native:
        taking_part = dict.fromkeys(str(t.speaker) for t in d.turns)
        for u in d.meta.get("utterances_without_text") or []:
            if isinstance(u, dict) and "speaker" in u:
                taking_part[str(u["speaker"])] = None
        view = {
            "conversation_id": cid,
            "conversation": entry,
            "speakers": {s: speakers[s] for s in taking_part if s in speakers},
            "corpus": corpus,
            "index": index,
            "utterances_without_text": d.meta.get("utterances_without_text"),
        }
        lost_meta = meta_loss(d.meta, view, ignore=_READER_DERIVED)
        if "speakers" in lost_meta:  # only the entries that differ
            view_speakers = view["speakers"]
            lost_meta["speakers"] = {
                s: e for s, e in lost_meta["speakers"].items() if view_speakers.get(s) != e
            } or lost_meta["speakers"]
    lost = dialogue_loss(d, f"{reader.SOURCE}/{reader.DEFAULT_SPLIT}/{cid}", reader.SOURCE, lost_meta)
    if d.split != reader.DEFAULT_SPLIT:
        lost["split"] = d.split
    if not native and CARRY_KEY in d.meta:
        lost.setdefault("meta", {})[CARRY_KEY] = d.meta[CARRY_KEY]
    if lost:
        meta = entry.setdefault("meta", {}) if isinstance(entry.get("meta", {}), dict) else entry
        if CARRY_KEY in meta:
            lost["before"] = meta[CARRY_KEY]
        meta[CARRY_KEY] = lost


def _type_name(value: Any) -> str:
    return str(type(value))


def build_index(
    lines: list[dict[str, Any]],
    conversations: dict[str, Any],
    speakers: dict[str, Any],
    corpus: dict[str, Any],
    start: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """ConvoKit's ``index.json``: the type of every metadata field (``start``'s entries kept, missing ones added).

    >>> build_index([{"meta": {"score": 3}}], {"c": {"meta": {"title": "t"}}}, {"s": {"meta": {}}}, {"n": 1})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'utterances-index': {'score': ["<class 'int'>"]}, 'speakers-index': {},
     'conversations-index': {'title': ["<class 'str'>"]}, 'overall-index': {'n': ["<class 'int'>"]},
     'version': 1, 'vectors': []}
    """
    index: dict[str, Any] = copy.deepcopy(start) if isinstance(start, dict) else {}
    parts = (
        ("utterances-index", [line.get("meta") for line in lines]),
        ("speakers-index", [e.get("meta", e) if isinstance(e, dict) else None for e in speakers.values()]),
        ("conversations-index", [e.get("meta", e) if isinstance(e, dict) else None for e in conversations.values()]),
        ("overall-index", [corpus]),
    )
    for key, metas in parts:
        table = index.setdefault(key, {})
        seen: dict[str, Any] = {}
        for meta in metas:
            for field, value in (meta or {}).items() if isinstance(meta, dict) else ():
                if field not in seen or (seen[field] is None and value is not None):
                    seen[field] = value
        for field, value in seen.items():
            table.setdefault(field, [_type_name(value)])
    index.setdefault("version", 1)
    index.setdefault("vectors", [])
    return index
