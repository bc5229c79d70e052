"""Oracle's probe hooks: exact numbers, and an ``ORA_ROWSCN`` plus DML-counter signature.

Probes run with ``fetch_decimals=True``, so ``MaxOf`` of a ``NUMBER`` is an exact
``Decimal``/``int``, never a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from dataloader_sdk.connectors.oracle import types
from dataloader_sdk.connectors.sql.probes import ProbeHost, cursor_column, first_value, signature
from dataloader_sdk.connectors.values import to_python

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.model import ScalarValue, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["OracleProbes"]


class _Host(ProbeHost, Protocol):
    @property
    def _projections(self) -> Mapping[SourceColumn, types.Projection]: ...

    def _rows(self, sql: str, params: dict[str, Any] | None = None, *, action: str,
              obj: SourceObject | None = None) -> list[tuple[Any, ...]]: ...

    def _params(self, params: Any) -> dict[str, Any]: ...

    def _owner_and_name(self, obj: SourceObject) -> tuple[str | None, str]: ...


class OracleProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.oracle.OracleConnector`."""

    def _probe_rows(self: _Host, obj: SourceObject, stmt: SelectStatement) -> list[tuple[Any, ...]]:
        compiled = self.compile(stmt)
        return self._rows(compiled.sql, self._params(compiled.params), action="probing", obj=obj)

    def _cursor_value(self: _Host, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        described = cursor_column(self, obj, column)
        if described is None or self._projections.get(described) == "number_text":
            result: ScalarValue = raw  # an unbounded NUMBER's max stays an exact number
            return result
        converted: ScalarValue = to_python(raw, described.arrow_type)
        return converted

    def _change_signature(self: _Host, obj: SourceObject) -> str | None:
        """``MAX(ORA_ROWSCN)`` plus the ``ALL_TAB_MODIFICATIONS`` counters.

        ORA_ROWSCN is per block unless the table has ROWDEPENDENCIES, so it only grows
        when something in the table changed; the DML counters (flushed by Oracle every
        few minutes or by DBMS_STATS.FLUSH_DATABASE_MONITORING_INFO) add deletes and
        truncates. check_and_load also compares row count and max(cursor).
        """
        owner, table = self._owner_and_name(obj)
        stmt: SelectStatement = sa.select(sa.func.max(sa.literal_column("ORA_ROWSCN"))).select_from(
            sa.table(str(obj.table), schema=obj.schema))
        scn = self._rows(self.compile(stmt).sql, action="reading ORA_ROWSCN of", obj=obj)
        mods = self._rows(
            "SELECT INSERTS, UPDATES, DELETES, TRUNCATED FROM ALL_TAB_MODIFICATIONS "
            "WHERE TABLE_OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND TABLE_NAME = :name AND PARTITION_NAME IS NULL",
            {"owner": owner, "name": table}, action="reading modifications of", obj=obj)
        counters = signature(mods[0]) if mods else "-"
        return f"scn:{first_value(scn)}:mods:{counters}"
