"""The ``sqlserver`` connector: pyodbc for metadata and probes, arrow-odbc for bulk reads.

The connector has two separable halves:

* the **dialect**: structured selects and probes compile to T-SQL with SQLAlchemy's
  ``mssql`` dialect (identifiers in ``[brackets]``, values as ``CAST(? AS <type>)``
  parameters), type projections in :mod:`~dataloader_sdk.connectors.sqlserver.types`;
* the **transport**: ODBC (:mod:`~dataloader_sdk.connectors.sqlserver.odbc`), which runs
  any SQL with ``?`` placeholders.

The tests run the transport, catalog queries (``INFORMATION_SCHEMA``), type map and
projections for real over unixODBC against PostgreSQL, through a subclass that overrides
only the dialect-facing hooks (:attr:`SqlServerConnector.dialect`,
:meth:`SqlServerConnector.connection_attributes`, ...); it lives in ``tests/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import mssql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.arrow import Chunk
from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
from dataloader_sdk.connectors.sql import cursor_column
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sqlserver import types
from dataloader_sdk.connectors.sqlserver.jdbc import SQLSERVER_JDBC_DRIVER, sqlserver_jdbc_options
from dataloader_sdk.connectors.sqlserver.odbc import (
    OdbcSession,
    connection_string,
    odbc_error_kind,
    param_text,
    stream_arrow_odbc,
    stream_pyodbc,
)
from dataloader_sdk.connectors.sqlserver.options import DEFAULT_DRIVER, SqlServerOptions
from dataloader_sdk.connectors.sqlserver.probes import SqlServerProbes
from dataloader_sdk.errors import SourceError
from dataloader_sdk.model import (
    CursorExpr,
    MaxOf,
    MinOf,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret
    from dataloader_sdk.statements import SelectStatement

__all__ = [
    "SQLSERVER_JDBC_DRIVER",
    "SqlServerConnector",
    "SqlServerConnectorFactory",
    "sqlserver_jdbc_options",
]

DEFAULT_PORT = 1433


class SqlServerConnector(SqlServerProbes, JdbcSqlConnector):
    """A SQL Server source over ODBC. Not shared between threads.

    Args:
        config: a validated ``sqlserver`` source config.
        secret: the SQL login's password (``None`` for integrated authentication set up
            through the driver).
    """

    dialect: Dialect = mssql.pyodbc.dialect(paramstyle="qmark")  # type: ignore[no-untyped-call]
    jdbc = sqlserver_jdbc_options
    #: The statement that names the login's default schema.
    default_schema_sql = "SELECT SCHEMA_NAME()"

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: SqlServerOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or SqlServerOptions.parse(config)
        self.read_path = self.options.read_path
        self.login_timeout = self.options.login_timeout
        self.max_text_size = self.options.max_text_size
        self.max_binary_size = self.options.max_binary_size
        self.session = OdbcSession(self._connection_string(), self._on_connect_error,
                                   self.login_timeout)
        self._projections: dict[SourceColumn, types.Projection] = {}
        self._default_schema: str | None = None

    # -- connection ------------------------------------------------------------------

    def connection_attributes(self, password: str | None) -> list[tuple[str, str | None]]:
        """The ODBC connection attributes (keyword, value); ``None`` values are left out."""
        c, opts = self.config, self.options
        yes_no = {True: "yes", False: "no"}
        return [
            ("Driver", opts.driver or DEFAULT_DRIVER),
            ("Server", f"tcp:{c.host},{c.port or DEFAULT_PORT}"), ("Database", c.database),
            ("UID", c.username), ("PWD", password),
            ("Encrypt", yes_no[opts.encrypt]),
            ("TrustServerCertificate", yes_no[opts.trust_server_certificate]),
            ("APP", "dataloader-sdk"),
        ]

    def _connection_string(self) -> str:
        pw = self.secret.reveal() if self.secret is not None else None
        return connection_string(self.connection_attributes(pw))

    def _on_connect_error(self, exc: BaseException) -> SourceError:
        return self.classify_error(exc, action="connecting")

    def check(self) -> None:
        """Connect and run ``SELECT 1``."""
        self._query("SELECT 1", action="running SELECT 1")

    def _release(self) -> None:
        """Close the metadata session (idempotent). Readers close their own connections."""
        self.session.close()

    #: SQLSTATE first (pyodbc ``args[0]``, arrow-odbc message), the message otherwise.
    error_kind = staticmethod(odbc_error_kind)

    def _query(self, sql: str, params: Sequence[Any] = (), *, action: str,
               obj: SourceObject | None = None, hint: str = ""
               ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows and description of ``sql`` on the metadata session; errors classified."""
        import pyodbc  # type: ignore[import-not-found,unused-ignore]

        try:
            return self.session.query(sql, params)
        except pyodbc.Error as exc:
            raise self.classify_error(exc, action=action, obj=obj, hint=hint) from None

    def _rows(self, sql: str, params: Sequence[Any] = (), *, action: str,
              obj: SourceObject | None = None) -> list[tuple[Any, ...]]:
        return self._query(sql, params, action=action, obj=obj)[0]

    # -- metadata ----------------------------------------------------------------------

    def _schema_of(self, obj: SourceObject) -> str:
        """``obj.schema``, or the login's default schema (asked once)."""
        if obj.schema is not None:
            return obj.schema
        if self._default_schema is None:
            rows = self._rows(self.default_schema_sql, action="reading the default schema")
            self._default_schema = str(rows[0][0]) if rows and rows[0][0] else "dbo"
        return self._default_schema

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        """Columns with their declared Arrow types (see docs/connectors/sqlserver.md).

        Raises:
            SourcePermanentError: the table does not exist, or a column's type has no
                Arrow mapping (the message names the column and what to do).
        """
        raw = (self._query_columns(obj) if obj.query is not None
               else self._table_columns(obj))
        return self._mapped_columns(obj, raw, types.arrow_type_for, self._projections,
                                    converted="CONVERT(NVARCHAR(MAX), col)")

    def _type_name(self, name: str) -> str:
        """The SQL Server type name of an ``INFORMATION_SCHEMA`` ``DATA_TYPE``."""
        return name.lower()

    def _table_columns(self, obj: SourceObject) -> list[tuple[str, types.MssqlType, bool]]:
        rows = self._rows(
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, "
            "NUMERIC_SCALE, DATETIME_PRECISION, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
            "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (self._schema_of(obj), obj.table), action="reading columns of", obj=obj,
        )
        if not rows:
            known = self._rows(
                "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? "
                "ORDER BY 1", (self._schema_of(obj),), action="listing tables", obj=obj,
            )
            raise self.missing_table_error(obj, [str(r[0]) for r in known])

        def num(v: Any) -> int | None:
            return None if v is None else int(v)

        return [
            (str(n), types.MssqlType(self._type_name(str(t)), num(ln), num(p), num(s), num(dp)),
             str(nu).upper() == "YES")
            for n, t, ln, p, s, dp, nu in rows
        ]

    def _query_columns(self, obj: SourceObject) -> list[tuple[str, types.MssqlType, bool]]:
        """Result columns of a ``source_query`` from the ODBC description (no rows read)."""
        stmt: SelectStatement = sa.select(sa.literal_column("*")).select_from(
            self.from_clause(obj, ())).where(sa.literal_column("1") == sa.literal_column("0"))
        _, description = self._query(self.compile(stmt).sql, action="describing", obj=obj,
                                     hint="check the source_query")
        return [(str(d[0]), _described_type(d), bool(d[6])) for d in description]

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns in key order (empty for a query or a keyless table)."""
        if obj.query is not None:
            return ()
        self.columns(obj)  # a missing table gets the helpful error
        rows = self._rows(
            "SELECT k.COLUMN_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS c "
            "JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k "
            "ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA "
            "AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND k.TABLE_NAME = c.TABLE_NAME "
            "WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' "
            "AND c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY k.ORDINAL_POSITION",
            (self._schema_of(obj), obj.table), action="reading the primary key of", obj=obj,
        )
        return tuple(str(r[0]) for r in rows)

    # -- probe statements (answers: see .probes) --------------------------------------

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """Every value is sent as text and cast on the server to its own type."""
        return types.CastParam(self.cast_type(value))

    def cast_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """The server-side type a bound value is cast to (see :func:`.types.cast_type`)."""
        return types.cast_type(value)

    def build_probe(self, obj: SourceObject, request: MaxOf | MinOf | RowCount
                    ) -> SelectStatement:
        """As the base, with ``COUNT_BIG(*)`` and the cursor column's projection applied."""
        stmt = super().build_probe(obj, request)
        if isinstance(request, RowCount):
            return stmt.with_only_columns(types.RowCountAll())
        projection = self._projection_of(obj, request.expr)
        return stmt.with_only_columns(
            types.project(stmt.selected_columns[0], projection))

    def _projection_of(self, obj: SourceObject, expr: CursorExpr) -> types.Projection:
        column = cursor_column(self, obj, expr.columns[0])
        return self._projections.get(column, "native") if column is not None else "native"

    # -- read --------------------------------------------------------------------------

    def project(self, src: sa.FromClause, column: SourceColumn) -> ColumnElement[Any]:
        """The column wrapped in its projection (GUID text, UTC instant, XML text)."""
        return types.project(src.c[column.name], self._projections.get(column, "native"))

    truncate_timestamps = True  # datetime2(7) 100 ns ticks → µs, as pyodbc does

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """pyodbc's or arrow-odbc's errors (by read path)."""
        if self.read_path == "pyodbc":
            import pyodbc  # type: ignore[import-not-found,unused-ignore]

            return (pyodbc.Error,)
        import arrow_odbc  # type: ignore[import-untyped,unused-ignore]

        return (arrow_odbc.Error,)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[Chunk]:
        compiled = self.compile(self.build_select(select, columns))
        params = [param_text(v) for v in compiled.positional]
        if self.read_path == "pyodbc":
            return stream_pyodbc(self.session, compiled.sql, params, batch_rows)
        return stream_arrow_odbc(
            self.session.conn_str, compiled.sql, params, schema, batch_rows,
            max_text_size=self.max_text_size, max_binary_size=self.max_binary_size,
            login_timeout=self.login_timeout,
        )



class SqlServerConnectorFactory(SqlConnectorFactory[SqlServerOptions, SqlServerConnector]):
    """Validates ``sqlserver`` source configs and opens :class:`SqlServerConnector`\\ s."""

    summary = "SQL Server over ODBC: pyodbc for catalogs and probes, arrow-odbc for reads"
    options = SqlServerOptions
    connector = SqlServerConnector
    driver_of = "sqlserver"


def _described_type(d: tuple[Any, ...]) -> types.MssqlType:
    """A SQL Server type from a pyodbc description row (Python type, size, precision)."""
    import datetime as dt
    import decimal
    import uuid

    py, size, precision, scale = d[1], d[3], d[4], d[5]
    if py is bool:
        return types.MssqlType("bit")
    if py is int:
        return types.MssqlType("bigint")
    if py is float:
        return types.MssqlType("float")
    if py is decimal.Decimal:
        return types.MssqlType("decimal", precision=precision or 38, scale=scale or 0)
    if py is dt.datetime:
        return types.MssqlType("datetime2", datetime_precision=7)
    if py is dt.date:
        return types.MssqlType("date")
    if py is dt.time:
        return types.MssqlType("time")
    if py in (bytes, bytearray):
        return types.MssqlType("varbinary", max_length=size or -1)
    if py is uuid.UUID:
        return types.MssqlType("uniqueidentifier")
    return types.MssqlType("nvarchar", max_length=size or -1)
