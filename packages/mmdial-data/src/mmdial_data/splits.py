"""One split vocabulary for every reader, recipe and command: ``train`` / ``validation`` / ``test``.

The names are those of Hugging Face ``datasets`` (``datasets.Split``). A source with more than one split of a
kind keeps them apart with a canonical variant (``validation_freq``, ``test_oov`` ...), and a release with no
split at all is ``full``. Every name a public release spells its splits with (``dev``, ``val``, ``valid``,
``validate``, ``val2018``, ``tst-OOV``, ``valid_freq`` ...) is an alias in :data:`SPLIT_ALIASES`.

Readers yield canonical names only: :func:`mmdial_data.readers.read_source` maps what a reader found through
:func:`canonical_split`, rewrites the dialogue id (``multiwoz/val/X`` becomes ``multiwoz/validation/X``) and
keeps the source's own name in ``meta["source_split"]``. Recipes (``splits:``, a source's ``split:``) and the
``--split`` options accept the aliases too and store the canonical name; any other name is an error listing
the known ones. The packages/mmdial-data README has the table of every reader's names.

Example:
    >>> canonical_split("dev"), canonical_split("val2018"), canonical_split("tst-OOV"), canonical_split("train")
    ('validation', 'validation', 'test_oov', 'train')
    >>> canonical_split("bogus", path="recipe.yaml", record="splits")
    Traceback (most recent call last):
    ...
    mmdial_data.splits.UnknownSplitError: recipe.yaml, splits: unknown split 'bogus'; use one of train, validation, \
test, full, validation_freq, validation_rare, test_freq, test_rare, test_oov, test_seen, test_unseen, failed \
(aliases: dev, val, valid, validate, ...)
"""

from __future__ import annotations

from os import PathLike

from mmdial_data.errors import MMDialDataError

#: The three splits of Hugging Face ``datasets``.
CANONICAL_SPLITS: tuple[str, ...] = ("train", "validation", "test")

#: Canonical variants, for sources with no split or with more than one split of a kind, and what they hold.
SPLIT_VARIANTS: dict[str, str] = {
    "full": "the whole release of a source that has no splits (ConvoKit corpora, CamRest676, casino.json ...)",
    "validation_freq": "Topical-Chat valid_freq: validation conversations on topics seen in training",
    "validation_rare": "Topical-Chat valid_rare: validation conversations on rarely seen topics",
    "test_freq": "Topical-Chat test_freq: test conversations on topics seen in training",
    "test_rare": "Topical-Chat test_rare: test conversations on rarely seen topics",
    "test_oov": "dialog bAbI tst-OOV: test dialogues with entities absent from training",
    "test_seen": "a test set on seen topics or domains (a recipe's name for e.g. Wizard of Wikipedia random_split)",
    "test_unseen": "a test set on unseen topics or domains (e.g. Wizard of Wikipedia topic_split)",
    "failed": "ESConv FailedESConv.json: the conversations its authors left out of the dataset",
}

#: Every known split name: the canonical three, then the variants.
KNOWN_SPLITS: tuple[str, ...] = CANONICAL_SPLITS + tuple(SPLIT_VARIANTS)

#: Source spellings -> canonical name (lower case; ``-`` and ``_`` are the same when looking a name up).
SPLIT_ALIASES: dict[str, str] = {
    "dev": "validation",  # MultiWOZ 2.2, SGD, DREAM, MuTual, ABCD, KVRET, PhotoChat, Taskmaster, bAbI
    "val": "validation",  # MultiWOZ 2.x valListFile, CrossWOZ val.json, VisDial val, DialogStudio val
    "valid": "validation",  # ParlAI (PersonaChat, Wizard of Wikipedia), CMU_DoG, CaSiNo, EmpatheticDialogues
    "validate": "validation",  # WOZ 2.0 / DSTC2-clean woz_validate_en.json
    "val2018": "validation",  # VisDial v1.0 visdial_1.0_val.json: "split": "val2018"
    "test2018": "test",  # VisDial v1.0 test
    "trn": "train",  # dialog bAbI -trn.txt
    "tst": "test",  # dialog bAbI -tst.txt
    "tst_oov": "test_oov",  # dialog bAbI -tst-OOV.txt
    "valid_freq": "validation_freq",  # Topical-Chat
    "valid_rare": "validation_rare",
}

#: The split-name tokens looked for in file and folder names (``dialogues_validation.txt``, ``train/``).
FILE_NAME_TOKENS: tuple[str, ...] = ("train", "valid", "validation", "dev", "val", "test")


class UnknownSplitError(MMDialDataError):
    """A split name that is neither canonical nor a known alias."""


def is_canonical_split(name: str) -> bool:
    """Whether ``name`` is one of :data:`KNOWN_SPLITS` as it is spelt there.

    >>> is_canonical_split("validation"), is_canonical_split("dev")
    (True, False)
    """
    return name in _KNOWN


def canonical_split(
    name: str, *, source: str | None = None, path: str | PathLike[str] | None = None, record: str | None = None
) -> str:
    """The canonical split name of ``name`` (a canonical name, or an alias in any case, ``-`` or ``_``).

    Args:
        name: A split name as a release, a recipe or a command line spells it.
        source: The reader (or dataset) the name comes from, named in the error.
        path: The file the name comes from, named in the error.
        record: The record (``dialogue 3``, ``splits``) the name comes from, named in the error.

    Raises:
        UnknownSplitError: (a ``ValueError``) ``name`` is not known; the message lists the known names.

    >>> canonical_split("Validation"), canonical_split("valid-freq"), canonical_split("full")
    ('validation', 'validation_freq', 'full')
    """
    if name in _KNOWN:
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key in _KNOWN:
        return key
    if key in SPLIT_ALIASES:
        return SPLIT_ALIASES[key]
    of = f" (reader {source!r})" if source else ""
    raise UnknownSplitError(
        f"unknown split {name!r}{of}; use one of {', '.join(KNOWN_SPLITS)} (aliases: {_ALIAS_HINT}, ...)",
        path=path,
        record=record,
    )


_KNOWN = frozenset(KNOWN_SPLITS)
_ALIAS_HINT = ", ".join(list(SPLIT_ALIASES)[:4])

__all__ = [
    "CANONICAL_SPLITS",
    "FILE_NAME_TOKENS",
    "KNOWN_SPLITS",
    "SPLIT_ALIASES",
    "SPLIT_VARIANTS",
    "UnknownSplitError",
    "canonical_split",
    "is_canonical_split",
]
