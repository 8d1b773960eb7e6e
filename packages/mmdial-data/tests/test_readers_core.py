"""The sgd, dailydialog and personachat readers on the real samples and on malformed inputs.

Expected counts are computed here straight from the source files, independently of the readers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mmdial_data import ErrorPolicy, SourceFormatError, read_source
from mmdial_data.testing import demo_dir, samples_dir
from mmdial_data.validate import validate_dialogue

pytestmark = pytest.mark.samples


# --- Schema-Guided Dialogue ---------------------------------------------------------------------------------


def test_sgd_counts_match_source() -> None:
    folder = samples_dir("schema_guided_dialogue") / "train"
    raw = [d for f in sorted(folder.glob("dialogues_*.json")) for d in json.loads(f.read_text())]
    dialogues = list(read_source("sgd", folder))
    assert len(dialogues) == len(raw) == 38
    assert [d.dialogue_id for d in dialogues] == [f"sgd/train/{r['dialogue_id']}" for r in raw]
    assert sum(len(d.turns) for d in dialogues) == sum(len(r["turns"]) for r in raw)
    n_actions = sum(len(f["actions"]) for r in raw for t in r["turns"] for f in t["frames"])
    assert sum(len(t.annotations.dialogue_acts) for d in dialogues for t in d.turns) == n_actions
    n_spans = sum(len(f["slots"]) for r in raw for t in r["turns"] for f in t["frames"])
    assert sum(len(fr["slots"]) for d in dialogues for t in d.turns for fr in t.annotations.extra["frames"]) == n_spans
    for d in dialogues:
        validate_dialogue(d)


def test_sgd_spot_checks() -> None:
    folder = samples_dir("schema_guided_dialogue") / "train"
    dialogues = {d.dialogue_id: d for d in read_source("sgd", folder)}
    d = dialogues["sgd/train/1_00000"]
    assert d.turns[0].text == "I am feeling hungry so I would like to find a place to eat."
    assert (d.turns[0].speaker, d.turns[0].role) == ("USER", "user")
    assert d.turns[1].role == "system"
    assert d.turns[0].annotations.intent == "FindRestaurants"
    t2 = d.turns[2]
    assert t2.annotations.state == {"Restaurants_1-city": ["San Jose"]}
    span = t2.annotations.extra["frames"][0]["slots"][0]
    assert t2.text[span["start"] : span["exclusive_end"]] == "San Jose"
    assert [s["service_name"] for s in d.meta["schema"]] == ["Restaurants_1"]
    assert d.meta["services"] == ["Restaurants_1"]
    # System turns with a service call keep the call and its results.
    calls = [f for t in d.turns for f in t.annotations.extra["frames"] if "service_call" in f]
    assert calls and calls[0]["service_call"]["method"] == "FindRestaurants" and calls[0]["service_results"]
    multi = dialogues["sgd/train/44_00000"]
    assert len(multi.meta["services"]) == 2
    assert {a.domain for t in multi.turns for a in t.annotations.dialogue_acts} == set(multi.meta["services"])


def test_sgd_truncated_json_names_file_and_position(tmp_path: Path) -> None:
    src = samples_dir("schema_guided_dialogue") / "train" / "dialogues_001.json"
    broken = tmp_path / "train" / "dialogues_001.json"
    broken.parent.mkdir()
    broken.write_text(src.read_text()[:5000])
    with pytest.raises(SourceFormatError, match=r"dialogues_001\.json, line \d+ column \d+: malformed JSON"):
        list(read_source("sgd", broken.parent))


def test_sgd_bad_dialogue_is_skipped_and_reported(tmp_path: Path) -> None:
    data = json.loads((demo_dir() / "sgd" / "train" / "dialogues_001.json").read_text())
    data[0]["turns"][1]["speaker"] = "ROBOT"
    (tmp_path / "dialogues_001.json").write_text(json.dumps(data))
    with pytest.raises(SourceFormatError, match="unknown speaker 'ROBOT'"):
        list(read_source("sgd", tmp_path))
    policy = ErrorPolicy("skip")
    kept = list(read_source("sgd", tmp_path, on_error=policy))
    assert [d.dialogue_id for d in kept] == ["sgd/train/1_00001"]
    assert len(policy.skipped) == 1 and "1_00000" in (policy.skipped[0].record or "")


# --- DailyDialog ----------------------------------------------------------------------------------------------


def test_dailydialog_counts_match_source() -> None:
    folder = samples_dir("dailydialog") / "validation"
    lines = (folder / "dialogues_validation.txt").read_text(encoding="utf-8").splitlines()
    acts = (folder / "dialogues_act_validation.txt").read_text().splitlines()
    dialogues = list(read_source("dailydialog", folder))
    assert len(dialogues) == len(lines) == 30
    assert [len(d.turns) for d in dialogues] == [line.count("__eou__") for line in lines]
    assert [[t.annotations.dialogue_acts[0].act for t in d.turns] for d in dialogues] == [
        [{"1": "inform", "2": "question", "3": "directive", "4": "commissive"}[a] for a in row.split()] for row in acts
    ]
    emotions = [t.annotations.emotion for d in dialogues for t in d.turns]
    assert len(emotions) == sum(line.count("__eou__") for line in lines)
    assert set(emotions) <= {"no_emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise"}


def test_dailydialog_spot_checks() -> None:
    d = next(read_source("dailydialog", samples_dir("dailydialog") / "validation"))
    assert d.dialogue_id == "dailydialog/validation/1"
    assert d.turns[0].text == "Good morning , sir . Is there a bank near here ?"
    assert d.turns[2].text == "Well , that's too far.Can you change some money for me ?"
    assert [t.speaker for t in d.turns[:3]] == ["A", "B", "A"]
    assert [t.role for t in d.turns[:2]] == ["speaker_a", "speaker_b"]
    assert [t.annotations.dialogue_acts[0].act for t in d.turns[:3]] == ["question", "inform", "directive"]


def _copy_dailydialog(tmp_path: Path) -> Path:
    src = samples_dir("dailydialog") / "validation"
    for f in src.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path


def test_dailydialog_act_count_mismatch(tmp_path: Path) -> None:
    folder = _copy_dailydialog(tmp_path)
    acts = (folder / "dialogues_act_validation.txt").read_text().splitlines()
    acts[2] = acts[2].strip() + " 1 "
    (folder / "dialogues_act_validation.txt").write_text("\n".join(acts) + "\n")
    with pytest.raises(SourceFormatError, match=r"dialogues_validation\.txt, line 3: 4 utterances but 5 act"):
        list(read_source("dailydialog", folder))
    policy = ErrorPolicy("skip")
    assert len(list(read_source("dailydialog", folder, on_error=policy))) == 29
    assert [(s.record, s.path) for s in policy.skipped] == [("line 3", str(folder / "dialogues_validation.txt"))]


def test_dailydialog_bad_encoding_and_missing_labels(tmp_path: Path) -> None:
    folder = _copy_dailydialog(tmp_path)
    text = (folder / "dialogues_validation.txt").read_bytes().split(b"\n")
    text[4] = text[4][:10] + b"\xff\xfe" + text[4][10:]
    (folder / "dialogues_validation.txt").write_bytes(b"\n".join(text))
    with pytest.raises(SourceFormatError, match=r"line 5: not valid UTF-8"):
        list(read_source("dailydialog", folder))
    (folder / "dialogues_emotion_validation.txt").unlink()
    with pytest.raises(SourceFormatError, match=r"dialogues_emotion_validation.txt is missing"):
        list(read_source("dailydialog", folder))


# --- Persona-Chat / ConvAI2 -----------------------------------------------------------------------------------


def _fbdialog_stats(path: Path) -> tuple[int, int, int, int]:
    """Dialogues, dialogue lines, persona lines (self, partner) of a ParlAI text file, by direct parsing."""
    lines = path.read_text(encoding="utf-8").splitlines()
    n_dialogues = sum(1 for line in lines if line.startswith("1 "))
    n_turn_lines = sum(1 for line in lines if "\t" in line)
    n_self = sum(1 for line in lines if re.match(r"^\d+ your persona:", line))
    n_partner = sum(1 for line in lines if re.match(r"^\d+ partner's persona:", line))
    return n_dialogues, n_turn_lines, n_self, n_partner


@pytest.mark.parametrize("name", ["valid_self_original_no_cands.txt", "valid_both_original_no_cands.txt"])
def test_personachat_convai2_counts(name: str) -> None:
    path = samples_dir("convai2_personachat") / "ConvAI2" / name
    n_dialogues, n_lines, n_self, n_partner = _fbdialog_stats(path)
    dialogues = list(read_source("personachat", path))
    assert len(dialogues) == n_dialogues == 30
    assert sum(len(d.turns) for d in dialogues) == 2 * n_lines
    assert sum(len(d.meta["personas"]["self"]) for d in dialogues) == n_self
    assert sum(len(d.meta["personas"]["partner"]) for d in dialogues) == n_partner
    assert (n_partner > 0) == ("both" in name)
    assert all(d.meta["format"] == "no_cands" for d in dialogues)


def test_personachat_spot_checks_both() -> None:
    path = samples_dir("convai2_personachat") / "ConvAI2" / "valid_both_original_no_cands.txt"
    d = next(read_source("personachat", path))
    assert d.dialogue_id == "personachat/validation/both_original_no_cands/1"
    assert d.meta["personas"]["self"][0] == "i read twenty books a year."
    assert d.meta["personas"]["partner"][0] == "horror movies are my favorites."
    assert (d.turns[0].role, d.turns[0].text) == ("user", "hello what are doing today ?")
    assert (d.turns[1].role, d.turns[1].text) == (
        "system",
        "i am good , i just got off work and tired , i have two jobs .",
    )


def test_personachat_original_with_candidates() -> None:
    path = samples_dir("convai2_personachat") / "personachat" / "valid_self_original.txt"
    n_dialogues, n_lines, _, _ = _fbdialog_stats(path)
    dialogues = list(read_source("personachat", path))
    assert len(dialogues) == n_dialogues == 2
    system_turns = [t for d in dialogues for t in d.turns if t.role == "system"]
    assert len(system_turns) == n_lines
    for t in system_turns:
        cands = t.annotations.extra["candidates"]
        assert len(cands) == 20 and cands[-1] == t.text
    assert dialogues[0].meta["format"] == "candidates"
    assert dialogues[0].turns[1].text == "i am good , i just got off work and tired , i have two jobs ."


def test_personachat_broken_line(tmp_path: Path) -> None:
    src = samples_dir("convai2_personachat") / "ConvAI2" / "valid_self_original_no_cands.txt"
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[7] = "this line lost its number"
    path = tmp_path / "valid_self_original_no_cands.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"valid_self_original_no_cands\.txt, line 8: expected '<n> <text>'"):
        list(read_source("personachat", path))
    policy = ErrorPolicy("skip")
    kept = list(read_source("personachat", path, on_error=policy))
    assert len(kept) == 29
    assert kept[0].dialogue_id.endswith("/2")  # ids do not shift when a dialogue is skipped
    assert [s.record for s in policy.skipped] == ["line 8"]


def test_personachat_wrong_field_count(tmp_path: Path) -> None:
    path = tmp_path / "train_self_original.txt"
    path.write_text("1 your persona: i like tea.\n2 hi\tthere\textra\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="line 2: expected 2 or 4 tab-separated fields, found 3"):
        list(read_source("personachat", path))


def test_demo_inputs_read_with_every_core_reader() -> None:
    counts = {
        "sgd": len(list(read_source("sgd", demo_dir() / "sgd" / "train"))),
        "dailydialog": len(list(read_source("dailydialog", demo_dir() / "dailydialog"))),
        "personachat": len(list(read_source("personachat", demo_dir() / "personachat"))),
    }
    assert counts == {"sgd": 2, "dailydialog": 3, "personachat": 3}
    dd = next(read_source("dailydialog", demo_dir() / "dailydialog"))
    assert dd.meta["topic"] == "ordinary_life"
    both = next(d for d in read_source("personachat", demo_dir() / "personachat") if d.split == "validation")
    assert both.meta["personas"]["partner"] == ["i am a pilot.", "i fly to paris every week."]
    assert both.turns[1].annotations.extra["candidates"][-1] == both.turns[1].text
