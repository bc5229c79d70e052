"""Lazy package exports written once, in the package's ``__init__.pyi`` stub.

A package's public names are the ``from module import Name as Name`` lines of its stub.
Type checkers and API-doc tools read the stub; at run time :func:`attach_stub` reads the
same lines and imports each name from its module on first use (PEP 562), so importing
the package stays cheap (no driver, no Spark, no SQLAlchemy engine). This is the pattern
of scientific-python's ``lazy_loader.attach_stub``, in the few lines we need, without a
new dependency.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["LazyExports", "attach_stub"]


class LazyExports:
    """What :func:`attach_stub` read: each public name with the module that defines it."""

    def __init__(self, package: str, homes: dict[str, str], extra: tuple[str, ...]) -> None:
        self.package = package
        #: public name → the module it is imported from
        self.homes = homes
        #: ``__all__``: the stub's names plus the package's own (e.g. ``__version__``)
        self.all = sorted([*homes, *extra])

    def attach(
        self, namespace: dict[str, Any]
    ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
        """The package's ``__getattr__`` (imports a public name once, then keeps it in
        ``namespace``), ``__dir__`` and ``__all__``, as ``lazy_loader.attach_stub`` returns
        them. Unpacked into the three names in one assignment, which API-doc tools leave
        alone (they would try to read ``__all__ = <expression>`` as a literal list)."""

        def __getattr__(name: str) -> Any:
            module = self.homes.get(name)
            if module is None:
                raise AttributeError(f"module {self.package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(module), name)
            namespace[name] = value
            return value

        def __dir__() -> list[str]:
            return list(self.all)

        return __getattr__, __dir__, list(self.all)


def attach_stub(package: str, init_file: str, *, extra: tuple[str, ...] = ()) -> LazyExports:
    """Read the ``__init__.pyi`` beside ``init_file``: its re-export lines are the exports.

    Args:
        package: the package's ``__name__`` (relative imports in the stub resolve to it).
        init_file: the package's ``__file__``.
        extra: names the package defines itself and exports too.

    Raises:
        ImportError: the stub is missing, or holds a line that is not a re-export (a
            mistake caught by the first import, in every test).
    """
    stub = Path(init_file).with_suffix(".pyi")
    try:
        tree = ast.parse(stub.read_text(encoding="utf-8"), filename=str(stub))
    except OSError as exc:
        raise ImportError(f"{package}: cannot read its export stub {stub}: {exc}") from exc
    homes: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            module = importlib.util.resolve_name("." * node.level + (node.module or ""),
                                                 package)
            for alias in node.names:
                if alias.asname != alias.name:
                    raise ImportError(f"{stub}:{node.lineno}: import {alias.name} "
                                      f"'as {alias.name}' (a re-export)")
                homes[alias.name] = module
        elif not isinstance(node, ast.Expr | ast.AnnAssign):
            raise ImportError(f"{stub}:{node.lineno}: only re-exports, annotations and a "
                              "docstring belong in an export stub")
    return LazyExports(package, homes, extra)
