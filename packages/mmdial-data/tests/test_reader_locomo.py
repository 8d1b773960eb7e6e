"""LoCoMo reader: the real locomo10.json slice and a hand-written demo in the same format."""

from __future__ import annotations

import json
import re

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir

MAPPED = {"img_url": "ImageRef.uri", "blip_caption": "ImageRef.caption"}


def _session_turns(sample):
    conv = sample["conversation"]
    keys = sorted((k for k in conv if re.fullmatch(r"session_\d+", k)), key=lambda k: int(k.split("_")[1]))
    return [t for k in keys for t in conv[k]]


@pytest.mark.samples
def test_sample_counts_and_spot_checks() -> None:
    path = samples_dir("locomo") / "locomo10.json"
    raw = json.loads(path.read_text())
    dialogues = list(read_source("locomo", path))
    assert [d.dialogue_id for d in dialogues] == ["locomo/test/conv-26", "locomo/test/conv-30"]
    assert [len(d.turns) for d in dialogues] == [len(_session_turns(s)) for s in raw]
    assert sum(len(d.meta["sessions"]) for d in dialogues) == 38
    image_turns = [t for d in dialogues for t in d.turns if t.images]
    assert len(image_turns) == sum(1 for s in raw for t in _session_turns(s) if "img_url" in t) == 107
    t = dialogues[0].turns[4]
    assert t.annotations.extra["dia_id"] == "D1:5" and t.text.startswith("The transgender stories were so inspiring!")
    assert t.images[0].uri == "https://i.redd.it/l7hozpetnhlb1.jpg"
    assert t.images[0].caption == "a photo of a dog walking past a wall with a painting of a woman"
    assert t.annotations.extra["query"] == "transgender pride flag mural"
    assert (t.speaker, t.role) == ("Caroline", "speaker_a")
    assert dialogues[0].meta["session_date_times"]["1"] == "1:56 pm on 8 May, 2023"
    assert len(dialogues[0].meta["qa"]) == len(raw[0]["qa"])
    assert dialogues[0].meta["event_summary"] == raw[0]["event_summary"]


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    path = samples_dir("locomo") / "locomo10.json"
    for d, source in zip(read_source("locomo", path), json.loads(path.read_text()), strict=True):
        assert_fields_covered(source, d, mapped=MAPPED)


def test_demo_and_coverage() -> None:
    # Written by hand from the LoCoMo README (snap-research/LoCoMo, "Data" section: locomo10.json fields).
    path = demo_dir() / "locomo" / "locomo10.json"
    (d,) = read_source("locomo", path)
    assert [t.annotations.extra["session"] for t in d.turns] == [1, 1, 1, 2, 2]
    assert [i.uri for i in d.turns[4].images] == [
        "https://example.org/img/lake.jpg",
        "https://example.org/img/lake2.jpg",
    ]
    assert d.turns[4].annotations.extra["re-download"] is True
    assert d.meta["qa"][1]["answer"] == 2
    assert_fields_covered(json.loads(path.read_text())[0], d, mapped=MAPPED)


def test_errors_name_file_and_record(tmp_path) -> None:
    raw = json.loads((demo_dir() / "locomo" / "locomo10.json").read_text())
    raw[0]["conversation"]["session_2"][0]["speaker"] = "Carl"
    path = tmp_path / "locomo10.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(SourceFormatError, match=r"sample 0 \(conv-900\), session_2 turn 0: speaker 'Carl'"):
        list(read_source("locomo", path))
    policy = ErrorPolicy("skip")
    assert list(read_source("locomo", path, on_error=policy)) == [] and len(policy.skipped) == 1
    path.write_text(json.dumps(raw)[:300])
    with pytest.raises(SourceFormatError, match=r"locomo10\.json, (item 0|line)"):
        list(read_source("locomo", path))
