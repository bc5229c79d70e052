"""Table shapes the kit runs beyond the conformance table: keys, types, names.

A :class:`TableShape` says which columns a test table has (by portable kind, see
:data:`ColumnKind`), which form its primary key, and makes deterministic rows for it.
A source harness turns the kinds into its own column types. :data:`SHAPES` lists the
shapes the kit checks every connector with: a composite key, a table without a primary
key (for ``full`` and ``append_only``), a wide table of every kind, and names a
connector must quote (mixed case, spaces, reserved words, non-ASCII).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

__all__ = ["SHAPES", "ColumnKind", "ShapeColumn", "TableShape", "shape", "value_of"]

#: Portable column kinds. ``decimal`` is NUMERIC(18, 3); ``timestamp`` is without a time
#: zone, with microseconds; ``string`` holds up to 200 characters, non-ASCII included.
ColumnKind = Literal["int64", "float64", "decimal", "string", "bool", "date", "timestamp"]

_BASE_DAY = date(2024, 1, 1)
_BASE_TIME = datetime(2024, 5, 1, 12, 0, 0, 123456)


@dataclass(frozen=True)
class ShapeColumn:
    """One column of a shape: its name, kind and whether it may hold NULL."""

    name: str
    kind: ColumnKind
    nullable: bool = True


@dataclass(frozen=True)
class TableShape:
    """A test table: columns, primary key (empty: none) and the column that orders
    changes (the cursor of ``incremental`` and ``append_only`` loads; never NULL)."""

    id: str
    columns: tuple[ShapeColumn, ...]
    primary_key: tuple[str, ...] = ()
    cursor: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The column names, in order."""
        return tuple(c.name for c in self.columns)

    def rows(self, count: int, start: int = 0, generation: int = 0) -> list[tuple[object, ...]]:
        """``count`` deterministic rows (row ``i`` for ``i`` from ``start``); every seventh
        row holds NULL in the nullable columns.

        ``generation`` changes every column but the key: generation 1 of row ``i`` is
        an update of generation 0 with a later cursor (for ``i`` below 1000).
        """
        def value(column: ShapeColumn, i: int) -> object:
            if column.nullable and i % 7 == 3:
                return None
            shift = 0 if column.name in self.primary_key else 1000 * generation
            return value_of(column.kind, i + shift)

        return [tuple(value(c, i) for c in self.columns) for i in range(start, start + count)]


def value_of(kind: ColumnKind, i: int) -> object:
    """Row ``i``'s value of a column of ``kind`` (distinct per row where the kind allows)."""
    if kind == "int64":
        return i
    if kind == "float64":
        return i / 4
    if kind == "decimal":
        return Decimal(i * 1001).scaleb(-3)  # always three decimal places, e.g. 2.002
    if kind == "string":
        return f"row {i} · grüße ✓"
    if kind == "bool":
        return i % 2 == 0
    if kind == "date":
        return _BASE_DAY + timedelta(days=i % 400)
    return _BASE_TIME + timedelta(seconds=i, microseconds=i)


_KEYED = TableShape("keyed", (
    ShapeColumn("id", "int64", nullable=False), ShapeColumn("name", "string"),
    ShapeColumn("amount", "decimal"), ShapeColumn("changed_at", "timestamp", nullable=False)),
    ("id",), "changed_at")

SHAPES: tuple[TableShape, ...] = (
    _KEYED,
    TableShape("composite_key", (
        ShapeColumn("region", "string", nullable=False),
        ShapeColumn("id", "int64", nullable=False),
        ShapeColumn("qty", "int64"), ShapeColumn("changed_at", "timestamp", nullable=False)),
        ("region", "id"), "changed_at"),
    TableShape("no_key", (
        ShapeColumn("seq", "int64", nullable=False), ShapeColumn("payload", "string"),
        ShapeColumn("day", "date")), (), "seq"),
    TableShape("wide", (
        ShapeColumn("id", "int64", nullable=False),
        ShapeColumn("changed_at", "timestamp", nullable=False),
        *(ShapeColumn(f"{kind}_{n}", kind)
          for n in range(3)
          for kind in ("int64", "float64", "decimal", "string", "bool", "date", "timestamp"))),
        ("id",), "changed_at"),
    TableShape("hostile_names", (
        ShapeColumn("Id", "int64", nullable=False), ShapeColumn("Mixed Case", "string"),
        ShapeColumn("select", "int64", nullable=False), ShapeColumn("naïve_größe", "decimal"),
        ShapeColumn("dash-col", "date")), ("Id",), "select"),
)


def shape(shape_id: str) -> TableShape:
    """The shape called ``shape_id``."""
    for candidate in SHAPES:
        if candidate.id == shape_id:
            return candidate
    raise KeyError(shape_id)
