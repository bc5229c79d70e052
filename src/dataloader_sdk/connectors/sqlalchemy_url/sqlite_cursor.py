"""Exact cursor comparisons on SQLite, whatever representation a row's value has.

SQLite has no date type. A ``DATETIME`` column may hold ISO text with a ``T`` or a space,
0-9 fractional digits, ``Z`` or an offset, a Julian day ``REAL`` or unix time, all mixed
in one column; ``MAX()`` and ``<=`` then compare by storage class and as text, where
``'2024-01-01T10:00'`` sorts after ``'2024-01-01 23:00'``. Binding the bound in one
spelling silently skipped every row written in another.

So a date or timestamp cursor is compared through a normalising function on both sides:
``dataloader_ts(col)`` maps every representation to fixed-width UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` (``dataloader_date`` to ``YYYY-MM-DD``), whose text order
is time order, and the bound is bound as the same canonical text (computed in Python,
still a bound parameter). The probe's ``MAX()`` uses the same function, so ``H`` and the
read agree, and the read's values are converted by the same parser, so the watermark
round-trips. Why not SQLite's own ``julianday()``/``unixepoch(x, 'subsec')``: its date
functions keep milliseconds only (an integer count of ms), which would merge two rows a
microsecond apart; a probe of ``typeof()`` or a sample is not exact either (a row of
another form can arrive between the check and the read). The functions are deterministic
Python callbacks registered on each connection; the cost is that a plain index on the
column cannot serve the range (SQLite sources are embedded, local files). A value no
representation fits raises, so the query fails naming it instead of skipping the row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.values import loose_date, loose_timestamp

__all__ = ["CursorKind", "canonical", "kind_of", "normalised", "register_functions"]

CursorKind = Literal["timestamp", "date"]

#: SQL function names registered on every SQLite connection of the connector.
FUNCTIONS: dict[CursorKind, str] = {"timestamp": "dataloader_ts", "date": "dataloader_date"}


def canonical(kind: CursorKind, value: Any) -> str:
    """The canonical, order-preserving text of ``value`` as a ``kind`` cursor."""
    if kind == "timestamp":
        return loose_timestamp(value).isoformat(" ", "microseconds")
    return loose_date(value).isoformat()


def kind_of(arrow_type: pa.DataType | None, value: object = None) -> CursorKind | None:
    """The kind a cursor compares as: from the bound's type, else the column's type.

    A ``datetime`` bound (or a timestamp column) compares as timestamps, a date against a
    date column as dates; anything else is compared as it is stored.
    """
    if isinstance(value, datetime):
        return "timestamp"
    column = None
    if arrow_type is not None and pa.types.is_timestamp(arrow_type):
        column = "timestamp"
    elif arrow_type is not None and pa.types.is_date(arrow_type):
        column = "date"
    if isinstance(value, date):
        # A date bound on a timestamp column is midnight of that day, as in typed SQL.
        return "timestamp" if column == "timestamp" else "date"
    if value is None:
        return column  # type: ignore[return-value]
    return None


def normalised(kind: CursorKind, columns: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    """``f(col)``, or ``COALESCE(f(a), f(b), ...)`` for a COALESCE cursor."""
    fn = getattr(sa.func, FUNCTIONS[kind])
    parts = [fn(c) for c in columns]
    return parts[0] if len(parts) == 1 else sa.func.coalesce(*parts)


def register_functions(dbapi_conn: Any, bad: list[str]) -> None:
    """Register the normalising functions on one ``sqlite3`` connection.

    ``bad`` collects the (truncated) value that made a function fail, for the error.
    """
    for kind, name in FUNCTIONS.items():
        dbapi_conn.create_function(name, 1, _wrap(kind, bad), deterministic=True)


def _wrap(kind: CursorKind, bad: list[str]) -> Callable[[Any], str | None]:
    def fn(value: Any) -> str | None:
        if value is None:
            return None
        try:
            return canonical(kind, value)
        except (TypeError, ValueError):
            bad[:] = [f"{value!r:.60} ({type(value).__name__})"]
            raise
    return fn
