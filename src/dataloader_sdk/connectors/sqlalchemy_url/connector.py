"""The ``sqlalchemy`` connector: any database SQLAlchemy has a dialect for.

Configured by ``options.url`` (``sqlite:///path.db``, ``mysql+pymysql://user@host/db``) or
by ``options.drivername`` plus the usual host/port/database/username fields. The password
comes only from the source's secret: a URL with a password in it is refused, so the
control database never holds one.

Reads stream with ``stream_results``/``yield_per`` (a server-side cursor where the dialect
has one) and build Arrow batches column by column with the explicit type map in
:mod:`dataloader_sdk.connectors.values`. Used for SQLite in the demo; tested on a
real MariaDB with pymysql, where the session time zone is pinned to UTC (so TIMESTAMP
columns read as instants) and an abandoned server-side read closes its connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.sql import (
    ErrorKind,
    SqlConnector,
    classify_message,
    referenced_columns,
)
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sqlalchemy_url import sqlite_cursor
from dataloader_sdk.connectors.sqlalchemy_url.options import SqlAlchemyOptions
from dataloader_sdk.connectors.sqlalchemy_url.probes import SqlAlchemyProbes
from dataloader_sdk.connectors.sqlalchemy_url.types import MYSQL_DIALECTS, arrow_type_for
from dataloader_sdk.errors import SourceError, SourceTransientError
from dataloader_sdk.model import (
    Compare,
    MaxOf,
    MinOf,
    Predicate,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import REDACTED, redact

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret
    from dataloader_sdk.statements import SelectStatement

__all__ = ["SqlAlchemyConnector", "SqlAlchemyConnectorFactory"]

# MySQL/MariaDB client error numbers (pymysql/mysqlclient put them in args[0]).
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}


class _UtcDateTime(sa.types.TypeDecorator[Any]):
    """Aware datetimes bound as naive UTC (MySQL/MariaDB).

    MySQL drivers format a datetime's wall clock and drop its offset; the connector's
    session time zone is UTC, so the UTC wall clock compares correctly with TIMESTAMP.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(timezone.utc).replace(tzinfo=None)
        return value


def _set_utc_session(dbapi_conn: Any, record: Any) -> None:
    # TIMESTAMP values are converted to and from the session time zone, which defaults
    # to the server's: pin it to UTC so they read as instants whatever the server says.
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SET time_zone = '+00:00'")
    finally:
        cursor.close()


class SqlAlchemyConnector(SqlAlchemyProbes, SqlConnector):
    """A source reached through a SQLAlchemy engine. Not shared between threads."""

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: SqlAlchemyOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or SqlAlchemyOptions.parse(config)
        url = self.options.url
        if secret is not None:
            url = url.set(password=secret.reveal())
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            # The reader may be drained by the Delta writer on another thread.
            connect_args["check_same_thread"] = False
            _require_sqlite_file(config.name, url.database)
        try:
            self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                                           connect_args=connect_args)
        except Exception as exc:  # missing driver module, bad dialect name
            raise self.classify_error(exc, action="creating the engine", hint=(
                "install the DBAPI driver named in the URL (e.g. pymysql) or fix the URL"
            )) from None
        self.dialect: Dialect = self.engine.dialect
        if self.dialect.name in MYSQL_DIALECTS:
            sa.event.listen(self.engine, "connect", _set_utc_session)
        #: The value a SQLite normalising function could not read (for the error message).
        self._bad_value: list[str] = []
        if self.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", lambda dbapi_conn, _record: (
                sqlite_cursor.register_functions(dbapi_conn, self._bad_value)))
        #: Arrow types of the object whose select or probe is being built.
        self._types: dict[str, pa.DataType] = {}
        self._conn: sa.Connection | None = None
        #: The result of a read not yet drained (a server-side cursor on MySQL/MariaDB).
        self._streaming: sa.CursorResult[Any] | None = None

    @property
    def conn(self) -> sa.Connection:
        """The open connection (opened on first use)."""
        if self._conn is None or self._conn.closed:
            try:
                self._conn = self.engine.connect()
            except sa.exc.DBAPIError as exc:
                raise self.classify_error(exc, action="connecting") from None
        return self._conn

    def check(self) -> None:
        """Connect and run ``SELECT 1``."""
        try:
            self.conn.execute(sa.select(sa.literal(1))).close()
        except sa.exc.DBAPIError as exc:
            raise self.classify_error(exc, action="running SELECT 1") from None

    def _release(self) -> None:
        """Close the connection and dispose of the engine (idempotent)."""
        if self._streaming is not None:
            self._drop_connection(self._streaming)
            self._streaming = None
        if self._conn is not None:
            try:
                self._conn.close()
            except sa.exc.DBAPIError:
                # The rollback of close() failed: the server or the network dropped the
                # connection. Nothing is left to release, and close() must not raise.
                self._conn.invalidate()
            self._conn = None
        self.engine.dispose()

    def _drop_connection(self, result: sa.CursorResult[Any]) -> None:
        """Close the DBAPI connection of an abandoned read without finishing it.

        Closing the result of an unfinished server-side cursor would read every remaining
        row (pymysql drains it), and the rollback of an ordinary close warns "Previous
        unbuffered result was left incomplete"; closing the socket ends the query at once.
        """
        _forget_unbuffered(result)
        cursor = getattr(result, "cursor", None)
        if cursor is not None and getattr(cursor, "connection", None) is not None:
            # sqlite3 keeps the file open (and locked) while a cursor of an unfinished
            # read lives, even after invalidate(). pymysql's cursor is detached above:
            # closing it would read the rest of the result.
            with contextlib.suppress(Exception):
                cursor.close()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.invalidate()
            conn.close()

    def error_kind(self, exc: BaseException) -> ErrorKind:
        """DBAPI error codes where the driver has them, else the message."""
        orig = getattr(exc, "orig", None)
        state = getattr(orig, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return "transient" if state[:2] in ("08", "40", "53", "57", "58") else "permanent"
        args = getattr(orig, "args", ())
        if args and isinstance(args[0], int):
            return "transient" if args[0] in _MYSQL_TRANSIENT else "permanent"
        return classify_message(str(orig if orig is not None else exc))

    def classify_error(self, exc: BaseException, *, action: str, obj: SourceObject | None = None,
                       hint: str = "") -> SourceError:
        """As the base, also masking the password of the engine URL."""
        bad = getattr(self, "_bad_value", None)  # unset when creating the engine failed
        if bad:
            value, bad[:] = bad[0], []
            hint = (f"a date/timestamp cursor value is in no form SQLite stores dates in: "
                    f"{redact(value)}; fix the row (ISO-8601 text, a Julian day or unix "
                    "time), see docs/connectors/sqlalchemy.md")
        error = super().classify_error(exc, action=action, obj=obj, hint=hint)
        pw = self.secret.reveal() if self.secret is not None else ""
        if pw and pw in str(error):  # defensive: redact() already replaced it
            return type(error)(str(error).replace(pw, REDACTED))
        return error

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """As the base, but aware timestamps on MySQL/MariaDB bind as naive UTC."""
        if self.dialect.name in MYSQL_DIALECTS and isinstance(value, datetime):
            return _UtcDateTime()
        return super().bind_type(value)

    # -- cursor comparisons (SQLite: see sqlite_cursor) ----------------------------------

    def _kind(self, names: Sequence[str], value: object = None) -> sqlite_cursor.CursorKind | None:
        if self.dialect.name != "sqlite" or not names:
            return None
        return sqlite_cursor.kind_of(self._types.get(names[0]), value)

    def predicate(
        self, src: sa.FromClause, pred: Predicate, names: Iterator[str]
    ) -> sa.ColumnElement[bool]:
        """As the base; on SQLite a date/timestamp comparison goes through the normalising
        function on both sides, the bound as its canonical text (still a parameter)."""
        if isinstance(pred, Compare):
            kind = self._kind(pred.expr.columns, pred.value)
            if kind is not None:
                expr = sqlite_cursor.normalised(kind, [src.c[n] for n in pred.expr.columns])
                value = sa.bindparam(next(names), sqlite_cursor.canonical(kind, pred.value),
                                     type_=sa.String())
                ops = {">=": expr >= value, ">": expr > value, "<=": expr <= value,
                       "<": expr < value, "=": expr == value}
                return ops[pred.op]
        return super().predicate(src, pred, names)

    def build_select(self, select: Select, columns: Sequence[SourceColumn]) -> SelectStatement:
        """As the base, knowing the column types (for SQLite's cursor comparisons)."""
        self._types = {c.name: c.arrow_type for c in self.columns(select.source)}
        return super().build_select(select, columns)

    def build_probe(self, obj: SourceObject, request: MaxOf | MinOf | RowCount) -> SelectStatement:
        """As the base; on SQLite ``MAX``/``MIN`` of a date or timestamp cursor is taken
        over the normalised values, the order the read's predicates use."""
        self._types = {c.name: c.arrow_type for c in self.columns(obj)}
        kind = self._kind(request.expr.columns) if isinstance(request, MaxOf | MinOf) else None
        if kind is None or isinstance(request, RowCount):
            return super().build_probe(obj, request)
        src = self.from_clause(obj, referenced_columns((), request.where, (request.expr,)))
        expr = sqlite_cursor.normalised(kind, [src.c[n] for n in request.expr.columns])
        agg = sa.func.max(expr) if isinstance(request, MaxOf) else sa.func.min(expr)
        return self.apply_filters(sa.select(agg).select_from(src), src, request.where)

    # -- metadata ----------------------------------------------------------------------

    def _describe(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        """Reflected columns (tables) or result columns (queries, typed as text)."""
        name = self.dialect.name
        try:
            if obj.query is not None:
                stmt: SelectStatement = sa.select(sa.literal_column("*")).select_from(
                    self.from_clause(obj, ())
                )
                with self.conn.execute(stmt.limit(0)) as result:
                    # Without reflection there is no declared type: the query's columns are
                    # text. Read a table or a view to get typed columns.
                    out = tuple(SourceColumn(k, "query column", pa.string())
                                for k in list(result.keys()))
            else:
                insp = sa.inspect(self.conn)
                if not insp.has_table(str(obj.table), schema=obj.schema):
                    raise self.missing_table_error(obj, insp.get_table_names(schema=obj.schema))
                out = tuple(
                    SourceColumn(str(c["name"]), str(c["type"]),
                                 arrow_type_for(c["type"], name), bool(c.get("nullable", True)))
                    for c in insp.get_columns(str(obj.table), schema=obj.schema)
                )
        except sa.exc.DBAPIError as exc:
            raise self.classify_error(exc, action="reading columns of", obj=obj) from None
        return out

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns from the inspector (empty for queries)."""
        if obj.query is not None:
            return ()
        self.columns(obj)  # a missing table gets the helpful error
        try:
            pk = sa.inspect(self.conn).get_pk_constraint(str(obj.table), schema=obj.schema)
        except sa.exc.DBAPIError as exc:
            raise self.classify_error(exc, action="reading the primary key of", obj=obj) from None
        return tuple(pk.get("constrained_columns") or ())

    # -- read --------------------------------------------------------------------------

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """SQLAlchemy's wrapper of every DBAPI error."""
        return (sa.exc.DBAPIError,)

    def read_error(self, exc: BaseException, obj: SourceObject) -> SourceError:
        """As the base; a value that does not fit its declared type says so."""
        if isinstance(exc, TypeError | ValueError | ArithmeticError | pa.ArrowException):
            return self.classify_error(exc, action="converting rows of", obj=obj, hint=(
                "a value does not fit the column's declared type; see "
                "docs/connectors/sqlalchemy.md"))
        return super().read_error(exc, obj)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[Sequence[Sequence[Any]]]:
        """Rows of a server-side cursor (``stream_results``), ``batch_rows`` at a time."""
        stmt = self.build_select(select, columns)
        result = self.conn.execute(
            stmt, execution_options={"stream_results": True, "yield_per": batch_rows})
        self._streaming = result

        def chunks() -> Iterator[Sequence[Sequence[Any]]]:
            drained = False
            try:
                yield from result.partitions(batch_rows)
                drained = True
            finally:
                # A reader abandoned mid-way (failed write, error, gc) drops its connection;
                # close() may have done so already.
                if self._streaming is result:
                    self._streaming = None
                    if drained:
                        result.close()
                    else:
                        self._drop_connection(result)
                else:  # close() dropped the connection already, or a newer read began
                    with contextlib.suppress(sa.exc.DBAPIError):
                        result.close()

        return chunks()


def _forget_unbuffered(result: sa.CursorResult[Any]) -> None:
    """Stop pymysql from finishing an abandoned server-side result later.

    pymysql's ``SSCursor.close`` and ``MySQLResult.__del__`` read the rest of an unfinished
    result even once its connection is closed, raising ``AttributeError`` at garbage
    collection. Marking the result finished and detaching the cursor prevents that; other
    drivers lack these attributes and are left alone.
    """
    cursor = getattr(result, "cursor", None)
    pending = getattr(cursor, "_result", None)
    if pending is not None and getattr(pending, "unbuffered_active", False):
        pending.unbuffered_active = False
    if cursor is not None and hasattr(cursor, "_result") and hasattr(cursor, "connection"):
        cursor.connection = None


def _require_sqlite_file(source: str, database: str | None) -> None:
    """Refuse a SQLite source file that is not there: sqlite3 would create an empty one,
    and the load would then fail on a "missing table" far from the cause."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    # A missing directory is left to sqlite3, which cannot create the file there either
    # ("unable to open database", a permanent error).
    if path.parent.is_dir() and not path.exists():
        raise SourceTransientError(
            f"source {source!r}: the SQLite file {database} does not exist; if it was moved "
            "away it is read again once it is back (the run is retried), otherwise fix the "
            "source's url option. Nothing was created."
        )


class SqlAlchemyConnectorFactory(SqlConnectorFactory[SqlAlchemyOptions, SqlAlchemyConnector]):
    """Validates ``sqlalchemy`` source configs and opens :class:`SqlAlchemyConnector`\\ s."""

    #: SQLite needs no secret; a server database gets its password from ``secret``.
    needs_secret = False
    summary = "any database with a SQLAlchemy dialect (SQLite, MySQL, MariaDB, ...)"
    options = SqlAlchemyOptions
    connector = SqlAlchemyConnector
