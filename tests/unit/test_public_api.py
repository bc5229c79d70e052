"""The curated public surfaces: the top-level package and ``dataloader_sdk.strategies``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import dataloader_sdk
import dataloader_sdk.strategies
from dataloader_sdk._lazy import attach_stub

STUB = Path(dataloader_sdk.__file__).with_suffix(".pyi")


def _stub_imports() -> dict[str, str]:
    """``name -> module`` of the top-level stub, read independently of ``_lazy.py``."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.module is not None and node.level == 0
            for alias in node.names:
                assert alias.asname == alias.name, f"{alias.name}: import it 'as' itself"
                found[alias.name] = node.module
    return found


def test_the_export_list_is_the_stub_and_nothing_else() -> None:
    homes = _stub_imports()
    assert dataloader_sdk._EXPORTS.homes == homes
    assert sorted(dataloader_sdk.__all__) == sorted([*homes, "__version__"])
    init = Path(dataloader_sdk.__file__).read_text(encoding="utf-8")
    assert not any(name in init for name in ("DataLoader", "ControlStore", "TYPE_CHECKING")), \
        "the names are written once, in __init__.pyi"


def test_every_export_resolves_from_its_module() -> None:
    homes = _stub_imports()
    for name in dataloader_sdk.__all__:
        value = getattr(dataloader_sdk, name)
        if name != "__version__":
            assert getattr(importlib.import_module(homes[name]), name) is value
    assert sorted(dir(dataloader_sdk)) == sorted(dataloader_sdk.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        dataloader_sdk.Nope  # noqa: B018


@pytest.mark.parametrize(("line", "problem"), [
    ("from json import dumps\n", "import dumps 'as dumps'"),
    ("X = 1\n", "only re-exports"),
])
def test_a_stub_line_that_is_not_a_re_export_is_refused(
    tmp_path: Path, line: str, problem: str,
) -> None:
    (tmp_path / "__init__.pyi").write_text(f'"""doc"""\nfrom json import loads as loads\n{line}')
    with pytest.raises(ImportError, match=problem):
        attach_stub("somepkg", str(tmp_path / "__init__.py"))
    (tmp_path / "__init__.pyi").write_text("from .sub import Thing as Thing\nv: str\n")
    assert attach_stub("somepkg", str(tmp_path / "__init__.py"), extra=("v",)).homes == \
        {"Thing": "somepkg.sub"}


def test_strategies_export_what_a_strategy_plugin_needs() -> None:
    for name in dataloader_sdk.strategies.__all__:
        assert getattr(dataloader_sdk.strategies, name) is not None
    assert {"Strategy", "PlanContext", "OptionReader", "describe_state"} <= set(
        dataloader_sdk.strategies.__all__)
