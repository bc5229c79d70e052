"""Snowflake's probe hooks: the driver's typed answers, an ``INFORMATION_SCHEMA`` signature."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from dataloader_sdk.connectors.sql.probes import ProbeHost

if TYPE_CHECKING:
    from dataloader_sdk.model import ScalarValue, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["SnowflakeProbes"]

# Snowflake's epoch placeholder for "not tracked" (fakesnow reports it for every table).
_EPOCH_PLUS_A_DAY = datetime(1970, 1, 2, tzinfo=timezone.utc)


class _Host(ProbeHost, Protocol):
    def _query(self, sql: str, params: Sequence[Any], *, action: str,
               obj: SourceObject | None = None) -> list[tuple[Any, ...]]: ...

    def resolve(self, obj: SourceObject) -> tuple[SourceObject, list[tuple[Any, ...]]]: ...


class SnowflakeProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.snowflake.SnowflakeConnector`."""

    def _probe_rows(self: _Host, obj: SourceObject, stmt: SelectStatement) -> list[tuple[Any, ...]]:
        compiled = self.compile(stmt)
        return self._query(compiled.sql, compiled.positional, action="probing", obj=obj)

    def _cursor_value(self: _Host, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        result: ScalarValue = raw  # the driver converts by the column's Snowflake type
        return result

    def _change_signature(self: _Host, obj: SourceObject) -> str | None:
        """``LAST_ALTERED`` and ``ROW_COUNT`` of ``INFORMATION_SCHEMA.TABLES``.

        ``None`` for a view, or where LAST_ALTERED is not maintained (a placeholder at
        the epoch, as fakesnow reports): then strategies fall back to row count and
        max(cursor).
        """
        resolved, _ = self.resolve(obj)
        rows = self._query(
            "SELECT LAST_ALTERED, ROW_COUNT FROM INFORMATION_SCHEMA.TABLES "
            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", (resolved.schema, resolved.table),
            action="reading INFORMATION_SCHEMA.TABLES for", obj=obj)
        if not rows:
            return None
        altered, count = rows[0]
        if not isinstance(altered, datetime) or count is None:
            return None
        aware = altered if altered.tzinfo else altered.replace(tzinfo=timezone.utc)
        if aware < _EPOCH_PLUS_A_DAY:
            return None
        return f"{aware.astimezone(timezone.utc).isoformat()}:{count}"
