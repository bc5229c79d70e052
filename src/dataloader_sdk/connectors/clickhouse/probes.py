"""ClickHouse's probe hooks: answers typed like the read, a parts-based change signature.

Probes run with ``aggregate_functions_null_for_empty=1``, so the max of an empty table is
``None``, not ClickHouse's default ``0``; a ``MAX``/``MIN`` answer is conformed to the
column's declared Arrow type, as a read's batch is.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from dataloader_sdk.connectors.clickhouse.types import Projection, conform, parse_type
from dataloader_sdk.connectors.sql.probes import ProbeHost, signature
from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.model import MaxOf, MinOf

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.errors import SourceError
    from dataloader_sdk.model import RowCount, ScalarValue, SourceObject
    from dataloader_sdk.statements import SelectStatement

__all__ = ["ClickHouseProbes"]

_PROBE_SETTINGS = {"aggregate_functions_null_for_empty": 1}


class _Host(ProbeHost, Protocol):
    @property
    def client(self) -> Any: ...

    @property
    def _projections(self) -> Mapping[SourceColumn, Projection]: ...

    def _query(self, sql: str, params: Mapping[str, Any], *, action: str,
               obj: SourceObject | None = None,
               settings: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]: ...

    def _database(self, obj: SourceObject) -> str: ...

    def classify_error(self, exc: BaseException, *, action: str,
                       obj: SourceObject | None = None, hint: str = "") -> SourceError: ...

    def missing_columns_error(self, obj: SourceObject, missing: Sequence[str],
                              known: Sequence[str]) -> SourcePermanentError: ...


def _cursor_column(host: _Host, obj: SourceObject, name: str) -> SourceColumn:
    """The cursor column ``name``, refused where the read converts its type to text."""
    for column in host.columns(obj):
        if column.name == name:
            if host._projections.get(column) != "native":
                raise SourcePermanentError(
                    f"source {host.config.name!r}: column {name!r} of {obj} has type "
                    f"{column.source_type}, which cannot be a cursor; use an integer, "
                    "decimal, date or timestamp column")
            return column
    raise host.missing_columns_error(obj, [name], [c.name for c in host.columns(obj)])


class ClickHouseProbes:
    """The probe hooks of :class:`~dataloader_sdk.connectors.clickhouse.ClickHouseConnector`."""

    def _probe_value(self: _Host, obj: SourceObject, request: MaxOf | MinOf | RowCount,
                     stmt: SelectStatement) -> Any:
        """The answer as an Arrow value of the declared type (a count as is)."""
        from clickhouse_connect.driver.exceptions import Error

        compiled = self.compile(stmt)
        try:
            table = self.client.query_arrow(compiled.sql, parameters=self._params(
                compiled.params) or None, settings=dict(_PROBE_SETTINGS))
        except Error as exc:
            raise self.classify_error(exc, action="probing", obj=obj) from None
        if table.num_rows == 0:
            return None
        if not isinstance(request, MaxOf | MinOf):
            return table.column(0)[0].as_py()
        column = _cursor_column(self, obj, request.expr.columns[0])
        arr = table.column(0).combine_chunks()
        batch = conform(pa.record_batch([arr], names=[column.name]),
                        pa.schema([pa.field(column.name, column.arrow_type)]))
        value = batch.column(0)[0].as_py()
        if isinstance(value, Decimal) and parse_type(column.source_type).name.startswith("UInt"):
            return int(value)  # UInt64 is decimal(20,0) in Arrow only because Delta lacks it
        return value

    def _cursor_value(self: _Host, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        result: ScalarValue = raw  # conformed to the declared type by _probe_value
        return result

    def _change_signature(self: _Host, obj: SourceObject) -> str | None:
        """Rows, the highest block number and the highest data version of the active parts.

        Every insert takes a new block number and every mutation (``ALTER TABLE ... UPDATE``
        / ``DELETE``, lightweight deletes) takes one as the new data version of the parts
        it rewrites, so any change changes the signature, while a background merge (which
        keeps both maxima and the row count) does not. Other engines have no parts:
        ``None``.
        """
        database = self._database(obj)
        rows = self._query(
            "SELECT engine FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            {"db": database, "t": obj.table}, action="reading the engine of", obj=obj)
        if not rows or "MergeTree" not in str(rows[0][0]):
            return None
        rows = self._query(
            "SELECT sum(rows), max(max_block_number), max(data_version) "
            "FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active",
            {"db": database, "t": obj.table}, action="reading parts of", obj=obj)
        return signature(rows[0]) if rows else None
