"""The import graph of ``src/dataloader_sdk``, read from the source (``ast``), not by importing.

Every import counts, also the ones under ``TYPE_CHECKING`` and inside functions: a circle
of type-only imports still means the modules cannot be read, tested or moved apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "dataloader_sdk"




def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in (SRC / ROOT).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module ``name`` (a module, or a name inside one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> Iterator[tuple[str, str]]:
    """``(imported module, imported name or "")`` for every import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield base, alias.name


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets: set[str] = set()
        for imported, name in _imports(module):
            if not imported.startswith(ROOT):
                continue
            full = f"{imported}.{name}" if name else imported
            target = full if full in MODULES else _owner(imported)
            if target is not None and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


@pytest.mark.parametrize("module", ["secrets", "plugins", "connectors.base", "loader"])
def test_the_cycles_issue_12_named_stay_broken(module: str) -> None:
    """secrets <-> plugins <-> connectors.base, and loader <-> the OpenLineage observer."""
    graph = _graph()
    name = f"{ROOT}.{module}"
    assert not any(name in c for c in _cycles(graph))


def _package(module: str) -> str:
    """The first-level package a module belongs to; the CLI's shim and ``_cli`` are one."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return "_cli" if top == "cli" else top


def _private(module: str, name: str) -> bool:
    parts = module.split(".")[1:] + ([name] if name else [])
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def test_cli_demo_and_integrations_import_no_private_name_of_another_package() -> None:
    offenders = set()
    for module in MODULES:
        if _package(module) not in ("_cli", "demo", "integrations"):
            continue
        for imported, name in _imports(module):
            if not imported.startswith(ROOT + ".") or _package(imported) == _package(module):
                continue
            if _private(imported, name):
                offenders.add((module, f"{imported}.{name}" if name else imported))
    assert offenders == set()




def test_engines_import_no_connector() -> None:
    graph = _graph()
    offenders = {module for module, targets in graph.items()
                 if _package(module) == "engines"
                 and any(_package(t) == "connectors" for t in targets)}
    assert offenders == set()
