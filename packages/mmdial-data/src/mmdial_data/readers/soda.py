"""SODA (Kim et al., EMNLP 2023: million-scale social dialogues distilled from InstructGPT) reader.

Input: a JSON list of SODA records (DialogStudio's ``original_examples.json``, or any ``.json`` list), a JSON Lines
file (``.jsonl``, one record per line), or a folder of such files (``*.json`` and ``*.jsonl``). Licence: CC BY 4.0
(AllenAI's release; DialogStudio's copy states none).

A record is ``{"head", "relation", "tail", "literal", "narrative", "dialogue": [utterance, ...],
"speakers": [name, ...], "PersonX", "PersonY", "PersonZ", "original_index", "split", "head_answer",
"pmi_head_answer", "relation_tail_answer", "pmi_relation_tail_answer"}``. Mapping:

- ``dialogue[i]`` spoken by ``speakers[i]`` -> turn ``i`` with that name as speaker; roles ``speaker_a``,
  ``speaker_b``, ``speaker_c`` ... in order of first appearance. The two lists must have the same length.
- ``relation == "xReact"``: the ``tail`` is PersonX's emotional reaction to the ``head`` event, so it also becomes
  ``annotations.emotion`` of PersonX's turns (the experiencer; SODA's emotion labels).
- Every field but ``dialogue``, ``speakers`` and ``split`` (the knowledge triple, literal, narrative, the
  PersonX/Y/Z names, ``original_index``, the commonsense-validation answers, anything else) -> ``meta`` under its
  own key; ``meta["index"]`` is the record's 0-based position in its file.

Splits: the record's ``split`` field (SODA's ``train``/``valid``/``test``; ``valid`` becomes ``validation``:
``read_source`` gives the canonical name of :mod:`mmdial_data.splits`), else a split token of the file name, else
``train``; the ``split`` argument overrides both. Dialogue ids: ``soda/<split>/<original_index>`` (the record's
position in the file when it has no ``original_index``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, infer_split, iter_lines, load_json
from mmdial_data.schema import Annotations, Dialogue, Turn

SOURCE = "soda"
LICENSE = "CC BY 4.0"
CITATION = "Kim et al. 2023, SODA: Million-scale Dialogue Distillation with Social Commonsense Contextualization, EMNLP"
_TURN_FIELDS = ("dialogue", "speakers", "split")


def read_soda(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield SODA dialogues from a JSON list or JSON Lines file, or from a folder of them.

    Args:
        path: A ``.json`` file holding a list of records, a ``.jsonl`` file, or a folder of such files.
        split: Override the split (default: each record's ``split`` field).
        policy: What to do with a malformed record (raise, or skip and record it).

    Raises:
        SourceFormatError: The file is not SODA (its first record has no ``dialogue`` and ``speakers`` lists),
            or, under ``on_error="raise"``, a record is malformed.

    Example:
        >>> import json, tempfile
        >>> p = Path(tempfile.mkdtemp()) / "soda.json"
        >>> _ = p.write_text(json.dumps([{"head": "PersonX bakes a cake", "relation": "xReact", "tail": "proud",
        ...     "narrative": "Ann baked a cake.", "dialogue": ["I baked a cake!", "Looks great."],
        ...     "speakers": ["Ann", "Bo"], "PersonX": "Ann", "original_index": 7, "split": "valid"}]))
        >>> d = next(read_soda(p, split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, [(t.speaker, t.role) for t in d.turns]
        ('soda/valid/7', [('Ann', 'speaker_a'), ('Bo', 'speaker_b')])
        >>> d.turns[0].annotations.emotion, d.turns[1].annotations.emotion, d.meta["narrative"]
        ('proud', None, 'Ann baked a cake.')
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl"))
        if not files:
            raise SourceFormatError("no SODA *.json or *.jsonl file in this folder", path=path)
    else:
        files = [path]
    for file in files:
        yield from _read_file(file, split, policy)


def _records(file: Path) -> Iterator[tuple[int, str, Any]]:
    """``(index, record name, record)`` of a JSON list or a JSON Lines file; a malformed JSON line comes as a
    :class:`SourceFormatError` in place of the record (so the lines after it can still be read)."""
    if file.suffix == ".jsonl":
        index = 0
        for lineno, line in iter_lines(file):
            if not line.strip():
                continue
            raw: Any
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raw = SourceFormatError(f"malformed JSON ({exc.msg})", path=file, record=f"line {lineno}")
            yield index, f"line {lineno}", raw
            index += 1
        return
    data = load_json(file)
    expect(isinstance(data, list), "not a SODA file: expected a JSON list of records", path=file, record="top level")
    yield from ((index, f"record {index}", raw) for index, raw in enumerate(data))


def _is_soda(raw: Any) -> bool:
    return isinstance(raw, dict) and isinstance(raw.get("dialogue"), list) and isinstance(raw.get("speakers"), list)


def _read_file(file: Path, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    default_split = infer_split(file)
    seen = False
    for index, record, raw in _records(file):
        if not seen:  # the first record decides whether this is a SODA file at all, whatever the policy
            if isinstance(raw, SourceFormatError):
                raise raw
            expect(_is_soda(raw), "not a SODA file: no 'dialogue' and 'speakers' lists", path=file, record=record)
            seen = True
        if isinstance(raw, SourceFormatError):
            policy.handle(raw)
            continue
        dialogue = build_or_report(
            partial(_dialogue, raw, index, split, default_split, file, record), policy, path=file, record=record
        )
        if dialogue is not None:
            yield dialogue
    expect(seen, "not a SODA file: no records", path=file, record="top level")


def _role(n: int) -> str:
    return "speaker_" + (chr(ord("a") + n) if n < 26 else str(n))


def _dialogue(raw: Any, index: int, split: str | None, default_split: str, file: Path, record: str) -> Dialogue:
    expect(_is_soda(raw), "no 'dialogue' and 'speakers' lists", path=file, record=record)
    utterances, speakers = raw["dialogue"], raw["speakers"]
    expect(bool(utterances), "empty 'dialogue'", path=file, record=record)
    expect(
        len(utterances) == len(speakers),
        f"{len(utterances)} utterances but {len(speakers)} speakers",
        path=file,
        record=record,
    )
    record_split = raw.get("split")
    expect(
        record_split is None or (isinstance(record_split, str) and bool(record_split)),
        "'split' is not a non-empty string",
        path=file,
        record=record,
    )
    split_name = split or record_split or default_split
    emotion = raw.get("tail") if raw.get("relation") == "xReact" and isinstance(raw.get("tail"), str) else None
    experiencer = raw.get("PersonX")
    roles: dict[str, str] = {}
    turns = []
    for i, (text, speaker) in enumerate(zip(utterances, speakers, strict=True)):
        expect(isinstance(text, str) and bool(text.strip()), f"utterance {i} is empty", path=file, record=record)
        expect(isinstance(speaker, str) and bool(speaker), f"speaker {i} is empty", path=file, record=record)
        role = roles.setdefault(speaker, _role(len(roles)))
        annotations = Annotations(emotion=emotion if emotion and speaker == experiencer else None)
        turns.append(Turn(i, speaker, role, text, annotations=annotations))
    meta: dict[str, Any] = {"index": index}
    meta.update((k, v) for k, v in raw.items() if k not in _TURN_FIELDS)
    original = raw.get("original_index", index)
    expect(
        isinstance(original, (int, str)) and not isinstance(original, bool) and str(original) != "",
        "'original_index' is not an integer or string",
        path=file,
        record=record,
    )
    return Dialogue(f"{SOURCE}/{split_name}/{original}", SOURCE, split_name, turns, meta)
