"""Bad-input matrix: every reader against inputs generated from its real sample (issue 21, parts 3 and 5).

For each reader, six cases are generated in ``tmp_path`` at run time from the reader's real sample (never copied
into the repository): ``truncated`` (the main file cut at half its bytes), ``corrupt`` (four bytes in the middle
replaced by ``b"\\x00\\xff{]"``), ``swapped`` (another reader's sample, as is), ``empty`` (a zero-byte main file,
or an empty folder for a folder reader), ``binary`` (seeded random bytes in place of the main file) and
``utf16`` (the main file's text re-encoded as UTF-16; a zip's members re-encoded). Each runs
``mmdial convert READER PATH --out OUT`` in process and must end with exit status 2, exactly one stderr line
``mmdial: error: ...``, no traceback, and no output (nor temporary file) left in the output's folder.

A pair that is legitimately valid input is in :data:`ALLOWED`, with the reason; there the command must succeed and
write exactly the dialogues an independent count of the generated input gives. Readers that use the optional fast
parsers (ijson, msgspec) run every case a second time with those blocked: same exit status, same error line.

Four readers have no real sample in ``MMDIAL_SAMPLES`` (chitchat, folder, imad, wizard_of_wikipedia); their
inputs come from the project's hand-written ``datasets/demo`` files instead.
"""

from __future__ import annotations

import io
import random
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mmdial_data.cli import main
from mmdial_data.testing import demo_dir, samples_dir

pytestmark = pytest.mark.samples


@dataclass(frozen=True)
class Sample:
    """A reader's real input: ``rel`` under the sample folder ``folder`` (``demo:`` = ``datasets/demo``); for a
    folder input, ``main`` is the file inside it that the per-file cases change."""

    folder: str
    rel: str
    main: str | None = None

    def source(self) -> Path:
        if self.folder.startswith("demo:"):
            return demo_dir() / self.folder.removeprefix("demo:") / self.rel
        return samples_dir(self.folder) / self.rel


#: reader -> its real sample input (from the reader's own test file).
SAMPLES: dict[str, Sample] = {
    "abcd": Sample("abcd", "data/abcd_sample.json"),
    "babi_dialog": Sample("dialog_babi_task6_dstc2", "data/dialog-bAbI-tasks/dialog-babi-task6dev.txt"),
    "camrest676": Sample("camrest676", "data/CamRest676.json"),
    "casino": Sample("casino", "data/split/casino_train.json"),
    "chitchat": Sample("demo:chitchat", "dataset.json"),
    "cmu_dog": Sample("cmu_dog", ".", "Conversations/valid/00938aa6d208cc3884c2bae678a23cb9f27f9c31.json"),
    "convlab3": Sample("convlab3_unified", "data/unified_datasets/camrest/dummy_data.json"),
    "convokit": Sample("convokit_subreddit_cornell", "data", "utterances.jsonl"),
    "crosswoz": Sample("crosswoz", "data/crosswoz/val.json.zip"),
    "dailydialog": Sample("dailydialog", "validation", "dialogues_validation.txt"),
    "dealornodeal": Sample("dealornodeal", "src/data/negotiate/val.txt"),
    "dialogstudio": Sample("dialogstudio_format", "open-domain-dialogues/SODA/converted_examples.json"),
    "dream": Sample("dream", "data/dev.json"),
    "empathetic_dialogues": Sample("empathetic_dialogues", "train.csv"),
    "esconv": Sample("esconv", "FailedESConv.json"),
    "folder": Sample("demo:folder", ".", "chat.jsonl"),
    "imad": Sample("demo:imad", "test.json"),
    "kvret": Sample("kvret", "data/KVR/kvret_dev_public.json"),
    "locomo": Sample("locomo", "locomo10.json"),
    "multiwoz": Sample("multiwoz", "val.json"),
    "multiwoz22": Sample("multiwoz22", "dialogstudio/task-oriented-dialogues/MULTIWOZ2_2", "original_examples.json"),
    "mutual": Sample("mutual", "data/mutual/dev/dev_1.txt"),
    "personachat": Sample("convai2_personachat", "ConvAI2/valid_self_original_no_cands.txt"),
    "photochat": Sample("photochat", "test/test_00.json"),
    "sgd": Sample("schema_guided_dialogue", "train", "dialogues_044.json"),
    "soda": Sample("soda", "dialogstudio/open-domain-dialogues/SODA/original_examples.json"),
    "star": Sample("star", "dialogues/10.json"),
    "taskmaster": Sample("taskmaster4", "TM-4-2024/data/data_00.json"),
    "topicalchat": Sample("topical_chat", ".", "conversations/valid_freq.json"),
    "visdial": Sample("visdial", "visdial_1.0_val.json"),
    "wizard_of_wikipedia": Sample("demo:wizard_of_wikipedia", "valid_random_split.json"),
    "woz2": Sample("woz2.0", "data/woz/woz_validate_en.json"),
}
READERS = sorted(SAMPLES)
#: ``swapped``: each reader gets the sample of the next reader in this order (the last gets the first's).
SWAP = {r: READERS[(i + 1) % len(READERS)] for i, r in enumerate(READERS)}
CASES = ("truncated", "corrupt", "swapped", "empty", "binary", "utf16")
#: Readers that use the optional fast parsers (ijson and/or msgspec): their cases run again without them.
FAST_PARSER_READERS = (
    "chitchat", "dream", "imad", "locomo", "multiwoz", "photochat", "topicalchat", "visdial", "wizard_of_wikipedia",
)  # fmt: skip

#: (reader, case) pairs whose generated input is legitimately valid, why, and an independent count of the
#: dialogues it holds (computed from the generated input path): the command must write exactly that many.
ALLOWED: dict[tuple[str, str], tuple[str, Callable[[Path], int]]] = {}


def _mutate_file(data: bytes, case: str, is_zip: bool) -> bytes:
    if case == "truncated":
        return data[: len(data) // 2]
    if case == "corrupt":
        mid = len(data) // 2
        return data[:mid] + b"\x00\xff{]" + data[mid + 4 :]
    if case == "binary":
        return random.Random(21).randbytes(max(len(data), 4096))
    if case == "utf16":
        if is_zip:  # the members' text re-encoded, the archive itself intact
            buf = io.BytesIO()
            with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
                for info in src.infolist():
                    dst.writestr(info.filename, src.read(info).decode("utf-8").encode("utf-16"))
            return buf.getvalue()
        return data.decode("utf-8").encode("utf-16")
    raise AssertionError(case)


def make_input(reader: str, case: str, root: Path) -> Path:
    """The bad input of ``case`` for ``reader``, generated under ``root`` from the real sample."""
    sample = SAMPLES[reader]
    if case == "swapped":
        sample, reader = SAMPLES[SWAP[reader]], SWAP[reader]
    src = sample.source()
    target = root / "in" / reader / src.name
    target.parent.mkdir(parents=True)
    if src.is_dir():
        if case == "empty":
            target.mkdir()
            return target
        shutil.copytree(src, target)
        if case == "swapped":
            return target
        assert sample.main is not None
        main_file = target / sample.main
    else:
        if case == "empty":
            target.write_bytes(b"")
            return target
        shutil.copyfile(src, target)
        if case == "swapped":
            return target
        main_file = target
    main_file.write_bytes(_mutate_file(main_file.read_bytes(), case, main_file.suffix == ".zip"))
    return target


def _block_fast_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    """ijson and msgspec made unimportable, and caches that hold them reset (as test_without_extras does)."""
    from mmdial_data import validate
    from mmdial_data.readers import photochat

    for name in ("msgspec", "ijson"):
        monkeypatch.setitem(sys.modules, name, None)
    for module, cached in ((validate, "_utf8_json_encoder"), (photochat, "_typed_item")):
        monkeypatch.setattr(module, cached, getattr(module, cached).__wrapped__)


def _convert(reader: str, path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["convert", reader, str(path), "--out", str(out)])
    stdout, err = capsys.readouterr()
    return code, stdout, err


def _check_refused(code: int, err: str, out: Path) -> str:
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("mmdial: error: "), lines[0]
    assert "Traceback" not in err and "internal error" not in err, err
    assert not out.exists() and list(out.parent.iterdir()) == [], list(out.parent.iterdir())
    return lines[0]


def _outcome(reader: str, case: str, path: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, stdout, err = _convert(reader, path, out, capsys)
    if (reader, case) in ALLOWED:
        _, count = ALLOWED[reader, case]
        assert code == 0, err
        assert stdout.splitlines()[0] == f"wrote {count(path)} dialogues to {out}", stdout
        out.unlink()
        return code, stdout.splitlines()[0]
    return code, _check_refused(code, err, out)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reader", READERS)
def test_bad_input(
    reader: str, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_input(reader, case, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "o.parquet"
    outcome = _outcome(reader, case, path, out, capsys)
    if reader in FAST_PARSER_READERS:
        _block_fast_parsers(monkeypatch)
        assert _outcome(reader, case, path, out, capsys) == outcome


def test_matrix_covers_every_reader() -> None:
    from mmdial_data.readers import list_readers

    assert sorted(r.name for r in list_readers() if r.name in SAMPLES) == READERS
    assert len(READERS) == 32
    assert set(ALLOWED) <= {(r, c) for r in READERS for c in CASES}
