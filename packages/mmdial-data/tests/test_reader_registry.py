"""The reader registry: built-in readers, readers registered at run time, and ``mmdial.readers`` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import mmdial_data.readers as readers


@pytest.fixture()
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An empty registry whose entry-point scan finds one plugin reader; returns the groups scanned."""
    scanned: list[str] = []

    def entry_points(*, group: str) -> list[EntryPoint]:
        scanned.append(group)
        value = "mmdial_data.readers.dailydialog:read_dailydialog"
        return [EntryPoint("plugin_chat", value, group), EntryPoint("photochat", "elsewhere:read", group)]

    monkeypatch.setattr(readers, "READERS", readers.new_registry())
    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    return scanned


def test_builtin_reader_needs_no_entry_point_scan(fresh_registry: list[str]) -> None:
    assert readers.get_reader("photochat").target == "mmdial_data.readers.photochat:read_photochat"
    assert fresh_registry == []  # the scan (all installed distributions) is skipped for a built-in name


def test_entry_point_readers_are_found_and_never_replace_builtins(fresh_registry: list[str]) -> None:
    info = readers.get_reader("plugin_chat")
    assert (info.name, info.target) == ("plugin_chat", "mmdial_data.readers.dailydialog:read_dailydialog")
    assert fresh_registry == ["mmdial.readers"]
    assert readers.get_reader("photochat").target == "mmdial_data.readers.photochat:read_photochat"
    names = [r.name for r in readers.list_readers()]
    assert "plugin_chat" in names and names.count("photochat") == 1 and fresh_registry == ["mmdial.readers"]
    with pytest.raises(KeyError, match="did you mean 'plugin_chat'"):
        readers.get_reader("plugin_chta")


def test_runtime_registration_rejects_taken_names(fresh_registry: list[str]) -> None:
    def read_nothing(path: Any, *, split: Any, policy: Any) -> Any:
        return iter(())

    readers.register_reader("nothing", "reads nothing")(read_nothing)
    assert readers.get_reader("nothing").target is read_nothing
    with pytest.raises(ValueError, match="already registered"):
        readers.register_reader("plugin_chat", "taken by an entry point")(read_nothing)


def test_every_builtin_reader_states_a_licence_and_citation() -> None:
    import importlib

    for name, (_, target) in readers._BUILTIN.items():
        module = importlib.import_module(target.partition(":")[0])
        assert isinstance(module.LICENSE, str) and module.LICENSE.strip(), name
        assert isinstance(module.CITATION, str) and module.CITATION.strip(), name
        info = readers.get_reader(name)
        assert (info.license, info.citation) == (module.LICENSE, module.CITATION)


def test_readers_without_the_constants_have_no_licence(fresh_registry: list[str]) -> None:
    def read_nothing(path: Any, *, split: Any, policy: Any) -> Any:
        return iter(())

    readers.register_reader("nothing", "reads nothing")(read_nothing)
    assert readers.get_reader("nothing").license is None and readers.get_reader("nothing").citation is None
    missing = readers.ReaderInfo("gone", "a plugin whose module is not installed", "no_such_module_xyz:read")
    assert missing.license is None and missing.citation is None
    # an entry-point reader whose module defines them has them
    assert readers.get_reader("plugin_chat").license == "CC BY-NC-SA 4.0"


def test_sources_command_shows_each_licence(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from mmdial_data.cli import main

    assert main(["sources"]) == 0
    lines = capsys.readouterr().out.splitlines()
    infos = readers.list_readers()
    assert [line.split()[0] for line in lines] == [r.name for r in infos]  # one line per reader, name first
    for line, info in zip(lines, infos, strict=True):
        assert info.description in line
        if info.name in readers._BUILTIN:  # readers registered at run time (by other tests, too) may have none
            assert info.license and info.license in line
    assert main(["sources", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {"name": r.name, "description": r.description, "license": r.license, "citation": r.citation} for r in infos
    ]


def test_card_lists_the_licence_of_each_source(tmp_path: Path) -> None:
    from mmdial_data import build_dataset
    from mmdial_data.testing import demo_dir

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: licences\nsources:\n"
        f"  - reader: dailydialog\n    paths: [{demo_dir() / 'dailydialog'}]\n"
        f"  - reader: photochat\n    paths: [{demo_dir() / 'photochat'}]\n",
        encoding="utf-8",
    )
    build_dataset(recipe, tmp_path / "out", progress=False)
    card = (tmp_path / "out" / "card.md").read_text(encoding="utf-8")
    sources = card.split("## Sources", 1)[1]
    for name in ("dailydialog", "photochat"):
        license = readers.get_reader(name).license
        assert license
        line = next(line for line in sources.splitlines() if line.startswith(f"- `{name}`"))
        assert line.endswith(f"; licence: {license}")
