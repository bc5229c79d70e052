"""Public type names for the SQLAlchemy statements a connector builds.

SQLAlchemy 2.1 made ``Select`` variadic (``Select[Unpack[_Ts]]``, one type per column,
PEP 646), where 2.0 had one type parameter for the whole row (``Select[_TP]``). A plugin
that annotates with ``sa.Select[Any]`` fails ``mypy --strict`` under 2.1 as soon as it
selects typed columns: ``select(a, b)`` is a ``Select[int, str]``, not a ``Select[Any]``.
Annotate with :data:`SelectStatement` instead::

    import sqlalchemy as sa
    from dataloader_sdk.statements import SelectStatement

    def build_probe(self, obj, request) -> SelectStatement:
        return sa.select(sa.func.max(column), sa.func.count()).select_from(table)

It means "a SELECT of any columns": ``Select[*tuple[Any, ...]]``, the form SQLAlchemy 2.1
uses itself. At run time it is plain ``sqlalchemy.Select`` (nothing is subscripted), so
importing it works with every SQLAlchemy 2.x. Type checkers see the 2.1 form; a plugin
type-checked against SQLAlchemy 2.0 annotates with ``sa.Select[Any]``, which is that
version's spelling of the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

__all__ = ["SelectStatement"]

if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from typing_extensions import Unpack  # typing.Unpack from Python 3.11 on

    #: A SELECT of any number of columns of any types (see the module docstring).
    SelectStatement: TypeAlias = "sa.Select[Unpack[tuple[Any, ...]]]"
else:
    SelectStatement = sa.Select
