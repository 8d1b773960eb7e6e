"""Field coverage of the Persona-Chat/ConvAI2 reader: every persona line, utterance, reward and candidate of
a dialogue's lines (parsed here independently, by the ParlAI fbdialog layout) reappears in the record."""

from __future__ import annotations

import pytest

from mmdial_data import read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


def _sources(path):
    dialogues = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        n, body = line.split(" ", 1)
        if n == "1":
            dialogues.append([])
        fields = body.split("\t")
        if len(fields) == 1:
            dialogues[-1].append({"persona": body.split(":", 1)[1].strip()})
        else:
            rec = {"partner": fields[0], "reply": fields[1]}
            if len(fields) == 4:
                rec.update({"reward": fields[2], "candidates": fields[3].split("|")})
            dialogues[-1].append(rec)
    return dialogues


def _check(folder) -> int:
    n = 0
    for file in sorted(folder.glob("*.txt")):
        for d, source in zip(read_source("personachat", file), _sources(file), strict=True):
            assert_fields_covered(source, d, ignore={"partner"} if source[0].get("partner") == "__SILENCE__" else ())
            n += 1
    return n


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    base = samples_dir("convai2_personachat")
    assert _check(base / "ConvAI2") > 0 and _check(base / "personachat") > 0


def test_demo_field_coverage() -> None:
    assert _check(demo_dir() / "personachat") > 0
