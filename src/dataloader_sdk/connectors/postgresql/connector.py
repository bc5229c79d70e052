"""The ``postgresql`` connector: psycopg 3 for metadata and probes, ADBC for bulk reads.

* Metadata (columns, primary key) comes from the catalogs (``pg_attribute``, ``pg_index``)
  and, for a ``source_query``, from the result description of ``... LIMIT 0``.
* Probes run through psycopg with server-side bound parameters (see
  :mod:`~dataloader_sdk.connectors.postgresql.probes`).
* Bulk reads stream Arrow batches from ADBC's binary ``COPY`` reader (the fastest path
  measured, see benchmarks/README.md). ``COPY`` cannot take parameters, so the read query's
  values are rendered client-side by psycopg's own literal adaptation (``ClientCursor
  .mogrify``): the driver's escaping, never string formatting.

Every session runs with ``TimeZone=UTC`` and ``IntervalStyle=iso_8601`` so timestamps,
probes and interval text do not depend on the server's or the role's defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.sql.elements import ColumnElement

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
from dataloader_sdk.connectors.postgresql import catalog as cat
from dataloader_sdk.connectors.postgresql.jdbc import postgres_jdbc_options
from dataloader_sdk.connectors.postgresql.options import PostgresOptions
from dataloader_sdk.connectors.postgresql.probes import PostgresProbes
from dataloader_sdk.connectors.postgresql.read import AdbcSession, stream_connectorx
from dataloader_sdk.connectors.postgresql.together import PostgresReadsTogether
from dataloader_sdk.connectors.postgresql.types import PgType, Projection, arrow_type_for
from dataloader_sdk.connectors.sql import ErrorKind, classify_message
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sql.read_memo import compiled_read
from dataloader_sdk.model import Select, SourceConfig, SourceObject
from dataloader_sdk.statements import SelectStatement

if TYPE_CHECKING:
    import psycopg

    from dataloader_sdk.connectors.sql.compile import CompiledQuery
    from dataloader_sdk.secrets import Secret

__all__ = ["PostgresConnector", "PostgresConnectorFactory"]

_T = TypeVar("_T")

DEFAULT_PORT = 5432
_SESSION = "-c TimeZone=UTC -c IntervalStyle=iso_8601"

# SQLSTATE classes/codes that a retry can fix. Everything else with a SQLSTATE (28xxx
# auth, 3D000 missing database, 42xxx missing object / permission / syntax ...) is permanent.
# 08 connection exception, 40 serialization failure/deadlock, 53 insufficient resources
# (too many connections, disk full), 57 operator intervention (shutdown, statement timeout),
# 58 system error.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")


class PostgresConnector(PostgresProbes, PostgresReadsTogether, JdbcSqlConnector):
    """A PostgreSQL source. Not shared between threads.

    It keeps its sessions (psycopg for metadata and probes, ADBC for reads) until
    :meth:`close`, and opts in to reuse within a batch (:meth:`reset`), so the tables of
    one source in a ``load_tables`` batch share a few connections instead of opening
    their own. A kept session found broken when a statement starts is replaced and the
    statement retried once (see :meth:`_query` and :class:`AdbcSession`).

    Args:
        config: a validated ``postgresql`` source config.
        secret: the password, or ``None`` for trust/peer/certificate authentication.
        options: the parsed options (parsed from ``config`` when not given).
    """

    dialect = pg_dialect.psycopg.dialect()  # type: ignore[no-untyped-call]
    jdbc = postgres_jdbc_options

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: PostgresOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or PostgresOptions.parse(config)
        self._conn: psycopg.Connection[Any] | None = None
        self._projections: dict[SourceColumn, Projection] = {}
        self.read_path = self.options.read_path
        self._adbc = AdbcSession(self._conninfo)

    # -- connection ------------------------------------------------------------------

    def _conninfo_kwargs(self) -> dict[str, Any]:
        opts = self.options
        kwargs: dict[str, Any] = {
            "host": self.config.host,
            "port": self.config.port or DEFAULT_PORT,
            "dbname": self.config.database,
            "user": self.config.username,
            "options": _SESSION,
            "application_name": opts.application_name,
            "connect_timeout": opts.connect_timeout,
        }
        if opts.sslmode is not None:
            kwargs["sslmode"] = opts.sslmode
        if self.secret is not None:
            kwargs["password"] = self.secret.reveal()
        return kwargs

    def _conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**self._conninfo_kwargs())

    def _uri(self) -> str:
        from urllib.parse import quote, urlencode

        kw = self._conninfo_kwargs()
        auth = quote(str(kw.pop("user")), safe="")
        if "password" in kw:
            auth += ":" + quote(str(kw.pop("password")), safe="")
        host, port, db = kw.pop("host"), kw.pop("port"), quote(str(kw.pop("dbname")), safe="")
        # quote (not quote_plus): connectorx reads '+' literally, breaking "-c TimeZone=UTC".
        return f"postgresql://{auth}@{host}:{port}/{db}?{urlencode(kw, quote_via=quote)}"

    @property
    def conn(self) -> psycopg.Connection[Any]:
        """The psycopg session for metadata and probes (opened on first use)."""
        if self._conn is None or self._conn.closed:
            import psycopg

            try:
                self._conn = psycopg.connect(self._conninfo(), autocommit=True)
            except psycopg.Error as exc:
                raise self.classify_error(exc, action="connecting") from None
        return self._conn

    def check(self) -> None:
        """Connect and run ``SELECT 1``."""
        self._query("SELECT 1", action="running SELECT 1")

    def _release(self) -> None:
        """Close the psycopg and ADBC sessions (idempotent)."""
        self._adbc.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def reset(self) -> bool:
        """Make the connector ready for another table of the same batch.

        Forgets the metadata read so far (the next table, or a later run, introspects
        afresh) and answers whether the sessions are fit to keep: not when a read was
        left unfinished or the psycopg session is broken or inside a transaction.
        """
        from psycopg.pq import TransactionStatus

        super().reset()
        self._projections.clear()
        if self._adbc.busy:
            return False
        conn = self._conn
        return conn is None or (
            not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE)

    # -- errors ------------------------------------------------------------------------

    def error_kind(self, exc: BaseException) -> ErrorKind:
        """SQLSTATE first (psycopg and ADBC both expose it), the message otherwise."""
        state = getattr(exc, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            if state[:2] in _TRANSIENT_SQLSTATE_CLASSES:
                return "transient"
            return "permanent"
        return classify_message(str(exc))

    # -- metadata ----------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), *,
               action: str, obj: SourceObject | None = None) -> list[tuple[Any, ...]]:
        def run(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []

        return self._on_session(run, action=action, obj=obj)

    def _on_session(self, fn: Callable[[psycopg.Connection[Any]], _T], *, action: str,
                    obj: SourceObject | None = None, hint: str = "") -> _T:
        """``fn(session)``; a kept session found broken is replaced and ``fn`` run again.

        Only statements without side effects run here (catalog reads, probes), so running
        one twice changes nothing; the retry happens only when the session had been open
        before this call (a fresh one that fails is the failure to report).
        """
        import psycopg

        reused = self._conn is not None and not self._conn.closed
        try:
            return fn(self.conn)
        except psycopg.Error as exc:
            if not (reused and self._conn is not None and self._conn.broken):
                raise self.classify_error(exc, action=action, obj=obj, hint=hint) from None
        self._conn = None  # the server ended the kept session while it was idle
        try:
            return fn(self.conn)
        except psycopg.Error as exc:
            raise self.classify_error(exc, action=action, obj=obj, hint=hint) from None

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        """Columns with their declared Arrow types (see docs/connectors/postgresql.md)."""
        described = self._table_columns(obj) if obj.query is None else None
        if described is None:
            raw = (self._raw_query_columns(obj) if obj.query is not None
                   else self._raw_table_columns(obj))
            types = self._resolve_types([(oid, mod) for _, oid, mod, _ in raw], obj)
            described = [(name, nullable, pgtype, text) for (name, _, _, nullable),
                         (pgtype, text) in zip(raw, types, strict=True)]
        out = []
        for name, nullable, pgtype, text in described:
            arrow, projection = arrow_type_for(pgtype)
            column = SourceColumn(name, text, arrow, nullable)
            self._projections[column] = projection
            out.append(column)
        return out

    def _describe_together(
        self, objs: Sequence[SourceObject]
    ) -> dict[SourceObject, list[SourceColumn]]:
        """The tables among ``objs`` in one catalog query (``COLUMN_TYPES_OF_TABLES``);
        queries and missing tables are left to :meth:`_describe`."""
        tables = [obj for obj in objs if obj.query is None]
        if not tables:
            return {}
        rows = self._query(cat.COLUMN_TYPES_OF_TABLES, {
            "schemas": [obj.schema for obj in tables], "tables": [obj.table for obj in tables],
        }, action="reading columns of", obj=tables[0])
        described: dict[SourceObject, list[SourceColumn]] = {}
        for i, _, typ, mod, arr, text, name, nullable in rows:
            arrow, projection = arrow_type_for(PgType(str(typ), int(mod), bool(arr)))
            column = SourceColumn(str(name), str(text), arrow, bool(nullable))
            self._projections[column] = projection
            described.setdefault(tables[int(i) - 1], []).append(column)
        return described

    def _regclass(self, obj: SourceObject) -> int:
        if obj.schema is None:
            rows = self._query(cat.REGCLASS, (obj.table,), action="looking up", obj=obj)
        else:
            rows = self._query(cat.REGCLASS_QUALIFIED, (obj.schema, obj.table),
                               action="looking up", obj=obj)
        oid = rows[0][0] if rows else None
        if oid is None:
            known = self._query(cat.LIST_TABLES, (obj.schema,), action="listing tables",
                                obj=obj)
            shown = obj if obj.schema else SourceObject(table=obj.table, schema=self._schema())
            raise self.missing_table_error(shown, [r[0] for r in known])
        return int(oid)

    def _schema(self) -> str:
        rows = self._query(cat.CURRENT_SCHEMA, action="reading current_schema")
        return str(rows[0][0]) if rows and rows[0][0] else "public"

    def _table_columns(self, obj: SourceObject) -> list[tuple[str, bool, PgType, str]] | None:
        """A table's columns with resolved types in one round trip (``None``: not found).

        The catalog reads of ``_regclass`` + ``_raw_table_columns`` + ``_resolve_types``
        in one statement (a small table's run pays per round trip). A missing (or
        column-less) table falls back to those steps, which say what is wrong.
        """
        rows = self._query(
            cat.COLUMN_TYPES,
            {"schema": obj.schema, "table": obj.table, "oids": None, "mods": None},
            action="reading columns of", obj=obj,
        )
        return [(str(n), bool(nu), PgType(str(typ), int(mod), bool(arr)), str(text))
                for _, typ, mod, arr, text, n, nu in rows] or None

    def _raw_table_columns(self, obj: SourceObject) -> list[tuple[str, int, int, bool]]:
        rows = self._query(cat.ATTRIBUTES, (self._regclass(obj),),
                           action="reading columns of", obj=obj)
        return [(str(n), int(o), int(m), bool(nu)) for n, o, m, nu in rows]

    def _raw_query_columns(self, obj: SourceObject) -> list[tuple[str, int, int, bool]]:
        stmt: SelectStatement = (
            sa.select(sa.literal_column("*")).select_from(self.from_clause(obj, ())).limit(0)
        )
        compiled = self.compile(stmt)

        def describe(conn: psycopg.Connection[Any]) -> list[tuple[str, int, int, bool]]:
            with conn.cursor() as cur:
                cur.execute(compiled.sql, compiled.params)
                res = cur.pgresult
                if res is None:
                    return []
                return [
                    ((res.fname(i) or b"").decode(), res.ftype(i), res.fmod(i), True)
                    for i in range(res.nfields)
                ]

        return self._on_session(describe, action="describing", obj=obj,
                                hint="check the source_query")

    def _resolve_types(
        self, cols: list[tuple[int, int]], obj: SourceObject
    ) -> list[tuple[PgType, str]]:
        """Resolve OIDs (domains to their base type) and the source type text."""
        if not cols:
            return []
        rows = self._query(cat.COLUMN_TYPES, {
            "schema": None, "table": None,
            "oids": [c[0] for c in cols], "mods": [c[1] for c in cols],
        }, action="reading types of", obj=obj)
        return [(PgType(str(name), int(mod), bool(arr)), str(text))
                for _, name, mod, arr, text, _, _ in rows]

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns in key order (empty for a query or a keyless table)."""
        if obj.query is not None:
            return ()
        rows = self._query(cat.PRIMARY_KEY, (self._regclass(obj),),
                           action="reading the primary key of", obj=obj)
        return tuple(str(r[0]) for r in rows)

    # -- read --------------------------------------------------------------------------

    def project(self, src: sa.FromClause, column: SourceColumn) -> ColumnElement[Any]:
        """Cast the types ADBC cannot hand over exactly to PostgreSQL's text output."""
        col: ColumnElement[Any] = src.c[column.name]
        kind = self._projections.get(column, "native")
        if kind == "text":
            return sa.cast(col, sa.Text())
        if kind == "json_array":
            return sa.cast(sa.func.array_to_json(col), sa.Text())
        return col

    def render(self, select: Select, columns: Sequence[SourceColumn]) -> str:
        """The read SQL with values rendered as literals by psycopg (for ``COPY``)."""
        return self.literal_sql(self.compiled_read(select, columns), select.source)

    def compiled_read(self, select: Select, columns: Sequence[SourceColumn],
                      limit: int | None = None) -> CompiledQuery:
        """The read of ``select`` (at most ``limit`` rows) compiled, kept by its shape
        (:func:`~dataloader_sdk.connectors.sql.read_memo.compiled_read`)."""
        return compiled_read(self, select, columns, limit=limit, projections=tuple(
            self._projections.get(c, "native") for c in columns))

    def literal_sql(self, compiled: CompiledQuery, obj: SourceObject) -> str:
        """``compiled`` with its values rendered as literals by psycopg's own adaptation
        (``ClientCursor.mogrify``), as every read of ``obj`` sends it."""
        import psycopg

        try:
            with psycopg.ClientCursor(self.conn) as cur:
                return cur.mogrify(compiled.sql, dict(compiled.params))
        except psycopg.Error as exc:
            raise self.classify_error(exc, action="preparing the read of", obj=obj) from None

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """ADBC's (or connectorx's) errors and OSError (a connection lost mid-stream)."""
        if self.read_path == "connectorx":
            return (RuntimeError, ImportError, OSError)
        import adbc_driver_manager

        return (adbc_driver_manager.Error, OSError)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[pa.RecordBatch]:
        sql = self.render(select, columns)
        if self.read_path == "connectorx":
            return stream_connectorx(self._uri(), sql, batch_rows)
        return self._adbc.stream(sql)


class PostgresConnectorFactory(SqlConnectorFactory[PostgresOptions, PostgresConnector]):
    """Validates ``postgresql`` source configs and opens :class:`PostgresConnector`\\ s."""

    summary = "PostgreSQL: catalogs and probes through psycopg, bulk reads through ADBC COPY"
    options = PostgresOptions
    connector = PostgresConnector
    driver_of = "postgresql"
