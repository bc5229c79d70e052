"""The ODBC transport of the ``sqlserver`` connector: pyodbc sessions and Arrow reads.

This module knows nothing about T-SQL: it runs SQL text with ``?`` placeholders whose
values travel as text (see :func:`param_text`), so the same transport runs against SQL
Server in production and against PostgreSQL through Debian's ``odbc-postgresql`` driver in
the test stand-in (docs/connectors/sqlserver.md says what that covers).

Two bulk read paths, both yielding batches of exactly the declared schema:

* ``arrow_odbc`` (default): arrow-odbc binds column buffers of the declared Arrow types
  and fills them with block cursors: no Python object per value.
* ``pyodbc``: ``fetchmany`` rows, converted column by column with the explicit
  converters of :mod:`dataloader_sdk.connectors.values`. Slower; for drivers or values
  arrow-odbc cannot bind (e.g. text longer than ``max_text_size``).

Parameters always travel as text and the compiled SQL casts them explicitly
(``CAST(? AS DATETIME2(7))``): arrow-odbc can only bind strings, and using the same
representation on both paths keeps full and incremental reads identical.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from dataloader_sdk.connectors.sql import ErrorKind, classify_message
from dataloader_sdk.connectors.values import datetime_text

__all__ = [
    "OdbcSession",
    "connection_string",
    "odbc_error_kind",
    "param_text",
    "sqlstate_of",
    "stream_arrow_odbc",
    "stream_pyodbc",
]

# SQLSTATEs a retry can fix: 08 connection exceptions, HYT00/HYT01 timeouts, 40001
# deadlock victim / serialization failure, 40003 statement completion unknown.
_TRANSIENT_STATES = ("HYT00", "HYT01", "40001", "40003")
# Messages that are permanent even under a "connection" SQLSTATE: psqlODBC reports a
# failed login as 08001, SQL Server's driver as 28000 ("Login failed for user").
_AUTH_HINTS = ("login failed", "password authentication failed", "authentication failed",
               "cannot open database", "does not exist")
_STATE_RE = re.compile(r"(?:State: |\[)([0-9A-Z]{5})(?:,|\])")


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE of a pyodbc error (``args[0]``) or an arrow-odbc error (its text)."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and len(args[0]) == 5 and args[0].isalnum():
        return args[0]
    match = _STATE_RE.search(str(exc))
    return match.group(1) if match else None


def odbc_error_kind(exc: BaseException) -> ErrorKind:
    """Transient or permanent from the SQLSTATE; the message when there is none."""
    state = sqlstate_of(exc)
    if state is None:
        return classify_message(str(exc))
    text = str(exc).lower()
    if state.startswith("28") or any(h in text for h in _AUTH_HINTS):
        return "permanent"  # retrying a wrong password only locks the account
    if state.startswith("08") or state in _TRANSIENT_STATES:
        return "transient"
    # 42S02 missing object, 42000 syntax/permission, 22xxx data errors, 23xxx ...
    return "permanent"


def _braced(value: str) -> str:
    # ODBC connection-string escaping: a value holding ';', '{', '}' or '=' (or padded with
    # spaces) goes in braces with '}' doubled, so a password cannot inject an attribute.
    # Plain values stay bare: some drivers (psqlODBC) do not unbrace every keyword.
    if value != value.strip() or any(ch in value for ch in ";{}="):
        return "{" + value.replace("}", "}}") + "}"
    return value


def connection_string(attributes: Sequence[tuple[str, str | None]]) -> str:
    """An ODBC connection string from ``(keyword, value)`` pairs (``None`` skipped)."""
    return "".join(f"{k}={_braced(v)};" for k, v in attributes if v is not None)


#: How each value type is spelled for the server's cast, most specific first (``bool``
#: before ``int``, ``datetime`` before ``date``); anything else is ``str(value)``.
_PARAM_TEXT: tuple[tuple[type, Callable[[Any], str]], ...] = (
    (bool, lambda v: "1" if v else "0"), (Decimal, lambda v: format(v, "f")),
    (float, repr), (datetime, datetime_text), (date, date.isoformat),
)


def param_text(value: Any) -> str | None:
    """A predicate value as the text the SQL casts back (exact for every ScalarValue).

    Aware timestamps are sent in UTC with an explicit ``+00:00`` offset; decimals in plain
    (never scientific) notation; booleans as ``1``/``0``.
    """
    if value is None:
        return None
    spell = next((spell for kind, spell in _PARAM_TEXT if isinstance(value, kind)), str)
    return spell(value)


def transport_type(t: pa.DataType) -> pa.DataType:
    """The type arrow-odbc is asked to bind: time zones are attached after the fetch."""
    if pa.types.is_timestamp(t) and t.tz is not None:
        return pa.timestamp(t.unit)
    return t


@dataclass
class OdbcSession:
    """One pyodbc connection for metadata and probes (opened on first use).

    Args:
        conn_str: the full connection string (holds the password; never logged).
        on_connect_error: maps a pyodbc exception raised while connecting to the
            SourceError to raise.
        login_timeout: seconds to wait for the login.
    """

    conn_str: str = field(repr=False)
    on_connect_error: Callable[[BaseException], BaseException]
    login_timeout: int = 30
    _conn: Any = field(default=None, repr=False)

    def connect(self) -> Any:
        """A new autocommit pyodbc connection."""
        import pyodbc  # type: ignore[import-not-found,unused-ignore]

        try:
            return pyodbc.connect(self.conn_str, autocommit=True, timeout=self.login_timeout)
        except pyodbc.Error as exc:
            raise self.on_connect_error(exc) from None

    @property
    def conn(self) -> Any:
        """The session's connection."""
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    def query(self, sql: str, params: Sequence[Any] = ()
              ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Rows and ``cursor.description`` of ``sql``; raises ``pyodbc.Error`` as is."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql, *params)
            if cur.description is None:
                return [], []
            return [tuple(r) for r in cur.fetchall()], [tuple(d) for d in cur.description]
        finally:
            cur.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def stream_arrow_odbc(
    conn_str: str,
    sql: str,
    params: Sequence[str | None],
    schema: pa.Schema,
    batch_rows: int,
    *,
    max_text_size: int,
    max_binary_size: int,
    login_timeout: int,
    max_bytes_per_batch: int = 128 << 20,
) -> Iterator[pa.RecordBatch]:
    """Start ``sql`` through arrow-odbc with buffers of the declared types.

    ``max_text_size``/``max_binary_size`` bound the transit buffer of unbounded columns
    (``nvarchar(max)``, ``varbinary(max)``); with ``max_bytes_per_batch`` they bound memory.
    Raises ``arrow_odbc.Error`` as is (the connector classifies it).
    """
    import arrow_odbc  # type: ignore[import-untyped,unused-ignore]

    requested = pa.schema([pa.field(f.name, transport_type(f.type), True) for f in schema])
    raw = arrow_odbc.read_arrow_batches_from_odbc(
        sql, conn_str, batch_size=batch_rows, parameters=list(params),
        max_text_size=max_text_size, max_binary_size=max_binary_size,
        max_bytes_per_batch=max_bytes_per_batch, login_timeout_sec=login_timeout,
        schema=requested, fetch_concurrently=False,
    )
    return iter(raw)


def stream_pyodbc(
    session: OdbcSession, sql: str, params: Sequence[str | None], batch_rows: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Start ``sql`` on a dedicated pyodbc connection and return chunks of rows.

    The connection is the stream's own (closed when the stream ends or is closed), so a
    reader drained on another thread never shares the metadata session. Raises
    ``pyodbc.Error`` as is.
    """
    import pyodbc  # type: ignore[import-not-found,unused-ignore]

    conn = session.connect()
    try:
        cur = conn.cursor()
        cur.execute(sql, *params)
    except pyodbc.Error:
        conn.close()
        raise

    def chunks() -> Iterator[list[tuple[Any, ...]]]:
        try:
            while rows := cur.fetchmany(batch_rows):
                yield [tuple(r) for r in rows]
        finally:
            with contextlib.suppress(Exception):
                cur.close()
            with contextlib.suppress(Exception):
                conn.close()

    return chunks()
