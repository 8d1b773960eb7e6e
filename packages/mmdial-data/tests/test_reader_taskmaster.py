"""Taskmaster reader on the real samples of all four releases: TM-1's own ``sample.json`` (one conversation object)
with its dev/test id lists, DialogStudio's 5-conversation ``original_examples.json`` of TM-1 and TM-3, and the
first 35 conversations of TM-4's ``data_00.json``. Counts are computed here from the raw JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, samples_dir

_DS = Path("dialogstudio") / "task-oriented-dialogues"
CASES = [  # (sample folder, file, release, dialogues, turns)
    ("taskmaster1", Path("TM-1-2019") / "sample.json", "TM-1", 1, 20),
    ("taskmaster1", _DS / "Taskmaster1" / "original_examples.json", "TM-1", 5, 118),
    ("taskmaster3", _DS / "Taskmaster3" / "original_examples.json", "TM-3", 5, 90),
    ("taskmaster4", Path("TM-4-2024") / "data" / "data_00.json", "TM-4", 35, 131),
]


def _raw(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [data] if isinstance(data, dict) else data


@pytest.mark.samples
@pytest.mark.parametrize(("folder", "name", "corpus", "n_dialogues", "n_turns"), CASES)
def test_sample_counts(folder: str, name: Path, corpus: str, n_dialogues: int, n_turns: int) -> None:
    path = samples_dir(folder) / name
    raw = _raw(path)
    dialogues = list(read_source("taskmaster", path))
    assert len(dialogues) == len(raw) == n_dialogues
    turns = [t for d in dialogues for t in d.turns]
    utterances = [u for x in raw for u in x["utterances"]]
    assert len(turns) == len(utterances) == n_turns
    assert [d.dialogue_id.rsplit("/", 1)[1] for d in dialogues] == [x["conversation_id"] for x in raw]
    assert {d.meta["corpus"] for d in dialogues} == {corpus}
    assert sum(t.role == "user" for t in turns) == sum(u["speaker"].lower() == "user" for u in utterances)
    n_segments = sum(len(u.get("segments", [])) for u in utterances)
    assert sum(len(t.annotations.extra.get("segments", [])) for t in turns) == n_segments
    n_labels = sum(len(s["annotations"]) for u in utterances for s in u.get("segments", []))
    assert sum(len(s["annotations"]) for t in turns for s in t.annotations.extra.get("segments", [])) == n_labels
    n_apis = sum(len(u.get("apis", [])) for u in utterances)
    assert sum(len(t.annotations.extra.get("apis", [])) for t in turns) == n_apis
    n_tm4 = sum(len(u.get("annotations", [])) for u in utterances)
    assert sum(len(t.annotations.extra.get("annotations", [])) for t in turns) == n_tm4
    for d, source in zip(dialogues, raw, strict=True):
        assert_fields_covered(source, d)


@pytest.mark.samples
def test_tm1_sample_splits_and_spans() -> None:
    folder = samples_dir("taskmaster1") / "TM-1-2019"
    (d,) = list(read_source("taskmaster", folder))  # sample.json; ontology.json is skipped
    assert d.dialogue_id == "taskmaster/validation/dlg-00055f4e-4a46-48bf-8d99-4e477663eb23"  # listed in dev.csv
    assert d.split == "validation" and d.meta["instruction_id"] == "restaurant-table-2"
    t0, t1, t2 = d.turns[:3]
    assert (t0.speaker, t0.role, t0.text) == ("USER", "user", "Hi, I'm looking to book a table for Korean food.")
    assert (t1.speaker, t1.role) == ("ASSISTANT", "system")
    span = t2.annotations.extra["segments"][1]
    assert span["text"] == "Southern NYC" == t2.text[span["start_index"] : span["end_index"]]
    assert span["annotations"] == [{"name": "restaurant_reservation.location.restaurant.accept"}]
    ds = samples_dir("taskmaster1") / _DS / "Taskmaster1"
    assert {x.split for x in read_source("taskmaster", ds)} == {"full"}  # no id lists beside it


@pytest.mark.samples
def test_tm3_apis_and_tm4_annotations() -> None:
    tm3 = list(read_source("taskmaster", samples_dir("taskmaster3") / _DS / "Taskmaster3"))
    first = tm3[0]
    assert first.meta["vertical"] == "Movie Tickets" and first.meta["source_fields"] == {"filename": "data_00"}
    assert first.meta["scenario"] == "Auto template 1 with theater name error"
    with_apis = [t for d in tm3 for t in d.turns if "apis" in t.annotations.extra]
    assert (with_apis[0].text, with_apis[0].annotations.extra["index"]) == ("yes", 6)
    call = with_apis[0].annotations.extra["apis"][0]
    assert call["name"] == "find_movies" and call["response"] == {"name.movie_1": "No Time To Die"}
    assert call["args"] == {"name.genre": "action", "name.theater": "AMC Mountain 16"}
    tm4 = list(read_source("taskmaster", samples_dir("taskmaster4")))
    assert tm4[0].dialogue_id == "taskmaster/full/dlg-881444f3-24fc-4e54-ac61-2196f60e88fa"
    assert tm4[0].meta["vertical"] == "Coffee" and tm4[0].meta["instructions"] is None
    u0 = tm4[0].turns[0]
    assert u0.text == "one Chai Latte please"
    assert u0.annotations.extra["annotations"][0] == {
        "name": "api_call",
        "value": "get_menu_items",
        "context": "api_call_0",
    }
    assert {t.speaker for d in tm4 for t in d.turns} == {"user", "assistant"}


@pytest.mark.samples
def test_other_formats_are_refused() -> None:
    ontology = samples_dir("taskmaster2") / "TM-2-2020" / "ontology" / "hotels.json"
    with pytest.raises(SourceFormatError, match=r"hotels\.json, top level: not Taskmaster"):
        list(read_source("taskmaster", ontology, on_error="skip"))
    with pytest.raises(SourceFormatError, match=r"taskmaster2: no Taskmaster conversation"):
        list(read_source("taskmaster", samples_dir("taskmaster2")))  # only ontology files there
    reward = samples_dir("taskmaster3") / "TM-3-2020" / "reward" / "reward_00.json"
    with pytest.raises(SourceFormatError, match=r"reward_00\.json, conversation 0: not Taskmaster"):
        list(read_source("taskmaster", reward))
    kvret = samples_dir("kvret") / "data" / "KVR" / "kvret_dev_public.json"
    with pytest.raises(SourceFormatError, match=r"kvret_dev_public\.json, conversation 0: not Taskmaster"):
        list(read_source("taskmaster", kvret))


@pytest.mark.samples
def test_malformed_conversation_is_skipped_and_named(tmp_path: Path) -> None:
    raw = _raw(samples_dir("taskmaster4") / "TM-4-2024" / "data" / "data_00.json")
    raw[2]["utterances"][1]["text"] = ""
    bad = tmp_path / "data_00.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    cid = raw[2]["conversation_id"]
    with pytest.raises(SourceFormatError, match=rf"data_00\.json, conversation 2 \({cid}\), utterance 1: empty"):
        list(read_source("taskmaster", bad))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("taskmaster", bad, on_error=policy))) == 34
    assert [s.record for s in policy.skipped] == [f"conversation 2 ({cid}), utterance 1"]
