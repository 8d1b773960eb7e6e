"""Generic ``folder`` reader: turn-per-row JSONL/CSV with a column mapping (the project's own format,
documented in ``mmdial_data.readers.folder``)."""

from __future__ import annotations

import json

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import assert_fields_covered, demo_dir

FOLDER = demo_dir() / "folder"
MAPPED = {"utterance": "Turn.text", "photo": "ImageRef.uri"}


def test_jsonl_with_mapping_file() -> None:
    rows = [json.loads(line) for line in (FOLDER / "chat.jsonl").read_text().splitlines()]
    dialogues = list(read_source("folder", FOLDER))
    assert [d.dialogue_id for d in dialogues] == ["mychat/train/c1", "mychat/train/c2"]
    assert [len(d.turns) for d in dialogues] == [3, 2]
    d = dialogues[0]
    assert d.turns[1].text == "" and d.turns[1].images[0].caption == "a chocolate cake"
    assert d.turns[0].annotations.extra == {"mood": "happy"} and d.meta["topic"] == "baking"
    assert [t.speaker for t in d.turns] == ["ana", "ana", "ben"]
    for d in dialogues:
        source = [r for r in rows if f"mychat/train/{r['conv']}" == d.dialogue_id]
        assert_fields_covered(source, d, mapped=MAPPED)


def test_csv_with_options_and_turn_order(tmp_path) -> None:
    (tmp_path / "valid.csv").write_text(
        'dlg,idx,spk,utt,label\nd1,1,B,"fine, thanks",joy\nd1,0,A,how are you?,neutral\nd2,0,A,bye,\n'
    )
    options = {
        "columns": {"dialogue_id": "dlg", "turn_index": "idx", "speaker": "spk", "text": "utt", "emotion": "label"},
        "source": "csvchat",
    }
    dialogues = list(read_source("folder", tmp_path / "valid.csv", options=options))
    assert [d.dialogue_id for d in dialogues] == ["csvchat/validation/d1", "csvchat/validation/d2"]
    assert [t.text for t in dialogues[0].turns] == ["how are you?", "fine, thanks"]
    assert [t.role for t in dialogues[0].turns] == ["speaker_a", "speaker_b"]
    assert [t.annotations.emotion for t in dialogues[0].turns] == ["neutral", "joy"]


def test_errors(tmp_path) -> None:
    (tmp_path / "columns.yaml").write_text((FOLDER / "columns.yaml").read_text())
    lines = (FOLDER / "chat.jsonl").read_text().splitlines()
    (tmp_path / "chat.jsonl").write_text("\n".join([lines[0], lines[1][:30], *lines[2:]]) + "\n")
    with pytest.raises(SourceFormatError, match=r"chat\.jsonl, line 2: malformed JSON"):
        list(read_source("folder", tmp_path))
    (tmp_path / "chat.jsonl").write_text("\n".join([lines[0], lines[3], lines[1]]) + "\n")
    with pytest.raises(SourceFormatError, match=r"line 3: dialogue 'c1' continues after other rows"):
        list(read_source("folder", tmp_path))
    policy = ErrorPolicy("skip")
    # streaming: the rows of c1 before the interruption were already a dialogue; the stray row is reported
    got = [d.dialogue_id for d in read_source("folder", tmp_path, on_error=policy)]
    assert got == ["mychat/train/c1", "mychat/train/c2"]
    assert [s.record for s in policy.skipped] == ["line 3"]
    with pytest.raises(SourceFormatError, match="unknown fields in the column mapping"):
        list(read_source("folder", tmp_path, options={"columns": {"txt": "x"}}))
