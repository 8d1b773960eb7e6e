"""Tokenizers of the reference implementations, reproduced exactly and cached.

- ``13a``: sacrebleu's ``Tokenizer13a`` (mteval-v13a), the default of sacrebleu BLEU.
- ``intl``: sacrebleu's ``TokenizerV14International`` (Unicode punctuation/symbol classes; uses the
  ``regex`` module when installed, as sacrebleu does, else equivalent classes built from ``unicodedata``).
- ``none``: sacrebleu's ``none`` (whitespace split).
- ``whitespace``: ``str.split()`` (nltk and pycocoevalcap inputs, pre-tokenized text).
- ``rouge``: rouge-score's default tokenizer (lowercase, ``[a-z0-9]+`` runs, optional Porter stemmer).

Example:
    >>> get_tokenizer("13a")("Hello, world!")
    ['Hello', ',', 'world', '!']
    >>> get_tokenizer("rouge")("It's 5 o'clock.")
    ['it', 's', '5', 'o', 'clock']
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate

Tokenizer = Callable[[str], list[str]]

_CACHE = 2**20

_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


# The first 13a rule pads single characters of a fixed class: the same as a translation table, but faster.
_13A_PAD = str.maketrans({chr(c): f" {chr(c)} " for c in range(128) if _13A[0][0].fullmatch(chr(c))})


@lru_cache(maxsize=_CACHE)
def _tok_13a_str(line: str) -> str:
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} ".translate(_13A_PAD)
    if "." in line or "," in line:  # rules 2 and 3 need one of these to match
        line = _13A[1][0].sub(r"\1 \2 ", line)
        line = _13A[2][0].sub(r" \1 \2", line)
    if "-" in line:
        line = _13A[3][0].sub(r"\1 \2 ", line)
    return " ".join(line.split())


def tokenize_13a(line: str) -> list[str]:
    """sacrebleu ``13a`` tokens.

    >>> tokenize_13a("It costs $3.50, ok?")
    ['It', 'costs', '$', '3.50', ',', 'ok', '?']
    """
    return _tok_13a_str(line).split()


# Rules 2-4 for the batch. They equal the rules above on lines without two consecutive "."/","
# characters: only there can a rule-2/3 match consume the context of the next one; rule 4 never
# overlaps itself. Literals first, so the regex engine skips to candidates.
_13A_DIGIT_DOT = re.compile(r" \. (?<=[0-9] \. )(?=[0-9])")
_13A_DIGIT_COMMA = re.compile(r" , (?<=[0-9] , )(?=[0-9])")
_13A_DASH = re.compile(r"-(?<=[0-9]-)")
_13A_PAD_SPLIT = re.compile("([" + re.escape("".join(chr(c) for c in _13A_PAD if chr(c) != " ")) + "])")
_13A_SLOW = re.compile(r"[.,][.,]|\n|<skipped>")


def tokenize_13a_batch(lines: list[str]) -> list[list[str]]:
    """``[tokenize_13a(x) for x in lines]``, with each rule applied once to all lines joined by newlines.

    Exact: every line is padded with spaces and no rule matches across a space and a newline. Lines
    with a newline, ``<skipped>`` or two consecutive ``.``/``,`` go through :func:`tokenize_13a`.

    >>> tokenize_13a_batch(["It costs $3.50, ok?", "a-\\nb", "", "x &amp; y.", "Wait...3,5 ,.a"])
    [['It', 'costs', '$', '3.50', ',', 'ok', '?'], ['ab'], [], ['x', '&', 'y', '.'], ['Wait', '...3,5', ',', '.', 'a']]
    """
    text, fallback = tokenize_13a_text(lines)
    out = [seg.split() for seg in text.split("\n")] if lines else []
    for i in fallback:
        out[i] = tokenize_13a(lines[i])
    return out


def _13a_fallback(lines: list[str]) -> tuple[str, list[int]]:
    """The lines joined by newlines, and the indices of lines the batch rules cannot take (blanked)."""
    text = "\n".join(lines)
    if text.count("\n") == len(lines) - 1:  # no line has a newline: search the joined text
        found: set[int] = set()
        starts: list[int] = []
        for needle in ("..", ".,", ",.", ",,", "<skipped>"):  # what _13A_SLOW matches besides "\n"
            at = text.find(needle)
            while at != -1:
                starts = starts or list(accumulate(map((1).__add__, map(len, lines)), initial=0))
                found.add(bisect_right(starts, at) - 1)
                at = text.find(needle, at + 1)
        hits = sorted(found)
    else:
        hits = [i for i, x in enumerate(lines) if _13A_SLOW.search(x)]
    if not hits:
        return text, []
    batch = list(lines)
    for i in hits:
        batch[i] = ""
    return "\n".join(batch), hits


def tokenize_13a_text(lines: list[str]) -> tuple[str, list[int]]:
    """The 13a rules applied once to all ``lines``: a text whose ``\\n``-separated segments split into each
    line's tokens, and the indices of the lines left blank there (tokenize those with :func:`tokenize_13a`).

    >>> text, fallback = tokenize_13a_text(["a, b", "c..d", "x-1"])
    >>> [seg.split() for seg in text.split("\\n")], fallback
    ([['a', ',', 'b'], [], ['x-1']], [1])
    """
    text, fallback = _13a_fallback(lines)
    if "&" in text:
        text = text.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    text = f" {text.replace(chr(10), ' ' + chr(10) + ' ')} "
    text = " ".join(_13A_PAD_SPLIT.split(text))  # rule 1: the pieces around each character, joined by spaces
    # rules 2 and 3 pad a "." or "," unless a digit is on both sides (no [.,][.,] here, so the neighbours
    # of each are the same before and after): pad all, then undo between digits
    if "." in text:
        text = _13A_DIGIT_DOT.sub(".", text.replace(".", " . "))
    if "," in text:
        text = _13A_DIGIT_COMMA.sub(",", text.replace(",", " , "))
    if "-" in text:
        text = _13A_DASH.sub(" - ", text)
    return text, fallback


@lru_cache(maxsize=1)
def _intl_patterns() -> list[tuple[re.Pattern[str], str]]:
    try:
        import regex  # same Unicode classes as sacrebleu
    except ImportError:
        regex = None
    if regex is not None:
        return [
            (regex.compile(r"(\P{N})(\p{P})"), r"\1 \2 "),
            (regex.compile(r"(\p{P})(\P{N})"), r" \1 \2"),
            (regex.compile(r"(\p{S})"), r" \1 "),
        ]
    import unicodedata

    classes: dict[str, list[int]] = {"P": [], "S": [], "N": []}
    for cp in range(sys.maxunicode + 1):
        cat = unicodedata.category(chr(cp))[0]
        if cat in classes:
            classes[cat].append(cp)

    def char_class(cps: list[int]) -> str:
        ranges = []
        start = prev = cps[0]
        for cp in cps[1:]:
            if cp != prev + 1:
                ranges.append((start, prev))
                start = cp
            prev = cp
        ranges.append((start, prev))
        return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)

    p, s, n = (char_class(classes[k]) for k in "PSN")
    return [
        (re.compile(f"([^{n}])([{p}])"), r"\1 \2 "),
        (re.compile(f"([{p}])([^{n}])"), r" \1 \2"),
        (re.compile(f"([{s}])"), r" \1 "),
    ]


@lru_cache(maxsize=_CACHE)
def _tok_intl_str(line: str) -> str:
    for pattern, repl in _intl_patterns():
        line = pattern.sub(repl, line)
    return " ".join(line.split())


def tokenize_intl(line: str) -> list[str]:
    """sacrebleu ``intl`` tokens.

    >>> tokenize_intl("Grüße, Welt!")
    ['Grüße', ',', 'Welt', '!']
    """
    return _tok_intl_str(line).split()


def tokenize_whitespace(line: str) -> list[str]:
    """``str.split()``.

    >>> tokenize_whitespace(" a  b ")
    ['a', 'b']
    """
    return line.split()


_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=_CACHE)
def _tok_rouge(line: str) -> tuple[str, ...]:
    return tuple(_ROUGE_TOKEN.findall(line.lower()))


@lru_cache(maxsize=1)
def porter_stemmer() -> Callable[[str], str]:
    """nltk's PorterStemmer (NLTK_EXTENSIONS mode, as rouge-score uses it), with a cache."""
    try:
        from nltk.stem import porter
    except ImportError:
        raise ImportError('stemming needs nltk: pip install "mmdial-metrics[nltk]"') from None
    stem = porter.PorterStemmer().stem
    return lru_cache(maxsize=_CACHE)(stem)


def tokenize_rouge(line: str, stemmer: bool = False) -> list[str]:
    """rouge-score's default tokenizer; with ``stemmer`` tokens longer than 3 chars are Porter-stemmed.

    >>> tokenize_rouge("Héllo World-42")
    ['h', 'llo', 'world', '42']
    """
    tokens = _tok_rouge(line)
    if not stemmer:
        return list(tokens)
    stem = porter_stemmer()
    return [stem(t) if len(t) > 3 else t for t in tokens]


_TOKENIZERS: dict[str, Tokenizer] = {
    "13a": tokenize_13a,
    "intl": tokenize_intl,
    "none": tokenize_whitespace,
    "whitespace": tokenize_whitespace,
    "rouge": tokenize_rouge,
}


def list_tokenizers() -> list[str]:
    """Names accepted by :func:`get_tokenizer`.

    >>> list_tokenizers()
    ['13a', 'intl', 'none', 'rouge', 'whitespace']
    """
    return sorted(_TOKENIZERS)


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called ``name`` (see module docs); ValueError for unknown names."""
    try:
        return _TOKENIZERS[name]
    except KeyError:
        raise ValueError(f"unknown tokenizer {name!r}; choose one of {list_tokenizers()}") from None


def tokenize_all(lines: list[str], name: str, *, lowercase: bool = False, rstrip: bool = False) -> list[list[str]]:
    """Tokenize many lines (``lowercase``, then ``rstrip`` first, as sacrebleu does); 13a and whitespace batched.

    >>> tokenize_all(["Hi, you. ", "Hi, you. "], "13a", lowercase=True)
    [['hi', ',', 'you', '.'], ['hi', ',', 'you', '.']]
    """
    tok = get_tokenizer(name)
    if lowercase:
        lines = [x.lower() for x in lines]
    if rstrip:
        lines = [x.rstrip() for x in lines]
    if tok is tokenize_13a:
        return tokenize_13a_batch(lines)
    if tok is tokenize_whitespace:
        return [x.split() for x in lines]
    return [tok(x) for x in lines]
