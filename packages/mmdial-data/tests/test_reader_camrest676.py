"""CamRest676 reader on the real NNDIAL slice (the ``#`` banner and the first 40 dialogues of CamRest676.json,
the whole db/CamRest.json). Counts are computed here from the raw file (banner stripped by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.readers.camrest676 import read_camrest_db
from mmdial_data.testing import assert_fields_covered, samples_dir

#: ``slu`` is mapped onto dialogue acts and state (kept verbatim only when irregular).
MAPPED = {"slu": "Annotations.dialogue_acts / state"}


def _file() -> Path:
    return samples_dir("camrest676") / "data" / "CamRest676.json"


def _raw() -> tuple[str, list[dict]]:
    text = _file().read_text(encoding="utf-8")
    start = text.index("\n[")  # the list starts on the first line after the banner
    return text[:start], json.loads(text[start:])


@pytest.mark.samples
def test_sample_counts() -> None:
    banner, raw = _raw()
    dialogues = list(read_source("camrest676", samples_dir("camrest676")))
    assert len(dialogues) == len(raw) == 40
    exchanges = [x for d in raw for x in d["dial"]]
    turns = [t for d in dialogues for t in d.turns]
    assert len(turns) == 2 * len(exchanges) == 328
    assert sum(t.role == "user" for t in turns) == sum(t.role == "system" for t in turns) == len(exchanges)
    n_acts = sum(len(e["slots"]) for x in exchanges for e in x["usr"]["slu"])
    assert sum(len(t.annotations.dialogue_acts) for t in turns) == n_acts == 441
    n_state = sum(len({e["slots"][0][0] for e in x["usr"]["slu"] if e["act"] == "inform"}) for x in exchanges)
    assert sum(len(t.annotations.state) for t in turns) == n_state
    n_da = sum(len(x["sys"]["DA"]) for x in exchanges)
    assert sum(len(t.annotations.extra.get("DA", [])) for t in turns) == n_da == 40
    assert all(d.meta["file_comment"] == banner for d in dialogues)


@pytest.mark.samples
def test_sample_spot_checks() -> None:
    dialogues = list(read_source("camrest676", _file()))
    first = dialogues[0]
    assert (first.dialogue_id, first.split) == ("camrest676/full/0", "full")
    assert first.meta["goal"]["constraints"] == [["pricerange", "expensive"], ["area", "south"]]
    assert first.meta["finished"] is True and first.meta["db_file"] == "../db/CamRest.json"
    assert "Copyright Tsung-Hsien Wen" in first.meta["file_comment"]
    u0, s0, u1 = first.turns[:3]
    assert (u0.speaker, u0.role) == ("usr", "user")
    assert u0.text == "I need to find an expensive restauant that's in the south section of the city."
    assert [(a.act, a.slot, a.values) for a in u0.annotations.dialogue_acts] == [
        ("inform", "pricerange", ["expensive"]),
        ("inform", "area", ["south"]),
    ]
    assert (s0.speaker, s0.role, s0.annotations.extra) == ("sys", "system", {"turn": 0, "DA": ["food"]})
    assert u1.annotations.state == {"pricerange": ["expensive"], "food": ["dontcare"], "area": ["south"]}
    u2 = first.turns[4]
    assert u2.text == "What is their address?"
    assert [(a.act, a.slot, a.values) for a in u2.annotations.dialogue_acts if a.act == "request"] == [
        ("request", "address", [])
    ]
    assert sum(not d.meta["finished"] for d in dialogues) == 1


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    _, raw = _raw()
    for d, source in zip(read_source("camrest676", _file()), raw, strict=True):
        # a request names its slot as ["slot", <name>]: the constant "slot" is the format's marker, not data
        markers = [
            f"$.dial[{i}].usr.slu[{j}].slots[{k}][0]"
            for i, x in enumerate(source["dial"])
            for j, e in enumerate(x["usr"]["slu"])
            for k, pair in enumerate(e["slots"])
            if e["act"] == "request" and pair[0] == "slot"
        ]
        assert_fields_covered(source, d, mapped=MAPPED, ignore=markers)


@pytest.mark.samples
def test_db_and_other_formats_are_refused() -> None:
    db_path = samples_dir("camrest676") / "db" / "CamRest.json"
    db = read_camrest_db(db_path)
    text = db_path.read_text(encoding="utf-8")
    assert len(db) == len(json.loads(text[text.index("\n[") :])) == 110
    with pytest.raises(SourceFormatError, match=r"CamRest\.json, item 0: .*restaurant DB"):
        list(read_source("camrest676", db_path, on_error="skip"))
    woz = samples_dir("woz2.0") / "data" / "woz" / "woz_train_en.json"
    with pytest.raises(SourceFormatError, match=r"woz_train_en\.json, dialogue 0: not CamRest676"):
        list(read_source("camrest676", woz))
    schema = samples_dir("multiwoz22") / "data" / "MultiWOZ_2.2" / "schema.json"
    with pytest.raises(SourceFormatError, match=r"schema\.json, dialogue 0: not CamRest676"):
        list(read_source("camrest676", schema))


@pytest.mark.samples
def test_malformed_dialogue_and_truncated_file(tmp_path: Path) -> None:
    banner, raw = _raw()
    raw[3]["dial"][2]["sys"]["sent"] = " "
    bad = tmp_path / "CamRest676_test.json"
    bad.write_text(banner + "\n" + json.dumps(raw), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"CamRest676_test\.json, dialogue 3 \(dialogue_id 3\), exchange 2"):
        list(read_source("camrest676", bad))
    policy = ErrorPolicy("skip")
    got = list(read_source("camrest676", bad, on_error=policy))
    assert len(got) == 39 and {d.split for d in got} == {"test"}
    assert [s.record for s in policy.skipped] == ["dialogue 3 (dialogue_id 3), exchange 2"]
    text = _file().read_text(encoding="utf-8")
    cut = tmp_path / "CamRest676.json"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"CamRest676\.json, line \d+ column \d+: malformed JSON"):
        list(read_source("camrest676", tmp_path))
