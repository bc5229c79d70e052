"""The ``clickhouse`` connector: clickhouse-connect over HTTP(S), or its in-process chDB backend.

* Selects compile through a small SQLAlchemy dialect (:class:`ClickHouseDialect`): every
  identifier is double-quoted (ClickHouse names are case-sensitive), and every value is a
  ClickHouse *server-side* query parameter ``{p0:Type}`` whose type is chosen from the
  Python value, so values never enter the SQL text.
* Metadata comes from ``system.columns`` / ``system.tables`` (``DESCRIBE TABLE (query)``
  for a ``source_query``); the type map is in :mod:`.types`.
* Reads stream ClickHouse's ``ArrowStream`` output (``query_arrow_stream``) block by
  block on a dedicated client, conformed to the declared schema and sliced to
  ``batch_rows``; probes are typed like the read (see
  :mod:`~dataloader_sdk.connectors.clickhouse.probes`).
* ``options.chdb_path`` selects clickhouse-connect's chDB backend (an embedded ClickHouse
  engine on a local directory): the stand-in the tests use, and handy for local files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.clickhouse.jdbc import DEFAULT_PORTS, clickhouse_jdbc_options
from dataloader_sdk.connectors.clickhouse.options import ClickHouseOptions
from dataloader_sdk.connectors.clickhouse.probes import ClickHouseProbes
from dataloader_sdk.connectors.clickhouse.sql import (
    ChParam,
    ClickHouseDialect,
    param_text,
    param_type,
)
from dataloader_sdk.connectors.clickhouse.types import (
    Projection,
    UnsupportedTypeError,
    arrow_type_for,
    conform,
    parse_type,
)
from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
from dataloader_sdk.connectors.sql import ErrorKind, classify_message
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sql.resources import KeptSession, owned_stream
from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.model import (
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["ClickHouseConnector", "ClickHouseConnectorFactory"]


# ClickHouse error codes a retry can fix: timeouts and network (159, 209, 210), server
# busy (202, 203), memory pressure (241), too many parts / replicas (252, 285, 319),
# read-only replica (242), Keeper (999, 425), cancellation and aborts (394, 236), and an
# interrupted stream (32). Everything else with a code (60 unknown table, 516 auth, 62
# syntax, 47 unknown identifier ...) is permanent.
_TRANSIENT_CODES = frozenset(
    {32, 159, 202, 203, 209, 210, 236, 241, 242, 252, 285, 319, 394, 425, 999}
)
_CODE_RE = re.compile(r"\bCode:\s*(\d+)")



class ClickHouseConnector(ClickHouseProbes, JdbcSqlConnector):
    """A ClickHouse source. Not shared between threads.

    Args:
        config: a validated ``clickhouse`` source config.
        secret: the password of ``username``, or ``None``.
    """

    dialect = ClickHouseDialect()
    jdbc = clickhouse_jdbc_options

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: ClickHouseOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or ClickHouseOptions.parse(config)
        self._client: KeptSession[Any] = KeptSession(self._new_client)
        self._projections: dict[SourceColumn, Projection] = {}

    # -- connection --------------------------------------------------------------------

    def _new_client(self) -> Any:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import Error

        opts = self.options
        try:
            chdb = opts.chdb_path
            if chdb is not None:
                return clickhouse_connect.get_client(
                    interface="chdb", path=None if chdb == ":memory:" else chdb,
                    database=self.config.database)
            return clickhouse_connect.get_client(
                host=self.config.host, port=self.config.port or DEFAULT_PORTS[opts.secure],
                username=self.config.username or "default",
                password=self.secret.reveal() if self.secret is not None else "",
                database=self.config.database or "__default__", secure=opts.secure,
                verify=opts.verify, connect_timeout=opts.connect_timeout,
                send_receive_timeout=opts.send_receive_timeout,
                # One session per client would forbid a probe while a read streams.
                autogenerate_session_id=False,
            )
        except Error as exc:
            raise self.classify_error(exc, action="connecting") from None

    @property
    def client(self) -> Any:
        """The clickhouse-connect client for metadata and probes (opened on first use)."""
        return self._client.get()

    def check(self) -> None:
        """Connect and run ``SELECT 1``."""
        self._query("SELECT 1", {}, action="running SELECT 1")

    def _release(self) -> None:
        """Close the client (idempotent). Readers close their own client."""
        self._client.close()

    # -- errors -------------------------------------------------------------------------

    def error_kind(self, exc: BaseException) -> ErrorKind:
        """The ClickHouse error code where there is one, else the message."""
        code = getattr(exc, "code", None)
        if not isinstance(code, int):
            match = _CODE_RE.search(str(exc))
            code = int(match.group(1)) if match else None
        if code is not None:
            return "transient" if code in _TRANSIENT_CODES else "permanent"
        from clickhouse_connect.driver.exceptions import OperationalError

        kind = classify_message(str(exc))
        # Without a server code an OperationalError is the network failing (refused,
        # reset, timed out): worth a retry unless the message says otherwise.
        if isinstance(exc, OperationalError) and not any(
            h in str(exc).lower() for h in ("authentication", "password", "denied")
        ):
            return "transient"
        return kind

    # -- queries ------------------------------------------------------------------------

    def _query(self, sql: str, params: Mapping[str, Any], *, action: str,
               obj: SourceObject | None = None,
               settings: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        from clickhouse_connect.driver.exceptions import Error

        try:
            result = self.client.query(sql, parameters=dict(params) or None,
                                       settings=dict(settings or {}))
            return [tuple(r) for r in result.result_rows]
        except Error as exc:
            raise self.classify_error(exc, action=action, obj=obj) from None

    def _database(self, obj: SourceObject) -> str:
        if obj.schema:
            return obj.schema
        rows = self._query("SELECT currentDatabase()", {}, action="reading currentDatabase()")
        return str(rows[0][0])

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """Every value travels as a typed server-side parameter (see :func:`param_type`)."""
        return ChParam(param_type(value))

    def _params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {k: param_text(v) for k, v in params.items()}

    # -- metadata -----------------------------------------------------------------------

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        """Columns with their declared Arrow types (see docs/connectors/clickhouse.md).

        Raises:
            SourcePermanentError: missing table, or a column type dataloader cannot load.
        """
        if obj.query is not None:
            raw = [(str(r[0]), str(r[1])) for r in self._query(
                f"DESCRIBE TABLE ({obj.query})", {}, action="describing", obj=obj)]
        else:
            raw = self._table_columns(obj)
        out = []
        for name, text in raw:
            parsed = parse_type(text)
            try:
                arrow, projection = arrow_type_for(parsed, name)
            except UnsupportedTypeError as exc:
                raise SourcePermanentError(
                    f"source {self.config.name!r}: {obj} {exc}") from None
            column = SourceColumn(name, text, arrow, parsed.nullable)
            self._projections[column] = projection
            out.append(column)
        return out

    def _table_columns(self, obj: SourceObject) -> list[tuple[str, str]]:
        database = self._database(obj)
        rows = self._query(
            "SELECT name, type FROM system.columns WHERE database = {db:String} "
            "AND table = {t:String} ORDER BY position",
            {"db": database, "t": obj.table}, action="reading columns of", obj=obj)
        if not rows:
            known = self._query(
                "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name "
                "LIMIT 51", {"db": database}, action="listing tables", obj=obj)
            raise self.missing_table_error(SourceObject(table=obj.table, schema=database),
                                           [str(r[0]) for r in known])
        return [(str(n), str(t)) for n, t in rows]

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """The table's primary-key columns (ClickHouse does not enforce uniqueness).

        Empty for a query, a table without a key, or a key with expressions
        (``toDate(ts)``): such a key does not identify rows by column values.
        """
        if obj.query is not None:
            return ()
        names = {c.name for c in self.columns(obj)}
        rows = self._query(
            "SELECT primary_key FROM system.tables WHERE database = {db:String} "
            "AND name = {t:String}",
            {"db": self._database(obj), "t": obj.table}, action="reading the primary key of",
            obj=obj)
        text = str(rows[0][0]).strip() if rows else ""
        if text.startswith("(") and text.endswith(")"):  # ORDER BY (id) is stored as "(id)"
            text = text[1:-1]
        parts = [p.strip().strip('`"') for p in text.split(",") if p.strip()]
        return tuple(parts) if parts and all(p in names for p in parts) else ()

    # -- read --------------------------------------------------------------------------

    def project(self, src: sa.FromClause, column: SourceColumn) -> ColumnElement[Any]:
        """``toString``/``toJSONString`` for the types read as text (see the type map)."""
        col: ColumnElement[Any] = src.c[column.name]
        kind = self._projections.get(column, "native")
        if kind == "string":
            return sa.func.toString(col)
        if kind == "json":
            return sa.func.toJSONString(col)
        return col

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """clickhouse-connect's errors and OSError (a connection lost mid-stream)."""
        from clickhouse_connect.driver.exceptions import Error

        return (Error, OSError)

    #: ``DateTime`` seconds as timestamps (see :func:`.types.conform`).
    conform_batch = staticmethod(conform)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Arrow blocks of ``max_block_size`` rows on a client of the read's own."""
        compiled = self.compile(self.build_select(select, columns))

        def start(client: Any) -> Iterator[pa.RecordBatch]:
            stream = client.query_arrow_stream(
                compiled.sql, parameters=self._params(compiled.params) or None,
                settings={"max_block_size": batch_rows})
            stream.__enter__()
            return owned_stream(stream, iter, lambda s: s.__exit__(None, None, None))

        # A dedicated client: the stream holds its connection until drained.
        return owned_stream(self._new_client(), start)


class ClickHouseConnectorFactory(SqlConnectorFactory[ClickHouseOptions, ClickHouseConnector]):
    """Validates ``clickhouse`` source configs and opens :class:`ClickHouseConnector`\\ s."""

    #: The ``default`` user often has no password; a secret is passed when configured.
    needs_secret = False
    summary = "ClickHouse over HTTP (clickhouse-connect) or embedded chDB, Arrow streams"
    options = ClickHouseOptions
    connector = ClickHouseConnector
    driver_of = "clickhouse"
