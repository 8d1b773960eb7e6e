"""Field coverage of the DailyDialog reader: every utterance, act, emotion and topic label of a line reappears.

Act/emotion/topic codes are compared through the reader's documented label tables (``ACTS``, ``EMOTIONS``,
``TOPICS`` from the DailyDialog readme), since the unified record stores names, not codes.
"""

from __future__ import annotations

import pytest

from mmdial_data import read_source
from mmdial_data.readers.dailydialog import ACTS, EMOTIONS, TOPICS
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


def _sources(text_file, suffix):
    def lines(kind):
        name = f"dialogues_{kind}_{suffix}" if kind else f"dialogues_{suffix}"
        path = text_file.with_name(name)
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else None

    texts, acts, emos, topics = lines(""), lines("act"), lines("emotion"), lines("topic")
    for i, text in enumerate(texts):
        record = {
            "utterances": [u.strip() for u in text.split("__eou__") if u.strip()],
            "acts": [ACTS[a] for a in acts[i].split()],
            "emotions": [EMOTIONS[e] for e in emos[i].split()],
        }
        if topics:
            record["topic"] = TOPICS[topics[i].strip()]
        yield record


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    folder = samples_dir("dailydialog") / "validation"
    sources = list(_sources(folder / "dialogues_validation.txt", "validation.txt"))
    dialogues = list(read_source("dailydialog", folder))
    assert len(dialogues) == len(sources) > 0
    for d, source in zip(dialogues, sources, strict=True):
        assert_fields_covered(source, d)


def test_demo_field_coverage() -> None:
    folder = demo_dir() / "dailydialog"
    sources = list(_sources(folder / "dialogues_train.txt", "train.txt"))
    for d, source in zip(read_source("dailydialog", folder), sources, strict=True):
        assert "topic" in source
        assert_fields_covered(source, d)
