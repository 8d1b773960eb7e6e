"""The reader registry: named functions from source files to ``Iterator[Dialogue]``.

Built-in readers are listed here by name and imported on first use; third-party packages add readers
through the ``mmdial.readers`` entry-point group or :func:`register_reader`.

Example:
    >>> from mmdial_data.readers import get_reader, list_readers
    >>> "dailydialog" in [r.name for r in list_readers()]
    True
    >>> get_reader("dailydialg")
    Traceback (most recent call last):
    ...
    mmdial_data.registry.UnknownNameError: unknown reader 'dailydialg'; did you mean 'dailydialog'?
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mmdial_data.errors import ErrorPolicy, OnError
from mmdial_data.registry import Registry
from mmdial_data.schema import Dialogue

if TYPE_CHECKING:
    import pyarrow as pa


class ReaderFunc(Protocol):
    """Signature of a reader: one path (file or directory) to dialogues."""

    def __call__(self, path: Path, *, split: str | None, policy: ErrorPolicy) -> Iterator[Dialogue]: ...


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader: its name, a one-line description and where its function lives.

    :attr:`license` and :attr:`citation` are the ``LICENSE`` and ``CITATION`` constants of the reader's module
    (the licence as the dataset's source states it), read on first use; ``None`` for a reader whose module
    defines none (an entry-point or run-time reader, say).

    Example:
        >>> get_reader("sgd").license
        'CC BY-SA 4.0'
    """

    name: str
    description: str
    target: str | ReaderFunc

    def load(self) -> ReaderFunc:
        """Import and return the reader function."""
        if not isinstance(self.target, str):
            return self.target
        module, _, attr = self.target.partition(":")
        func: ReaderFunc = getattr(importlib.import_module(module), attr)
        return func

    @property
    def license(self) -> str | None:
        """The dataset's licence as its source states it (the module's ``LICENSE``), or ``None``."""
        return self._module_constant("LICENSE")

    @property
    def citation(self) -> str | None:
        """What to cite for the dataset (the module's ``CITATION``), or ``None``."""
        return self._module_constant("CITATION")

    def _module_constant(self, name: str) -> str | None:
        if isinstance(self.target, str):
            try:
                module: object = importlib.import_module(self.target.partition(":")[0])
            except ImportError:  # a plugin that cannot be imported has no licence to show (its load() says why)
                return None
        else:
            module = sys.modules.get(getattr(self.target, "__module__", "") or "")
        value = getattr(module, name, None)
        return value if isinstance(value, str) and value else None


_BUILTIN: dict[str, tuple[str, str]] = {
    "sgd": (
        "Schema-Guided Dialogue (DSTC8) dialogues_*.json + schema.json: frames, acts, slot spans, state, service calls",
        "mmdial_data.readers.sgd:read_sgd",
    ),
    "dailydialog": (
        "DailyDialog dialogues_*.txt with aligned act and emotion label files",
        "mmdial_data.readers.dailydialog:read_dailydialog",
    ),
    "personachat": (
        "Persona-Chat / ConvAI2 ParlAI text: personas, *_no_cands, *_both_*, label candidates",
        "mmdial_data.readers.personachat:read_personachat",
    ),
    "multiwoz": (
        "MultiWOZ 2.x data.json style (log, belief-state metadata, dialog_act, span_info; .json or bare ids)",
        "mmdial_data.readers.multiwoz:read_multiwoz",
    ),
    "multiwoz22": (
        "MultiWOZ 2.2 dialogues_*.json + schema.json (+ dialog_acts.json): frames, slot spans, intents, state",
        "mmdial_data.readers.multiwoz22:read_multiwoz22",
    ),
    "woz2": (
        "WOZ 2.0 / DSTC2-clean neural-belief-tracker JSON: transcript/system_transcript, belief state, turn labels",
        "mmdial_data.readers.woz2:read_woz2",
    ),
    "camrest676": (
        "CamRest676 (NNDIAL) CamRest676.json behind its # banner: usr/sys per exchange, SLU acts and state, goal",
        "mmdial_data.readers.camrest676:read_camrest676",
    ),
    "kvret": (
        "KVRET / Stanford Multi-Domain kvret_*_public.json: driver/assistant turns, wizard slots, per-dialogue KB",
        "mmdial_data.readers.kvret:read_kvret",
    ),
    "taskmaster": (
        "Taskmaster-1/2/3/4 utterances + segments JSON: span annotations, TM-3 apis, TM-4 API annotations, vertical",
        "mmdial_data.readers.taskmaster:read_taskmaster",
    ),
    "empathetic_dialogues": (
        "EmpatheticDialogues train/valid/test.csv (_comma_ pseudo-CSV): emotion, situation prompt, speaker roles",
        "mmdial_data.readers.empathetic_dialogues:read_empathetic_dialogues",
    ),
    "visdial": (
        "VisDial v1.0 JSON: caption turn with the COCO image, question/answer pools, 100 options + gt_index per round",
        "mmdial_data.readers.visdial:read_visdial",
    ),
    "photochat": (
        "PhotoChat JSON: share_photo turns become image turns captioned with the photo description",
        "mmdial_data.readers.photochat:read_photochat",
    ),
    "locomo": (
        "LoCoMo locomo10.json: multi-session conversations, image turns (URLs, BLIP caption), QA/events in meta",
        "mmdial_data.readers.locomo:read_locomo",
    ),
    "wizard_of_wikipedia": (
        "Wizard of Wikipedia JSON: chosen topic, checked sentence/passage as knowledge, retrieved passages",
        "mmdial_data.readers.wizard_of_wikipedia:read_wizard_of_wikipedia",
    ),
    "imad": (
        "IMAD release JSON: dialogue context plus the utterance replaced by an Unsplash image",
        "mmdial_data.readers.imad:read_imad",
    ),
    "chitchat": (
        "Chit-Chat Challenge (PyPI chitchat-dataset) dataset.json: messages grouped per sender, ratings, prompt",
        "mmdial_data.readers.chitchat:read_chitchat",
    ),
    "esconv": (
        "ESConv (Failed)ESConv.json: seeker/supporter turns, support strategies, feedback, emotion, survey in meta",
        "mmdial_data.readers.esconv:read_esconv",
    ),
    "soda": (
        "SODA JSON list / JSONL: narrative, knowledge triple and PersonX/Y/Z in meta, named speakers, xReact emotion",
        "mmdial_data.readers.soda:read_soda",
    ),
    "casino": (
        "CaSiNo casino*.json: campsite negotiation chats, deal actions, strategy labels, participant info in meta",
        "mmdial_data.readers.casino:read_casino",
    ),
    "dealornodeal": (
        "Deal or No Deal negotiate/*.txt: one tagged line per negotiation and agent, item counts/values, output",
        "mmdial_data.readers.dealornodeal:read_dealornodeal",
    ),
    "babi_dialog": (
        "dialog bAbI tasks 1-6 dialog-babi-task*.txt: numbered user<TAB>bot lines, api_call acts, KB results",
        "mmdial_data.readers.babi_dialog:read_babi_dialog",
    ),
    "crosswoz": (
        "CrossWOZ {train,val,test}.json.zip (read in memory): Chinese, dialog acts, sys_state as state, goals",
        "mmdial_data.readers.crosswoz:read_crosswoz",
    ),
    "abcd": (
        "ABCD abcd_v1.1.json(.gz) / abcd_sample.json: customer/agent/action turns, workflow actions as acts, intents",
        "mmdial_data.readers.abcd:read_abcd",
    ),
    "convokit": (
        "ConvoKit corpus folders (utterances.jsonl + conversations/speakers/corpus/index.json): one per conversation",
        "mmdial_data.readers.convokit:read_convokit",
    ),
    "convlab3": (
        "ConvLab-3 unified datasets (data.zip / dummy_data.json): categorical/non-categorical/binary acts, state",
        "mmdial_data.readers.convlab3:read_convlab3",
    ),
    "dialogstudio": (
        "DialogStudio converted_examples.json: log of user utterance/system response, dst as state, intent, knowledge",
        "mmdial_data.readers.dialogstudio:read_dialogstudio",
    ),
    "star": (
        "STAR dialogues/<id>.json: User/Wizard utterances and picked suggestions (action labels), events in extra",
        "mmdial_data.readers.star:read_star",
    ),
    "dream": (
        "DREAM {train,dev,test}.json: [dialogue lines, questions, id] items; speaker-tagged lines, 3-way choices",
        "mmdial_data.readers.dream:read_dream",
    ),
    "cmu_dog": (
        "CMU_DoG Conversations/<split>/<sha1>.json + WikiData/<movie>.json: messages, document sections as knowledge",
        "mmdial_data.readers.cmu_dog:read_cmu_dog",
    ),
    "mutual": (
        "MuTual / MuTual-plus <split>_<n>.txt: tagged article as turns, four next-response options and the answer",
        "mmdial_data.readers.mutual:read_mutual",
    ),
    "topicalchat": (
        "Topical-Chat conversations/<split>.json + reading_sets (pre- or post-build): sentiment, knowledge documents",
        "mmdial_data.readers.topicalchat:read_topicalchat",
    ),
    "folder": (
        "Generic JSONL/CSV of turns (one row per turn) with a column mapping (mmdial_columns.yaml or options)",
        "mmdial_data.readers.folder:read_folder",
    ),
}

#: Columnar fast paths of built-in readers: the same dialogues, errors and order, but regular batches come as
#: unified Arrow tables (see :func:`read_source_batches`).
_BATCH_READERS: dict[str, str] = {
    "photochat": "mmdial_data.readers.photochat:read_photochat_batches",
}


def _entry_point_readers(registry: Registry[ReaderInfo]) -> None:
    """The readers of the ``mmdial.readers`` entry points (which never replace one)."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="mmdial.readers"):
        if ep.name not in registry:
            registry.register(ep.name, ReaderInfo(ep.name, f"reader from {ep.value}", ep.value))


def new_registry() -> Registry[ReaderInfo]:
    """A reader registry holding the built-in readers, its entry-point scan not yet run (tests start from one)."""
    builtin = {name: ReaderInfo(name, description, target) for name, (description, target) in _BUILTIN.items()}
    return Registry("reader", builtin, plugins=_entry_point_readers)


#: Every reader by name: the built-in ones, those registered at run time, then (scanned on the first unknown
#: name or listing) the ``mmdial.readers`` entry points.
READERS: Registry[ReaderInfo] = new_registry()


def register_reader(name: str, description: str) -> Callable[[ReaderFunc], ReaderFunc]:
    """Register a reader function under ``name`` (a decorator).

    Example:
        >>> from mmdial_data import Dialogue, Turn
        >>> @register_reader("one_line", "one utterance per line")
        ... def read_one_line(path, *, split, policy):
        ...     lines = path.read_text().splitlines()
        ...     yield Dialogue(f"one_line/{split or 'train'}/{path.stem}", "one_line", split or "train",
        ...                    [Turn(i, "A", "speaker_a", t) for i, t in enumerate(lines)])
        >>> get_reader("one_line").description
        'one utterance per line'
        >>> _ = READERS.unregister("one_line")  # (the example leaves the registry as it found it)
    """

    def decorator(func: ReaderFunc) -> ReaderFunc:
        READERS.register(name, ReaderInfo(name, description, func))
        return func

    return decorator


def list_readers() -> list[ReaderInfo]:
    """All registered readers, sorted by name."""
    return READERS.values()


def get_reader(name: str) -> ReaderInfo:
    """The reader called ``name``; an unknown name raises :class:`~mmdial_data.registry.UnknownNameError` (a
    ``KeyError``) with close matches. A built-in or registered name needs no entry-point scan."""
    return READERS.get(name)


def read_source(
    name: str,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    split: str | None = None,
    on_error: OnError | ErrorPolicy = "raise",
    options: dict[str, Any] | None = None,
) -> Iterator[Dialogue]:
    """Read dialogues from ``paths`` with the reader ``name``, lazily.

    Every reader's dialogues come out under the same rules (:mod:`mmdial_data.readers._unify`): canonical split
    names (:mod:`mmdial_data.splits`; the source's name in ``meta["source_split"]``) and no empty turn
    (:func:`mmdial_data.validate.drop_empty_turns`).

    Args:
        name: A registered reader.
        paths: One path or several (files or directories, as the reader accepts).
        split: Override the split the reader infers from file names (a name of :mod:`mmdial_data.splits`; an
            alias such as ``dev`` is taken as its canonical name).
        on_error: ``"raise"`` (default) or ``"skip"``, or an :class:`ErrorPolicy` to collect skips in.
        options: Keyword arguments for readers that take them (``folder``: ``columns``, ``meta_columns``,
            ``source``).

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> dialogues = list(read_source("dailydialog", demo_dir() / "dailydialog"))
        >>> len(dialogues), dialogues[0].dialogue_id
        (3, 'dailydialog/train/1')
    """
    yield from _read(get_reader(name).load(), name, paths, split=split, on_error=on_error, options=options)


def _read(
    reader: Callable[..., Iterator[Any]],
    name: str,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    split: str | None,
    on_error: OnError | ErrorPolicy,
    options: dict[str, Any] | None,
) -> Iterator[Any]:
    from mmdial_data.readers._unify import unified
    from mmdial_data.splits import canonical_split

    policy = on_error if isinstance(on_error, ErrorPolicy) else ErrorPolicy(on_error)
    if split is not None:
        split = canonical_split(split, record="split")
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory (reader {name!r})")
        kwargs = {"split": split, "policy": policy, **(options or {})}
        yield from unified(reader(path, **kwargs), name, path, policy)


def read_source_batches(
    name: str,
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    split: str | None = None,
    on_error: OnError | ErrorPolicy = "raise",
    options: dict[str, Any] | None = None,
) -> Iterator[pa.Table | Dialogue]:
    """What :func:`read_source` reads, in the same order and with the same errors, where a reader with a
    columnar fast path (``photochat``) yields runs of dialogues as unified Arrow tables (schema
    :func:`mmdial_data.arrow.arrow_schema`, equal to ``to_table`` of those dialogues); other readers, and
    batches the fast path does not take, yield :class:`Dialogue` objects.

    Example:
        >>> from mmdial_data.testing import demo_dir
        >>> [type(x).__name__ for x in read_source_batches("photochat", demo_dir() / "photochat")]
        ['Table']
        >>> {type(x).__name__ for x in read_source_batches("dailydialog", demo_dir() / "dailydialog")}
        {'Dialogue'}
    """
    info = get_reader(name)
    target = _BATCH_READERS.get(name)
    reader: Callable[..., Iterator[Any]] = info.load()
    if target is not None and not options and info.target == _BUILTIN[name][1]:  # the built-in reader
        module, _, attr = target.partition(":")
        reader = getattr(importlib.import_module(module), attr)
    yield from _read(reader, name, paths, split=split, on_error=on_error, options=options)
