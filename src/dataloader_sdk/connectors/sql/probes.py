"""Probes on the template: what a database's ``probes.py`` may use of its connector.

:meth:`SqlConnector.probe <dataloader_sdk.connectors.sql.SqlConnector.probe>` is the
template method every SQL connector shares; a database states only its hooks:

* ``_probe_value(obj, request, stmt)``: run the ``MAX``/``MIN``/``COUNT`` statement and
  return its one value (``None`` for no row);
* ``_cursor_value(obj, column, raw)``: a ``MAX``/``MIN`` answer as the watermark value
  (default: :func:`~dataloader_sdk.connectors.sql.typed_cursor_value` by the type map);
* ``_change_signature(obj)``: the table's change signature (default ``None``).

A built-in database keeps its hooks in ``connectors/<db>/probes.py``, as a mixin of its
connector whose methods are typed against :class:`ProbeHost` extended with the connector
methods they call: the probes module never imports its connector (no import cycle), and
mypy checks that the connector provides what the probes use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.connectors.sql.compile import CompiledQuery
    from dataloader_sdk.model import SourceConfig, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["ProbeHost", "column_type", "cursor_column", "first_value", "signature"]


class ProbeHost(Protocol):
    """The template steps a database's probe hooks use of their connector."""

    @property
    def config(self) -> SourceConfig:
        """The source (its ``name`` appears in every error message)."""
        ...

    @property
    def dialect(self) -> Dialect:
        """The dialect probes compile for."""
        ...

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        """The described columns of ``obj`` (cached by the template)."""
        ...

    def compile(self, stmt: SelectStatement) -> CompiledQuery:
        """``stmt`` compiled for the dialect, values as parameters."""
        ...


def cursor_column(host: ProbeHost, obj: SourceObject, name: str) -> SourceColumn | None:
    """The described column ``name`` of ``obj`` (``None`` where a query's has no such)."""
    return next((c for c in host.columns(obj) if c.name == name), None)


def column_type(host: ProbeHost, obj: SourceObject, name: str) -> pa.DataType:
    """The Arrow type of column ``name`` of ``obj``; text where it is not described."""
    column = cursor_column(host, obj, name)
    return column.arrow_type if column is not None else pa.string()


def first_value(rows: Sequence[Sequence[Any]]) -> Any:
    """The first value of the first row, ``None`` for no row (a probe's one answer)."""
    return rows[0][0] if rows else None


def signature(parts: Iterable[object]) -> str:
    """Change-signature parts joined as one string (``"12:3:0"``)."""
    return ":".join(str(part) for part in parts)
