"""METEOR, nltk variant (``nltk_meteor``): nltk ``meteor_score`` per item, averaged, given WordNet.

The alignment is nltk's: exact matches, then Porter-stem matches (nltk's ``PorterStemmer``), then WordNet
synonym matches (lemma names without ``_`` of ``wordnet.synsets(word)``), each stage matching from the
end of the hypothesis; then ``Fmean = P*R / (alpha*P + (1-alpha)*R)`` and the fragmentation penalty
``gamma * (chunks/matches)**beta``; the best reference wins. Tokens are ``str.split()`` and lowercased
(nltk's ``preprocess=str.lower``). Stems and synonym sets are cached per word, which is where the speed-up
over nltk comes from; the numbers are nltk's exactly.

WordNet comes from the Debian package ``wordnet-base`` (``apt-get install wordnet-base``: WordNet 3.0 in
``/usr/share/wordnet``), read by nltk's own ``WordNetCorpusReader`` built directly on that folder, with no
nltk data download: see :func:`load_wordnet`. Another folder with the WordNet 3.0 dict files can be named by
``MMDIAL_WORDNET`` or passed as ``wordnet=`` (a folder or any nltk WordNet reader).

Example:
    >>> NLTKMeteor().signature(1)  # WordNet is loaded on first use, not here
    'name:nltk_meteor|nrefs:1|alpha:0.9|beta:3|gamma:0.5|stem:porter|wordnet:3.0|tok:whitespace|case:lc|version:0.1.0'
    >>> r = nltk_meteor(["the cat sat on the mat"], [["the cat sat on the mat"]])  # doctest: +SKIP
    >>> round(r.score, 6)  # doctest: +SKIP
    0.999672
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

from mmdial_metrics.core import Metric, MetricResult

#: Where Debian's ``wordnet-base`` puts WordNet 3.0.
DEBIAN_WORDNET = "/usr/share/wordnet"
_REQUIRED = ("data.noun", "data.verb", "data.adj", "data.adv", "index.noun", "index.verb", "index.adj", "index.adv")
_OPTIONAL = ("noun.exc", "verb.exc", "adj.exc", "adv.exc", "cntlist.rev", "index.sense")

#: The fixed WordNet 3.0 ``lexnames`` file (lexicographer file number, name, syntactic category).
LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]
_NLTK_HINT = 'METEOR (nltk variant) needs nltk: pip install "mmdial-metrics[nltk]"'
_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


class WordNetUnavailable(ImportError):
    """WordNet data (or nltk, which reads it) is not installed; the message says how to install it."""


def lexnames_text() -> str:
    """The WordNet 3.0 ``lexnames`` file.

    >>> lexnames_text().splitlines()[:2], len(lexnames_text().splitlines())
    (['00\\tadj.all\\t3', '01\\tadj.pert\\t3'], 45)
    """
    return "".join(f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(LEXNAMES))


def _cache_root() -> Path:
    if os.environ.get("MMDIAL_CACHE"):
        return Path(os.environ["MMDIAL_CACHE"]) / "wordnet"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmdial" / "wordnet"


def wordnet_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """A folder nltk's reader can open: ``root`` (or ``MMDIAL_WORDNET``, or Debian's) plus ``lexnames``.

    When the folder lacks ``lexnames`` (Debian's does), a cache folder (``$MMDIAL_CACHE/wordnet/<hash>`` or
    ``~/.cache/mmdial/wordnet/<hash>``) gets copies of its files (about 30 MB; nltk's path sandbox refuses
    symlinks out of the reader's folder and hard-linked files) and the standard lexnames file.

    Raises:
        WordNetUnavailable: The WordNet dict files are missing (names ``apt-get install wordnet-base``).
    """
    src = Path(root or os.environ.get("MMDIAL_WORDNET") or DEBIAN_WORDNET)
    missing = [f for f in _REQUIRED if not (src / f).is_file()]
    if missing:
        raise WordNetUnavailable(
            f"WordNet not found in {src} (missing {', '.join(missing)}): install it with "
            "`apt-get install wordnet-base` (WordNet 3.0 in /usr/share/wordnet), or set MMDIAL_WORDNET "
            "to a folder with the WordNet 3.0 dict files"
        )
    if (src / "lexnames").is_file():
        return src
    import hashlib

    key = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:12]
    target = _cache_root() / key
    if (target / "lexnames").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=target.parent))
    for name in _REQUIRED + _OPTIONAL:
        if (src / name).is_file():
            # copies (about 30 MB): nltk refuses symlinks leaving the reader's root and hard-linked files
            shutil.copyfile(src / name, tmp / name)
    (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    try:
        tmp.rename(target)
    except OSError:  # another process made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@lru_cache(maxsize=4)
def _load(folder: str) -> Any:
    try:
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as exc:
        raise WordNetUnavailable(_NLTK_HINT) from exc

    class LocalWordNet(WordNetCorpusReader):  # type: ignore[misc]
        """nltk's reader on a local WordNet 3.0 folder.

        nltk maps the loaded WordNet to 3.0 for its multilingual (OMW) functions through the *downloaded*
        ``wordnet`` corpus; for WordNet 3.0 that map is the identity, so it is skipped here.
        """

        def map_wn(self, version: str = "wordnet") -> Any:
            if self.get_version() == "3.0":
                return None
            return super().map_wn(version)

    # nltk (3.9.3+) only opens corpus files under its data path ("Security Violation ... Unauthorized
    # path"); its documented opt-in is adding the folder to nltk.data.path. Exactly the WordNet folder and
    # nothing else is added.
    import nltk.data

    root = str(Path(folder).resolve())
    if root not in nltk.data.path:
        nltk.data.path.append(root)
    with warnings.catch_warnings():  # "multilingual functions are not available": no OMW is wanted here
        warnings.simplefilter("ignore", UserWarning)
        return LocalWordNet(folder, omw_reader=None)


def load_wordnet(root: str | os.PathLike[str] | None = None) -> Any:
    """nltk's ``WordNetCorpusReader`` on local WordNet 3.0 files (cached per folder), no nltk download.

    Pass it to nltk's ``meteor_score(..., wordnet=...)`` to get the same numbers as :func:`nltk_meteor`.

    Raises:
        WordNetUnavailable: WordNet files or nltk are missing (the message says how to install them).
    """
    return _load(str(wordnet_dir(root)))


def _count_chunks(matches: list[tuple[int, int]]) -> int:
    chunks = 1
    for a, b in pairwise(matches):
        if not (b[0] == a[0] + 1 and b[1] == a[1] + 1):
            chunks += 1
    return chunks


class _Aligner:
    """nltk's ``_enum_align_words`` with per-word caches of stems and synonym sets."""

    def __init__(self, wordnet: Any, stemmer: Any) -> None:
        self.wordnet = wordnet
        self.stemmer = stemmer
        self._stems: dict[str, str] = {}
        self._syns: dict[str, frozenset[str]] = {}

    def stem(self, word: str) -> str:
        s = self._stems.get(word)
        if s is None:
            s = self._stems[word] = self.stemmer.stem(word)
        return s

    def synonyms(self, word: str) -> frozenset[str]:
        s = self._syns.get(word)
        if s is None:
            names = {lemma.name() for syn in self.wordnet.synsets(word) for lemma in syn.lemmas()}
            s = self._syns[word] = frozenset({n for n in names if "_" not in n} | {word})
        return s

    @staticmethod
    def _match(hyp: list[tuple[int, str]], ref: list[tuple[int, str]]) -> tuple[list[tuple[int, int]], list, list]:
        positions: dict[str, list[int]] = defaultdict(list)
        for j, (_, w) in enumerate(ref):
            positions[w].append(j)
        matches, used_h, used_r = [], set(), set()
        for i in range(len(hyp) - 1, -1, -1):
            pos = positions.get(hyp[i][1])
            if pos:
                j = pos.pop()
                used_h.add(i)
                used_r.add(j)
                matches.append((hyp[i][0], ref[j][0]))
        return (
            matches,
            [p for i, p in enumerate(hyp) if i not in used_h],
            [p for j, p in enumerate(ref) if j not in used_r],
        )

    def align(self, hyp: list[tuple[int, str]], ref: list[tuple[int, str]]) -> list[tuple[int, int]]:
        exact, hyp, ref = self._match(hyp, ref)
        stem_h = [(i, self.stem(w)) for i, w in hyp]
        stem_r = [(j, self.stem(w)) for j, w in ref]
        stemmed, hyp_left, ref_left = self._match(stem_h, stem_r)
        # nltk matches synonyms on the *stemmed* leftovers (its stem stage returns stemmed lists)
        positions: dict[str, list[int]] = defaultdict(list)
        for j, (_, w) in enumerate(ref_left):
            positions[w].append(j)
        syn = []
        for i in range(len(hyp_left) - 1, -1, -1):
            best_j, best = -1, None
            for s in self.synonyms(hyp_left[i][1]):
                pos = positions.get(s)
                if pos and pos[-1] > best_j:
                    best_j, best = pos[-1], s
            if best is not None:
                positions[best].pop()
                syn.append((hyp_left[i][0], ref_left[best_j][0]))
        return sorted(exact + stemmed + syn, key=lambda m: m[0])

    def score(self, hyp: list[str], ref: list[str], alpha: float, beta: float, gamma: float) -> float:
        matches = self.align(list(enumerate(hyp)), list(enumerate(ref)))
        n = len(matches)
        try:
            precision = float(n) / len(hyp)
            recall = float(n) / len(ref)
            fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall)
            frag = float(_count_chunks(matches)) / n
        except ZeroDivisionError:
            return 0.0
        return (1 - gamma * frag**beta) * fmean


class NLTKMeteor(Metric):
    """METEOR as nltk ``meteor_score`` computes it (0-1), averaged over items; best reference per item.

    Args:
        alpha: Precision/recall weight (nltk default 0.9).
        beta: Shape of the fragmentation penalty (3.0).
        gamma: Weight of the fragmentation penalty (0.5).
        wordnet: A WordNet folder or an nltk WordNet reader; default :func:`load_wordnet` (Debian's
            ``wordnet-base``, or ``MMDIAL_WORDNET``).
    """

    name: ClassVar[str] = "nltk_meteor"
    citation: ClassVar[str] = "Banerjee and Lavie 2005; Lavie and Agarwal 2007"
    reference: ClassVar[str] = "nltk.translate.meteor_score.meteor_score (WordNet 3.0, PorterStemmer)"

    def __init__(self, *, alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5, wordnet: Any = None) -> None:
        super().__init__()
        for key, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"nltk_meteor: {key} must be a number, got {type(value).__name__}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"nltk_meteor: alpha must be in [0, 1], got {alpha}")
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        self._wordnet_arg = wordnet
        self._aligner: _Aligner | None = None

    def _get_aligner(self) -> _Aligner:
        if self._aligner is None:
            wn = self._wordnet_arg
            if wn is None or isinstance(wn, (str, os.PathLike)):
                wn = load_wordnet(wn)
            try:
                from nltk.stem.porter import PorterStemmer
            except ImportError as exc:  # pragma: no cover - load_wordnet needs nltk too
                raise WordNetUnavailable(_NLTK_HINT) from exc
            self._aligner = _Aligner(wn, PorterStemmer())
        return self._aligner

    def signature_info(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "stem": "porter",
            "wordnet": "3.0",
            "tok": "whitespace",
            "case": "lc",
        }

    def _stats(self, predictions: list[str], references: list[list[str]] | None) -> list[float]:
        assert references is not None
        aligner = self._get_aligner()
        out = []
        for pred, group in zip(predictions, references, strict=True):
            hyp = [w.lower() for w in pred.split()]
            out.append(
                max(
                    aligner.score(hyp, [w.lower() for w in r.split()], self.alpha, self.beta, self.gamma) for r in group
                )
            )
        return out

    def _reduce(self, stats: list[float]) -> tuple[float, dict[str, Any], list[float] | None]:
        items = [float(x) for x in stats]
        return sum(items) / len(items), {}, items


def nltk_meteor(predictions: Sequence[str], references: Sequence[Any], **options: Any) -> MetricResult:
    """Mean nltk METEOR; options as :class:`NLTKMeteor`."""
    return NLTKMeteor(**options).score(predictions, references)
