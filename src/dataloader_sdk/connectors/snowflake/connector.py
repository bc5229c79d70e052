"""The ``snowflake`` (password) and ``snowflake_pem`` (key-pair) connectors.

* snowflake-connector-python with ``paramstyle='qmark'``: values travel as server-side
  bind parameters; selects compile through a small SQLAlchemy dialect
  (:class:`SnowflakeDialect`) that double-quotes every identifier, so names are used
  exactly as Snowflake stores them.
* Names in the table config are resolved the way Snowflake resolves them: as written
  first, then upper-cased (an unquoted ``items`` is the table ``ITEMS``). Column names are
  Snowflake's own (usually upper case).
* Metadata from ``INFORMATION_SCHEMA.COLUMNS`` and ``SHOW PRIMARY KEYS``; a
  ``source_query``'s columns from the driver's result metadata.
* Reads stream ``fetch_arrow_batches()`` (one Arrow table per result chunk, fetched as it
  is consumed), conformed to the declared schema and sliced to ``batch_rows``.
* Every session runs with ``TIMEZONE='UTC'``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
from dataloader_sdk.connectors.snowflake.jdbc import snowflake_jdbc_options
from dataloader_sdk.connectors.snowflake.options import SnowflakeOptions
from dataloader_sdk.connectors.snowflake.probes import SnowflakeProbes
from dataloader_sdk.connectors.snowflake.sql import SnowflakeDialect, bindable, decimal_type
from dataloader_sdk.connectors.snowflake.types import (
    UnsupportedTypeError,
    arrow_type_for,
    conform,
)
from dataloader_sdk.connectors.sql import ErrorKind, classify_message
from dataloader_sdk.connectors.sql.factory import SqlConnectorFactory
from dataloader_sdk.connectors.sql.resources import KeptSession, owned_stream
from dataloader_sdk.errors import (
    ConfigError,
    SourcePermanentError,
)
from dataloader_sdk.model import ScalarValue, Select, SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.statements import SelectStatement
from dataloader_sdk.secrets import Secret

__all__ = [
    "SnowflakeConnector",
    "SnowflakeConnectorFactory",
    "SnowflakeDialect",
    "snowflake_jdbc_options",
]


# Driver errnos a retry can fix: could not connect / connection lost (250001, 250003,
# 251005, 251006), HTTP 5xx and throttling (290500-290504, 290429), statement timeout or
# cancellation (604, 625, 630). Login errors (390xxx: wrong password, bad JWT, locked
# user), missing objects (2003, 2043), syntax (1003) ... are permanent.
_TRANSIENT_ERRNOS = frozenset(
    {604, 625, 630, 250001, 250003, 251005, 251006, 290429, 290500, 290502, 290503, 290504}
)



class SnowflakeConnector(SnowflakeProbes, JdbcSqlConnector):
    """A Snowflake source. Not shared between threads.

    Args:
        config: a validated ``snowflake``/``snowflake_pem`` config.
        secret: the password (``snowflake``) or the key secret (``snowflake_pem``; only
            used to redact messages).
        private_key: unencrypted PKCS#8 DER key bytes for key-pair authentication.
        passphrase: the key's passphrase (only used to redact messages).
    """

    dialect = SnowflakeDialect()
    jdbc = snowflake_jdbc_options

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: SnowflakeOptions | None = None, *,
                 private_key: bytes | None = None, passphrase: Secret | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or SnowflakeOptions.parse(config)
        self._private_key = private_key
        self._passphrase = passphrase
        self._conn: KeptSession[Any] = KeptSession(self._connect)
        self._resolved: dict[SourceObject, SourceObject] = {}

    # -- connection ------------------------------------------------------------------

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``snowflake.connector.connect`` (they hold the credential)."""
        opts = self.options
        kwargs: dict[str, Any] = {
            "account": opts.account,
            "user": self.config.username,
            "database": self.config.database,
            "paramstyle": "qmark",
            "login_timeout": opts.login_timeout,
            "network_timeout": opts.network_timeout,
            "application": "dataloader_sdk",
            "session_parameters": {"TIMEZONE": "UTC", "QUERY_TAG": "dataloader-sdk"},
        }
        for key in ("warehouse", "role", "schema", "protocol"):
            if getattr(opts, key) is not None:
                kwargs[key] = getattr(opts, key)
        if self.config.host:
            kwargs["host"] = self.config.host
        if self.config.port:
            kwargs["port"] = self.config.port
        if self._private_key is not None:
            kwargs["authenticator"] = "SNOWFLAKE_JWT"
            kwargs["private_key"] = self._private_key
        elif self.secret is not None:
            kwargs["password"] = self.secret.reveal()
        return kwargs

    def _connect(self) -> Any:
        import snowflake.connector

        try:
            return snowflake.connector.connect(**self.connect_kwargs())
        except snowflake.connector.Error as exc:
            raise self.classify_error(exc, action="connecting") from None

    @property
    def conn(self) -> Any:
        """The driver connection (opened on first use)."""
        return self._conn.get()

    def check(self) -> None:
        """Connect and run ``SELECT 1``."""
        self._query("SELECT 1", (), action="running SELECT 1")

    def _release(self) -> None:
        """Close the session (idempotent)."""
        self._conn.close()

    # -- errors -----------------------------------------------------------------------

    def error_kind(self, exc: BaseException) -> ErrorKind:
        """The driver's errno/SQLSTATE, else the message."""
        errno = getattr(exc, "errno", None)
        state = getattr(exc, "sqlstate", None)
        if isinstance(errno, int) and errno > 0:
            if errno in _TRANSIENT_ERRNOS:
                return "transient"
            if 390000 <= errno < 391000:  # login: wrong password, bad JWT, locked user
                return "permanent"
        if isinstance(state, str) and len(state) == 5:
            return "transient" if state[:2] in ("08", "40", "53", "57") else "permanent"
        return classify_message(str(exc))

    def classify_error(self, exc: BaseException, *, action: str,
                       obj: SourceObject | None = None, hint: str = "") -> Any:
        """As the base, also redacting the key passphrase."""
        error = super().classify_error(exc, action=action, obj=obj, hint=hint)
        if self._passphrase is not None and self._passphrase.reveal() in str(error):
            from dataloader_sdk.secrets import redact

            return type(error)(redact(str(error), self._passphrase))
        return error

    def bind_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        """As the base, but a decimal is bound as text cast to ``NUMERIC(p,s)``.

        The text is exact at any scale, and the cast gives the server the decimal type;
        the driver's own FIXED binding of a fractional value is not understood by every
        endpoint (fakesnow parses FIXED as an integer).
        """
        if isinstance(value, Decimal):
            return decimal_type(value)
        return super().bind_type(value)

    # -- queries -----------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any], *, action: str,
               obj: SourceObject | None = None) -> list[tuple[Any, ...]]:
        import snowflake.connector

        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, bindable(params))
                return [tuple(r) for r in cur.fetchall()]
        except snowflake.connector.Error as exc:
            raise self.classify_error(exc, action=action, obj=obj) from None

    # -- names and metadata ----------------------------------------------------------------

    def _schema(self) -> str:
        if self.options.schema is not None:
            return self.options.schema
        rows = self._query("SELECT CURRENT_SCHEMA()", (), action="reading CURRENT_SCHEMA()")
        if not rows or rows[0][0] is None:
            raise ConfigError(f"source {self.config.name!r}: no current schema; set "
                              "source_schema on the table or options.schema on the source")
        return str(rows[0][0])

    def resolve(self, obj: SourceObject) -> tuple[SourceObject, list[tuple[Any, ...]]]:
        """The table as Snowflake stores its name, and its column rows.

        Tries the names as written, then upper-cased (Snowflake's folding of unquoted
        names).
        """
        schema = obj.schema or self._schema()
        table = str(obj.table)
        sql = ("SELECT COLUMN_NAME, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, IS_NULLABLE "
               "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? "
               "ORDER BY ORDINAL_POSITION")
        for s, t in dict.fromkeys(((schema, table), (schema.upper(), table),
                                   (schema, table.upper()), (schema.upper(), table.upper()))):
            rows = self._query(sql, (s, t), action="reading columns of", obj=obj)
            if rows:
                resolved = SourceObject(table=t, schema=s)
                self._resolved[obj] = resolved
                return resolved, rows
        known = self._query(
            "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA IN (?, ?) "
            "ORDER BY 1 LIMIT 51", (schema, schema.upper()), action="listing tables", obj=obj)
        raise self.missing_table_error(SourceObject(table=table, schema=schema),
                                       [str(r[0]) for r in known])

    def from_clause(self, obj: SourceObject, names: Sequence[str]) -> sa.FromClause:
        """As the base, with the table name as Snowflake stores it."""
        if obj.query is None and obj not in self._resolved:
            self.columns(obj)
        return super().from_clause(self._resolved.get(obj, obj), names)

    def _column(self, name: str, data_type: str, precision: Any, scale: Any, nullable: bool,
                obj: SourceObject) -> SourceColumn:
        try:
            arrow = arrow_type_for(data_type, precision, scale, name)
        except UnsupportedTypeError as exc:
            raise SourcePermanentError(f"source {self.config.name!r}: {obj} {exc}") from None
        text = f"{data_type}({precision},{scale})" if data_type in ("NUMBER", "FIXED") else data_type
        return SourceColumn(name, text, arrow, nullable)

    def _describe(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        """Columns with their declared Arrow types (see docs/connectors/snowflake.md)."""
        if obj.query is not None:
            return self._query_columns(obj)
        _, rows = self.resolve(obj)
        return tuple(self._column(str(n), str(t), p, s, str(nu).upper() == "YES", obj)
                     for n, t, p, s, nu in rows)

    def _query_columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        import snowflake.connector
        from snowflake.connector.constants import FIELD_ID_TO_NAME

        stmt: SelectStatement = (
            sa.select(sa.literal_column("*")).select_from(self.from_clause(obj, ())).limit(0))
        compiled = self.compile(stmt)
        try:
            with self.conn.cursor() as cur:
                cur.execute(compiled.sql, bindable(compiled.positional))
                description = list(cur.description or ())
        except snowflake.connector.Error as exc:
            raise self.classify_error(exc, action="describing", obj=obj,
                                      hint="check the source_query") from None
        return tuple(
            self._column(str(d.name), FIELD_ID_TO_NAME.get(d.type_code, str(d.type_code)),
                         d.precision, d.scale, bool(d.is_nullable), obj)
            for d in description)

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns from ``SHOW PRIMARY KEYS`` (empty for queries)."""
        if obj.query is None:
            resolved, _ = self.resolve(obj)
        else:
            return ()
        name = self.dialect.identifier_preparer.format_table(
            sa.table(str(resolved.table), schema=resolved.schema))
        import snowflake.connector

        try:
            with self.conn.cursor() as cur:
                cur.execute(f"SHOW PRIMARY KEYS IN TABLE {name}")
                fields = [d.name.lower() for d in cur.description or ()]
                rows = cur.fetchall()
        except snowflake.connector.Error as exc:
            raise self.classify_error(exc, action="reading the primary key of", obj=obj) from None
        col, seq = fields.index("column_name"), fields.index("key_sequence")
        return tuple(str(r[col]) for r in sorted(rows, key=lambda r: int(r[seq])))

    # -- read ---------------------------------------------------------------------------

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """The connector's errors and OSError (a connection lost mid-stream)."""
        import snowflake.connector

        return (snowflake.connector.Error, OSError)

    #: Nanosecond timestamps truncated to µs, ``TIME`` as text (see :func:`.types.conform`).
    conform_batch = staticmethod(conform)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[pa.RecordBatch]:
        """The result's Arrow batches as the driver fetches them (one cursor per read)."""
        compiled = self.compile(self.build_select(select, columns))

        def start(cur: Any) -> Iterator[pa.RecordBatch]:
            cur.execute(compiled.sql, bindable(compiled.positional))
            return (batch for table in cur.fetch_arrow_batches() for batch in table.to_batches())

        return owned_stream(self.conn.cursor(), start)


class SnowflakeConnectorFactory(SqlConnectorFactory[SnowflakeOptions, SnowflakeConnector]):
    """Validates ``snowflake`` configs (user + password) and opens connectors."""

    summary = "Snowflake with a password, Arrow batches from the Python connector"
    options = SnowflakeOptions
    connector = SnowflakeConnector
    driver_of = "snowflake"
