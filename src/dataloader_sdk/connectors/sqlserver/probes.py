"""SQL Server's probe hooks: values in the declared type, a change-tracking signature.

Probe values travel as text cast on the server (see
:func:`~dataloader_sdk.connectors.sqlserver.odbc.param_text`); the answer is converted by
the type map, so a ``datetimeoffset`` maximum is an aware UTC ``datetime``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from dataloader_sdk.connectors.sql.probes import ProbeHost, column_type
from dataloader_sdk.connectors.sqlserver.odbc import param_text
from dataloader_sdk.connectors.values import to_python

if TYPE_CHECKING:
    from dataloader_sdk.model import ScalarValue, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["SqlServerProbes"]


class _Host(ProbeHost, Protocol):
    def _rows(self, sql: str, params: Sequence[Any] = (), *, action: str,
              obj: SourceObject | None = None) -> list[tuple[Any, ...]]: ...


class SqlServerProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.sqlserver.SqlServerConnector`."""

    def _probe_rows(self: _Host, obj: SourceObject, stmt: SelectStatement) -> list[tuple[Any, ...]]:
        compiled = self.compile(stmt)
        return self._rows(compiled.sql, [param_text(v) for v in compiled.positional],
                          action="probing", obj=obj)

    def _cursor_value(self: _Host, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        result: ScalarValue = to_python(raw, column_type(self, obj, column))
        return result

    def _change_signature(self: _Host, obj: SourceObject) -> str | None:
        """Change tracking version, else max(rowversion) + partition row counts, else None.

        ``sys.partitions`` row counts alone would miss updates, so they are used only with
        a rowversion column (which catches inserts and updates; the counts catch deletes).
        """
        name = self.dialect.identifier_preparer.format_table(
            sa.table(str(obj.table), schema=obj.schema))
        rows = self._rows(
            "SELECT CHANGE_TRACKING_CURRENT_VERSION() FROM sys.change_tracking_tables "
            "WHERE object_id = OBJECT_ID(?)", (name,), action="reading change tracking of",
            obj=obj)
        if rows and rows[0][0] is not None:
            return f"ct:{rows[0][0]}"
        rowversion = next((c.name for c in self.columns(obj)
                           if c.source_type in ("timestamp", "rowversion")), None)
        if rowversion is None:
            return None
        table = sa.table(str(obj.table), sa.column(rowversion), schema=obj.schema)
        top = self.compile(sa.select(sa.cast(sa.func.max(table.c[rowversion]), sa.BigInteger))
                           .select_from(table))
        rows = self._rows(top.sql, action="reading the rowversion of", obj=obj)
        counts = self._rows(
            "SELECT SUM(rows) FROM sys.partitions WHERE object_id = OBJECT_ID(?) "
            "AND index_id IN (0, 1)", (name,), action="reading partition counts of", obj=obj)
        return f"rv:{rows[0][0]}:{counts[0][0] if counts else None}" if rows else None
