"""The import arrows of docs/architecture.md, checked over the sources (no package is imported).

Every ``import`` and ``from ... import`` in every module counts, including those inside functions (a
function-level import can hide a circle but not remove it); imports under ``if TYPE_CHECKING:`` do not (they
never run). A module importing its own parent package (``mmdial_data.readers.x`` -> ``mmdial_data.readers``) is
not an edge: the parent's ``__init__`` runs first anyway.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parent.parent / "packages"

#: Which of our packages each package may import (docs/architecture.md).
ALLOWED: dict[str, set[str]] = {
    "mmdial_data": set(),
    "mmdial_metrics": {"mmdial_data"},
    "mmdial_retrieval": {"mmdial_data"},
    "mmdial_augment": {"mmdial_data", "mmdial_retrieval", "mmdial_metrics"},
    "mmdial_fusion": {"mmdial_data", "mmdial_retrieval", "mmdial_metrics"},
}
#: mmdial-metrics' core needs nothing of ours: only dialogue-level evaluation and the CLI (which runs under the
#: ``mmdial`` root of mmdial-data) may use mmdial_data.
METRICS_USING_DATA = {
    "mmdial_metrics.evaluate",
    "mmdial_metrics.cli",
    "mmdial_metrics.multiwoz.cli",
    "mmdial_metrics.sgd.cli",
}


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for src in sorted(PACKAGES.glob("*/src")):
        for f in sorted(src.rglob("*.py")):
            parts = list(f.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Dotted names ``module`` imports at run time (absolute; relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports at run time."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for name in imported_names(module, path):
            target = _resolve(name)
            if target is None or target == module or module.startswith(target + "."):
                continue
            graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_sees_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("from pkg.b import x\n")
    (pkg / "b.py").write_text("def x():\n    from pkg import a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import y\n")
    names = {m: set(imported_names(m, pkg / f"{m[4:]}.py")) for m in ("pkg.a", "pkg.b", "pkg.c")}
    assert names["pkg.a"] == {"pkg.b", "pkg.b.x"}
    assert names["pkg.b"] == {"pkg", "pkg.a"}
    assert names["pkg.c"] == {"typing", "typing.TYPE_CHECKING"}
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}) == [["pkg.a", "pkg.b"]]


def test_modules_are_found() -> None:
    packages = {m.split(".")[0] for m in MODULES}
    assert packages == set(ALLOWED)
    assert "mmdial_data.readers.photochat" in MODULES and "mmdial_retrieval.embed_result" in MODULES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_import_circle_inside_a_package(package: str) -> None:
    graph = {m: {t for t in ts if t.split(".")[0] == package} for m, ts in import_graph().items()}
    assert [c for c in cycles(graph) if c[0].split(".")[0] == package] == []


def test_imports_between_packages_follow_the_arrows() -> None:
    wrong = []
    for module, targets in import_graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other == package:
                continue
            if other not in ALLOWED[package]:
                wrong.append(f"{module} -> {target}")
            elif package == "mmdial_metrics" and not any(
                module == m or module.startswith(m + ".") for m in METRICS_USING_DATA
            ):
                wrong.append(f"{module} -> {target} (mmdial-metrics' core needs nothing of ours)")
    assert wrong == []
