"""LoCoMo reader (Maharana et al., 2024; ``locomo10.json``): very long multi-session conversations.

A JSON list of samples ``{"qa", "conversation", "event_summary", "observation", "session_summary",
"sample_id"}``; one sample is one dialogue (``locomo/<split>/<sample_id>``, split ``test`` by default: LoCoMo
is an evaluation set). ``conversation`` holds ``speaker_a``/``speaker_b`` (names) and, for N = 1..k,
``session_N`` (turns) and ``session_N_date_time``; session keys are discovered by pattern and read in numeric
order. Turns of all sessions are concatenated; each keeps ``dia_id`` and ``session`` in ``extra``, and its
speaker name (role ``speaker_a``/``speaker_b`` by the conversation's names). Image-sharing turns keep their
text and get one :class:`ImageRef` per URL in ``img_url`` (``uri`` is the URL, ``caption`` the BLIP caption,
level ``turn``); ``query`` and ``re-download`` go to ``extra``. Session date/times, the QA items, event
summaries, observations and session summaries are kept verbatim in ``meta``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from mmdial_data.errors import ErrorPolicy, SourceFormatError
from mmdial_data.readers._common import build_or_report, expect, iter_json_array, json_files
from mmdial_data.schema import Annotations, Dialogue, ImageRef, Turn

SOURCE = "locomo"
LICENSE = "CC BY-NC 4.0"
CITATION = "Maharana et al. 2024, Evaluating Very Long-Term Conversational Memory of LLM Agents, ACL"
_SESSION = re.compile(r"^session_(\d+)$")
_SESSION_DATE = re.compile(r"^session_(\d+)_date_time$")
_TURN_COLUMNS = {"speaker", "text", "img_url", "blip_caption"}
_SAMPLE_META = ("qa", "event_summary", "observation", "session_summary")


def read_locomo(path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]:
    """Yield LoCoMo conversations (one dialogue per sample) from ``locomo10.json`` or a folder of such files.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> d = next(read_locomo(demo_dir() / "locomo", split=None, policy=ErrorPolicy()))
        >>> d.dialogue_id, d.turns[4].images[0].uri, d.meta["session_date_times"]["2"]
        ('locomo/test/conv-900', 'https://example.org/img/lake.jpg', '9:00 am on 3 June, 2023')
    """
    split_name = split or "test"
    for file in json_files(path):
        try:
            for index, raw in iter_json_array(file):
                record = f"sample {index} ({raw.get('sample_id', '?') if isinstance(raw, dict) else '?'})"
                dialogue = build_or_report(
                    partial(_dialogue, raw, split_name, file, record), policy, path=file, record=record
                )
                if dialogue is not None:
                    yield dialogue
        except SourceFormatError as exc:
            policy.handle(exc)


def _dialogue(raw: dict[str, Any], split: str, file: Path, record: str) -> Dialogue:
    expect(isinstance(raw, dict) and "sample_id" in raw, "missing sample_id", path=file, record=record)
    conv = raw.get("conversation")
    expect(isinstance(conv, dict), "missing 'conversation' object", path=file, record=record)
    assert isinstance(conv, dict)  # for the type checker: expect() raised otherwise
    names = {conv.get("speaker_a"): "speaker_a", conv.get("speaker_b"): "speaker_b"}
    sessions: dict[int, list[Any]] = {}
    dates: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for key, value in conv.items():
        if m := _SESSION.match(key):
            expect(isinstance(value, list), f"{key} must be a list of turns", path=file, record=record)
            sessions[int(m.group(1))] = value
        elif m := _SESSION_DATE.match(key):
            dates[m.group(1)] = value
        elif key not in ("speaker_a", "speaker_b"):
            other[key] = value
    turns: list[Turn] = []
    for n in sorted(sessions):
        for j, t in enumerate(sessions[n]):
            where = f"{record}, session_{n} turn {j}"
            expect(isinstance(t, dict) and isinstance(t.get("text"), str), "turn without text", path=file, record=where)
            speaker = t.get("speaker")
            expect(speaker in names, f"speaker {speaker!r} is neither speaker_a nor speaker_b", path=file, record=where)
            extra: dict[str, Any] = {"session": n}
            extra.update({k: v for k, v in t.items() if k not in _TURN_COLUMNS})
            images = []
            urls = t.get("img_url")
            if urls is not None:
                if isinstance(urls, str):
                    urls = [urls]
                expect(isinstance(urls, list) and bool(urls), "img_url must be a list of URLs", path=file, record=where)
                dia_id = t.get("dia_id", f"D{n}:{j + 1}")
                for k, url in enumerate(urls):
                    images.append(
                        ImageRef(
                            f"{raw['sample_id']}/{dia_id}/{k}", url, SOURCE, caption=t.get("blip_caption"), level="turn"
                        )
                    )
            elif "blip_caption" in t:
                extra["blip_caption"] = t["blip_caption"]
            turns.append(Turn(len(turns), speaker, names[speaker], t["text"], images, Annotations(extra=extra)))
    expect(bool(turns), "conversation has no session turns", path=file, record=record)
    meta: dict[str, Any] = {
        "sample_id": raw["sample_id"],
        "speaker_a": conv.get("speaker_a"),
        "speaker_b": conv.get("speaker_b"),
        "sessions": sorted(sessions),
        "session_date_times": dates,
    }
    if other:
        meta["conversation_fields"] = other
    for key in _SAMPLE_META:
        if key in raw:
            meta[key] = raw[key]
    rest = {k: v for k, v in raw.items() if k not in (*_SAMPLE_META, "conversation", "sample_id")}
    if rest:
        meta["source_fields"] = rest
    return Dialogue(f"{SOURCE}/{split}/{raw['sample_id']}", SOURCE, split, turns, meta)
