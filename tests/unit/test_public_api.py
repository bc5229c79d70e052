"""The curated public surfaces: the top-level package and ``dataloader_sdk.strategies``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import dataloader_sdk
import dataloader_sdk.strategies

INIT = Path(dataloader_sdk.__file__)


def _type_checking_imports() -> dict[str, set[str]]:
    """``module -> names`` of the ``if TYPE_CHECKING:`` block of the top-level package."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    found: dict[str, set[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module is not None
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: import it 'as' itself (re-export)"
            found.setdefault(node.module, set()).add(alias.name)
    return found


def test_the_type_checkers_mirror_equals_the_export_list() -> None:
    exports = {module: set(names) for module, names in dataloader_sdk._EXPORTS.items()}
    assert _type_checking_imports() == exports


def test_every_export_resolves_from_its_module() -> None:
    for name in dataloader_sdk.__all__:
        value = getattr(dataloader_sdk, name)
        if name != "__version__":
            module = importlib.import_module(dataloader_sdk._HOME[name])
            assert getattr(module, name) is value
    assert sorted(dir(dataloader_sdk)) == sorted(dataloader_sdk.__all__)


def test_strategies_export_what_a_strategy_plugin_needs() -> None:
    for name in dataloader_sdk.strategies.__all__:
        assert getattr(dataloader_sdk.strategies, name) is not None
    assert {"Strategy", "PlanContext", "OptionReader", "describe_state"} <= set(
        dataloader_sdk.strategies.__all__)
