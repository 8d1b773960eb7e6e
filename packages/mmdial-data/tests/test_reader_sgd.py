"""Field coverage of the SGD reader (counts and spot checks are in the lead's test_readers_core.py)."""

from __future__ import annotations

import json

import pytest

from mmdial_data import read_source
from mmdial_data.testing import assert_fields_covered, demo_dir, samples_dir


def _check(folder) -> int:
    n = 0
    files = sorted(folder.glob("dialogues_*.json"))
    sources = [x for f in files for x in json.loads(f.read_text())]
    for d, source in zip(read_source("sgd", folder), sources, strict=True):
        assert_fields_covered(source, d, mapped={"slot_values": "Annotations.state"})
        n += 1
    return n


@pytest.mark.samples
def test_sample_field_coverage() -> None:
    assert _check(samples_dir("schema_guided_dialogue") / "train") > 0


def test_demo_field_coverage() -> None:
    assert _check(demo_dir() / "sgd" / "train") == 2
