"""Reading a source in a child process (mmdial_data.read_ahead) against reading it here."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import mmdial_data.read_ahead as read_ahead_module
import mmdial_data.readers as readers
from mmdial_data import build_dataset
from mmdial_data.errors import ErrorPolicy, MMDialDataError, SourceFormatError
from mmdial_data.read_ahead import can_read_ahead, read_ahead, should_read_ahead
from mmdial_data.readers import ReaderInfo, read_source_batches, register_reader
from mmdial_data.schema import Dialogue
from mmdial_data.testing import broken_dailydialog, demo_dir


def _same(a: Any, b: Any) -> bool:
    return a == b if isinstance(a, Dialogue) or isinstance(b, Dialogue) else bool(a.equals(b))


@pytest.mark.parametrize("reader", ["photochat", "dailydialog", "visdial", "multiwoz"])
def test_read_ahead_yields_what_read_source_batches_yields(reader: str) -> None:
    here = list(read_source_batches(reader, demo_dir() / reader))
    there = list(read_ahead(reader, [demo_dir() / reader], policy=ErrorPolicy()))
    assert len(here) == len(there) > 0
    assert all(_same(a, b) for a, b in zip(here, there, strict=True))


def test_bad_records_reach_the_policy_in_order(tmp_path: Path) -> None:
    folder = broken_dailydialog(tmp_path)
    here_policy, there_policy = ErrorPolicy("skip"), ErrorPolicy("skip")
    here = list(read_source_batches("dailydialog", folder, on_error=here_policy))
    there = list(read_ahead("dailydialog", [folder], policy=there_policy))
    assert here == there
    assert here_policy.skipped == there_policy.skipped and there_policy.skipped
    with pytest.raises(SourceFormatError) as expected:
        list(read_source_batches("dailydialog", folder))
    got: list[Any] = []
    with pytest.raises(SourceFormatError) as raised:
        for item in read_ahead("dailydialog", [folder], policy=ErrorPolicy()):
            got.append(item)
    assert str(raised.value) == str(expected.value) and raised.value.record == expected.value.record
    assert got == here[: len(got)]


def test_missing_path_raises_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as expected:
        list(read_source_batches("photochat", tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError) as got:
        list(read_ahead("photochat", [tmp_path / "nothing"], policy=ErrorPolicy()))
    assert str(got.value) == str(expected.value)


def _photochat_files(folder: Path, n_files: int) -> Path:
    items = json.loads((demo_dir() / "photochat" / "train" / "train_00.json").read_text())
    for f in range(n_files):
        out = [{**item, "dialogue_id": f * 100 + i} for i, item in enumerate(items)]
        path = folder / "train" / f"train_{f:02d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out))
    return folder


def test_closing_early_stops_the_child_and_removes_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    children: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        children.append(popen(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(read_ahead_module.subprocess, "Popen", recording_popen)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(read_ahead_module, "_SHM", str(scratch))
    stream = read_ahead("photochat", [_photochat_files(tmp_path / "in", 40)], policy=ErrorPolicy(), depth=1)
    first = next(stream)
    assert first.num_rows == 2
    stream.close()
    assert len(children) == 1 and children[0].returncode is not None
    assert list(scratch.iterdir()) == []  # the child's tables are gone with it


def test_a_child_that_dies_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "dying_reader.py"
    module.write_text(
        "import os\n"
        "from mmdial_data.readers import read_source\n"
        "def read(path, *, split, policy):\n"
        "    yield from read_source('dailydialog', path)\n"
        "    os._exit(3)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(readers, "READERS", readers.READERS.copy())
    readers.READERS.register("dying", ReaderInfo("dying", "dies after its dialogues", "dying_reader:read"))
    got = []
    with pytest.raises(MMDialDataError, match="ended without finishing \\(exit code 3"):
        for d in read_ahead("dying", [demo_dir() / "dailydialog"], policy=ErrorPolicy()):
            got.append(d)
    assert len(got) == 3  # what came before the crash


def test_readers_registered_at_run_time_stay_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "READERS", readers.READERS.copy())

    @register_reader("local_only", "registered in this process")
    def read_local(path: Path, *, split: str | None, policy: ErrorPolicy) -> Any:
        yield from read_source_batches("dailydialog", path)

    assert can_read_ahead("photochat") and not can_read_ahead("local_only")
    assert not should_read_ahead("local_only", [demo_dir()], True)
    with pytest.raises(ValueError, match="registered at run time"):
        next(read_ahead("local_only", [demo_dir() / "dailydialog"], policy=ErrorPolicy()))


def test_no_child_without_an_interpreter_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(read_ahead_module.sys, "executable", "")
    assert not can_read_ahead("photochat") and not should_read_ahead("photochat", [demo_dir()], True)
    with pytest.raises(ValueError, match=r"needs sys\.executable"):
        next(read_ahead("photochat", [demo_dir() / "photochat"], policy=ErrorPolicy()))


def test_auto_decision_by_size_and_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _photochat_files(tmp_path, 2)
    size = sum(f.stat().st_size for f in folder.rglob("*.json"))
    monkeypatch.setattr(read_ahead_module, "available_cpus", lambda: 4)
    monkeypatch.setattr(read_ahead_module, "READ_AHEAD_MIN_BYTES", size)
    assert should_read_ahead("photochat", [folder], None)
    assert not should_read_ahead("photochat", [folder], False)
    monkeypatch.setattr(read_ahead_module, "READ_AHEAD_MIN_BYTES", size + 1)
    assert not should_read_ahead("photochat", [folder], None) and should_read_ahead("photochat", [folder], True)
    monkeypatch.setattr(read_ahead_module, "READ_AHEAD_MIN_BYTES", 0)
    monkeypatch.setattr(read_ahead_module, "available_cpus", lambda: 3)
    assert not should_read_ahead("photochat", [folder], None)


def test_build_with_read_ahead_equals_build_here(tmp_path: Path) -> None:
    folder = _photochat_files(tmp_path / "in", 5)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: ra\nshard_size: 4\nsources:\n"
        f"  - reader: photochat\n    paths: [{folder}]\n"
        f"  - reader: dailydialog\n    paths: [{demo_dir() / 'dailydialog'}]\n"
    )
    here = build_dataset(recipe, tmp_path / "here", progress=False, read_ahead=False)
    there = build_dataset(recipe, tmp_path / "there", progress=False, read_ahead=True)
    assert [p.read_bytes() for p in here.shards] == [p.read_bytes() for p in there.shards]
    assert (here.dialogues, here.counts) == (there.dialogues, there.counts) and here.dialogues == 13
    assert os.listdir(tmp_path / "there") == os.listdir(tmp_path / "here")
