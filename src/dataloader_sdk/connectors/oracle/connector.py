"""The ``oracle`` connector: python-oracledb in thin mode (no Oracle Client libraries).

* Metadata comes from ``ALL_TAB_COLUMNS`` and ``ALL_CONSTRAINTS``/``ALL_CONS_COLUMNS``; a
  ``source_query`` is described from ``cursor.description`` of ``... WHERE 1 = 0``.
* Names follow SQLAlchemy's Oracle convention: a lower-case name in the config means the
  case-insensitive (upper-case) Oracle name, and columns come back lower-case; a mixed- or
  upper-case name is quoted and matched exactly.
* Reads stream ``Connection.fetch_df_batches`` (Arrow data frames built by the driver, no
  Python object per value) on a connection of their own; every batch is conformed to the
  declared schema of :mod:`~dataloader_sdk.connectors.oracle.types`.
* Probes run with ``fetch_decimals=True`` (see :mod:`~dataloader_sdk.connectors.oracle.probes`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import oracle as ora_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
from dataloader_sdk.connectors.oracle import types
from dataloader_sdk.connectors.oracle.jdbc import ORACLE_JDBC_DRIVER, oracle_jdbc_options
from dataloader_sdk.connectors.oracle.options import OracleOptions
from dataloader_sdk.connectors.oracle.probes import OracleProbes
from dataloader_sdk.connectors.sql import ErrorKind, classify_message, cursor_column
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sql.resources import KeptSession, owned_stream
from dataloader_sdk.model import (
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

__all__ = ["ORACLE_JDBC_DRIVER", "OracleConnector", "OracleConnectorFactory",
           "oracle_error_kind", "oracle_jdbc_options"]

DEFAULT_PORT = 1521

# ORA codes a retry can fix: no listener / timeouts / lost connection, instance starting
# or shutting down, listener out of handlers, deadlock, serialization, resource busy.
_TRANSIENT_ORA = {
    12541, 12170, 3113, 3114, 3135, 12537, 12547, 12560, 12571, 12528, 12519, 12520,
    12516, 1033, 1034, 1089, 1090, 60, 8177, 54, 51, 30006, 25408, 12592,
}
# python-oracledb's own (DPY-) codes: 4011 connection closed, 6005 cannot connect
# (socket level), 6000 listener refused (resolved from the ORA code in its text).
_TRANSIENT_DPY = {4011, 6005}
_ORA_IN_TEXT = re.compile(r"ORA-(\d{5})")
_DB_TYPES = {
    "VARCHAR": "VARCHAR2", "NVARCHAR": "NVARCHAR2", "TIMESTAMP_TZ": "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_LTZ": "TIMESTAMP WITH LOCAL TIME ZONE", "LONG_RAW": "LONG RAW",
}



def oracle_error_kind(exc: BaseException) -> ErrorKind:
    """Transient or permanent from the ORA-/DPY- code of an oracledb error."""
    err = exc.args[0] if getattr(exc, "args", None) else None
    code = getattr(err, "code", 0) or 0
    full = str(getattr(err, "full_code", "") or "")
    text = str(exc)
    if not code:
        embedded = _ORA_IN_TEXT.search(text)
        code = int(embedded.group(1)) if embedded else 0
    if code:
        # 1017 bad login, 942 missing table, 904 bad column, 1031 privileges, 12514 unknown
        # service, 12505 unknown SID, 28000 locked account ...: permanent.
        return "transient" if code in _TRANSIENT_ORA else "permanent"
    if full.startswith("DPY-") and full[4:].isdigit():
        return "transient" if int(full[4:]) in _TRANSIENT_DPY else "permanent"
    return classify_message(text)


def _close_quietly(conn: Any) -> None:
    # A session or read connection the server already dropped: nothing is left to free.
    with contextlib.suppress(Exception):
        conn.close()


def _arrow_batches(frames: Iterable[Any]) -> Iterator[pa.RecordBatch]:
    for frame in frames:
        # An empty oracledb DataFrame may hold no arrays at all and then cannot export an
        # Arrow stream (IndexError in oracledb 26); the declared schema already describes
        # it, so skip it.
        if not frame.column_arrays() or frame.num_rows() == 0:
            continue
        yield from pa.table(frame).to_batches()


class OracleConnector(OracleProbes, JdbcSqlConnector):
    """An Oracle source through python-oracledb thin mode. Not shared between threads."""

    dialect: Dialect = ora_dialect.oracledb.dialect()  # type: ignore[no-untyped-call]
    jdbc = oracle_jdbc_options

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: OracleOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or OracleOptions.parse(config)
        self._conn: KeptSession[Any] = KeptSession(self.connect, _close_quietly)
        self._projections: dict[SourceColumn, types.Projection] = {}

    # -- connection ------------------------------------------------------------------

    def connect(self) -> Any:
        """A new oracledb thin-mode connection (tests override this with a fake)."""
        import oracledb

        c, opts = self.config, self.options
        kwargs: dict[str, Any] = {
            "user": c.username, "host": c.host, "port": c.port or DEFAULT_PORT,
            "tcp_connect_timeout": opts.tcp_connect_timeout, "protocol": opts.protocol,
        }
        if opts.sid is not None:
            kwargs["sid"] = opts.sid
        else:
            kwargs["service_name"] = str(opts.service_name)
        if self.secret is not None:
            kwargs["password"] = self.secret.reveal()
        try:
            return oracledb.connect(**kwargs)
        except oracledb.Error as exc:
            raise self.classify_error(exc, action="connecting") from None

    @property
    def conn(self) -> Any:
        """The session for metadata and probes (opened on first use)."""
        return self._conn.get()

    def check(self) -> None:
        """Connect and run ``SELECT 1 FROM DUAL``."""
        self._rows("SELECT 1 FROM DUAL", action="running SELECT 1 FROM DUAL")

    def _release(self) -> None:
        """Close the session (idempotent). Readers close their own connections."""
        self._conn.close()

    #: ORA-/DPY- codes first, the message otherwise.
    error_kind = staticmethod(oracle_error_kind)

    def _execute(self, sql: str, params: dict[str, Any] | None = None, *, action: str,
                 obj: SourceObject | None = None, hint: str = ""
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        import oracledb

        try:
            cur = self.conn.cursor()
            try:
                cur.execute(sql, params or {}, fetch_decimals=True)
                description = [tuple(d) for d in cur.description or ()]
                rows = [tuple(r) for r in cur.fetchall()] if description else []
                return rows, description
            finally:
                cur.close()
        except oracledb.Error as exc:
            raise self.classify_error(exc, action=action, obj=obj, hint=hint) from None

    def _rows(self, sql: str, params: dict[str, Any] | None = None, *, action: str,
              obj: SourceObject | None = None) -> list[tuple[Any, ...]]:
        return self._execute(sql, params, action=action, obj=obj)[0]

    # -- metadata ----------------------------------------------------------------------

    def _owner_and_name(self, obj: SourceObject) -> tuple[str | None, str]:
        schema = self.dialect.denormalize_name(obj.schema) if obj.schema else None
        return schema, str(self.dialect.denormalize_name(str(obj.table)))

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        """Columns with their declared Arrow types (see docs/connectors/oracle.md).

        Raises:
            SourcePermanentError: the table does not exist, or a column's type has no
                Arrow mapping (the message names the column and what to do).
        """
        raw = self._query_columns(obj) if obj.query is not None else self._table_columns(obj)
        return self._mapped_columns(obj, raw, types.arrow_type_for, self._projections,
                                    converted="TO_CHAR(col)")

    def _table_columns(self, obj: SourceObject) -> list[tuple[str, types.OracleType, bool]]:
        owner, table = self._owner_and_name(obj)
        rows = self._rows(
            "SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE, NULLABLE "
            "FROM ALL_TAB_COLUMNS WHERE OWNER = "
            "COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND TABLE_NAME = :name ORDER BY COLUMN_ID",
            {"owner": owner, "name": table}, action="reading columns of", obj=obj)
        if not rows:
            known = self._rows(
                "SELECT TABLE_NAME FROM ALL_TABLES WHERE OWNER = "
                "COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
                "UNION SELECT VIEW_NAME FROM ALL_VIEWS WHERE OWNER = "
                "COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) ORDER BY 1",
                {"owner": owner}, action="listing tables", obj=obj)
            raise self.missing_table_error(
                obj, [str(self.dialect.normalize_name(str(r[0]))) for r in known])

        def num(v: Any) -> int | None:
            return None if v is None else int(v)

        return [(str(self.dialect.normalize_name(str(n))), types.OracleType(str(t), num(p), num(s)),
                 str(nu) != "N") for n, t, p, s, nu in rows]

    def _query_columns(self, obj: SourceObject) -> list[tuple[str, types.OracleType, bool]]:
        stmt: SelectStatement = sa.select(sa.literal_column("*")).select_from(
            self.from_clause(obj, ())).where(sa.literal_column("1") == sa.literal_column("0"))
        _, description = self._execute(self.compile(stmt).sql, action="describing", obj=obj,
                                       hint="check the source_query")
        out = []
        for d in description:
            type_name = str(getattr(d[1], "name", d[1])).removeprefix("DB_TYPE_")
            precision, scale = d[4], d[5]
            if type_name == "NUMBER" and (scale == -127 or (precision == 0 and not scale)):
                precision, scale = None, None  # oracledb's marks of an unbounded NUMBER
            out.append((str(self.dialect.normalize_name(str(d[0]))),
                        types.OracleType(_DB_TYPES.get(type_name, type_name), precision, scale),
                        bool(d[6])))
        return out

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns in key order (empty for a query or a keyless table)."""
        if obj.query is not None:
            return ()
        self.columns(obj)
        owner, table = self._owner_and_name(obj)
        rows = self._rows(
            "SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS c JOIN ALL_CONS_COLUMNS cc "
            "ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME "
            "WHERE c.CONSTRAINT_TYPE = 'P' "
            "AND c.OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) "
            "AND c.TABLE_NAME = :name ORDER BY cc.POSITION",
            {"owner": owner, "name": table}, action="reading the primary key of", obj=obj)
        return tuple(str(self.dialect.normalize_name(str(r[0]))) for r in rows)

    # -- probe statements (answers: see .probes) --------------------------------------

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """Dates and timestamps bound as text through TO_DATE/TO_TIMESTAMP[_TZ]."""
        return types.bind_type(value) or super().bind_type(value)

    def _params(self, params: Any) -> dict[str, Any]:
        return {k: types.param_value(v) for k, v in dict(params).items()}

    def build_probe(self, obj: SourceObject, request: MaxOf | MinOf | RowCount
                    ) -> SelectStatement:
        """As the base; a UTC/ROWID column keeps its projection (numbers stay numbers)."""
        stmt = super().build_probe(obj, request)
        if isinstance(request, RowCount):
            return stmt
        column = cursor_column(self, obj, request.expr.columns[0])
        projection = self._projections.get(column, "native") if column else "native"
        if projection in ("utc", "rowid") and column is not None:
            return stmt.with_only_columns(
                types.project(stmt.selected_columns[0], projection, column.arrow_type))
        return stmt

    # -- read --------------------------------------------------------------------------

    def project(self, src: sa.FromClause, column: SourceColumn) -> ColumnElement[Any]:
        """The column wrapped in its projection (see the type module)."""
        return types.project(src.c[column.name], self._projections.get(column, "native"),
                             column.arrow_type)

    truncate_timestamps = True  # nanosecond TIMESTAMP(9) → the declared µs, as oracledb does

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """oracledb's errors."""
        import oracledb

        return (oracledb.Error,)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Arrow batches from ``fetch_df_batches`` on a connection of the read's own."""
        compiled = self.compile(self.build_select(select, columns))
        params = self._params(compiled.params)
        return owned_stream(self.connect(), lambda conn: _arrow_batches(conn.fetch_df_batches(
            statement=compiled.sql, parameters=params, size=batch_rows, fetch_decimals=True)),
            _close_quietly)


class OracleConnectorFactory(SqlConnectorFactory[OracleOptions, OracleConnector]):
    """Validates ``oracle`` source configs and opens :class:`OracleConnector`\\ s."""

    summary = "Oracle through python-oracledb thin mode, Arrow batches from fetch_df_batches"
    options = OracleOptions
    connector = OracleConnector
    driver_of = "oracle"
