"""Arrow-native bulk read paths for PostgreSQL (ADBC by default, connectorx on request).

Both paths run one SQL statement whose values were rendered client-side (see
``PostgresConnector._render``) because the fast paths cannot bind parameters without
losing streaming: ADBC reads through ``COPY (query) TO STDOUT (FORMAT binary)`` only for
queries without parameters (a bound query is executed with ``PQexecPrepared``, which
buffers the whole result), and connectorx has no parameters at all.

Every batch is conformed to the declared schema (numeric text → ``decimal128``, field
metadata dropped, widened integers narrowed back) and sliced to at most ``batch_rows``
rows, so the reader's schema always equals the declared type mapping.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pyarrow as pa

__all__ = ["READ_PATHS", "AdbcSession", "ReadPath", "conform", "read_adbc", "read_connectorx"]

ReadPath = Literal["adbc", "connectorx"]
READ_PATHS: tuple[ReadPath, ...] = ("adbc", "connectorx")

#: Raised for a driver failure; the caller turns it into a SourceError.
OnError = Callable[[BaseException], BaseException]


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s types (casts are safe: they fail, never round)."""
    arrays = []
    for i, target in enumerate(schema):
        arr = batch.column(i)
        if arr.type != target.type:
            if isinstance(arr.type, pa.ExtensionType):
                arr = arr.storage
            arr = arr.cast(target.type, safe=True)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _sliced(batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    if batch.num_rows <= batch_rows:
        yield batch
        return
    for offset in range(0, batch.num_rows, batch_rows):
        yield batch.slice(offset, batch_rows)  # zero-copy


class AdbcSession:
    """One ADBC database and connection, kept across a connector's reads.

    Creating an ``AdbcDatabase`` costs tens of milliseconds (the driver connects once to
    load the server's type catalog) and a connection about twenty more: at thousands of
    rows per table that was most of a small table's run. A session keeps both for the
    life of its connector (a connector in a batch's :class:`~dataloader_sdk.connectors
    .pool.SourcePool` lives for the batch), so each read only prepares one statement.

    One read at a time, from one thread at a time (as the connector it belongs to). A kept
    connection that turns out broken when a read starts (the server restarted, an
    administrator ended the session, an idle timeout) is discarded and the statement is
    run once more on a new connection: nothing was read yet, so the retry is invisible.
    A failure after the stream started is the caller's (a SourceError; the run's retry
    rules apply).

    Args:
        conninfo: returns the libpq connection string (it holds the password, so it is
            asked for only when a database is created, and never stored or logged here).
    """

    def __init__(self, conninfo: Callable[[], str]) -> None:
        self._conninfo = conninfo
        self._db: Any = None
        self._conn: Any = None
        self._busy = False  # a reader holds the connection (its COPY is still open)

    @property
    def busy(self) -> bool:
        """Whether a reader from this session has not been read to its end (or closed)."""
        return self._busy

    def read(
        self,
        sql: str,
        schema: pa.Schema,
        batch_rows: int,
        on_error: OnError,
        *,
        batch_bytes: int = 4 << 20,
    ) -> pa.RecordBatchReader:
        """Stream ``sql`` through ADBC's binary COPY reader (see :func:`read_adbc`)."""
        import adbc_driver_manager

        if self._busy:
            # The last reader was dropped before its end: its COPY still owns the
            # connection, so the connection cannot run another statement.
            self._drop_connection()
        reused = self._conn is not None
        try:
            stmt, raw = self._start(sql, batch_bytes)
        except adbc_driver_manager.Error as exc:
            self._drop_connection()
            if not reused:
                raise on_error(exc) from None
            try:  # a kept connection that went bad while idle: once more on a new one
                stmt, raw = self._start(sql, batch_bytes)
            except adbc_driver_manager.Error as again:
                self._drop_connection()
                raise on_error(again) from None
        self._busy = True

        def batches() -> Iterator[pa.RecordBatch]:
            clean = False
            try:
                for batch in raw:
                    yield from _sliced(conform(batch, schema), batch_rows)
                clean = True
            except (adbc_driver_manager.Error, pa.ArrowException, OSError) as exc:
                raise on_error(exc) from None
            finally:
                _close_all(raw, stmt)
                self._busy = False
                if not clean:  # stopped mid-stream: the connection's state is unknown
                    self._drop_connection()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def _start(self, sql: str, batch_bytes: int) -> tuple[Any, pa.RecordBatchReader]:
        import adbc_driver_manager
        import adbc_driver_postgresql

        if self._db is None:
            self._db = adbc_driver_postgresql.connect(self._conninfo())
        if self._conn is None:
            self._conn = adbc_driver_manager.AdbcConnection(self._db)
        stmt: Any = adbc_driver_manager.AdbcStatement(self._conn)
        try:
            stmt.set_sql_query(sql)
            stmt.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(batch_bytes)})
            handle, _ = stmt.execute_query()
            return stmt, pa.RecordBatchReader.from_stream(handle)
        except BaseException:
            _close_all(stmt)
            raise

    def _drop_connection(self) -> None:
        _close_all(self._conn)
        self._conn = None
        self._busy = False

    def close(self) -> None:
        """Close the connection and the database (idempotent)."""
        self._drop_connection()
        _close_all(self._db)
        self._db = None


def read_adbc(
    conninfo: str,
    sql: str,
    schema: pa.Schema,
    batch_rows: int,
    on_error: OnError,
    *,
    batch_bytes: int = 4 << 20,
) -> pa.RecordBatchReader:
    """Stream ``sql`` through ADBC's binary COPY reader on a session of its own.

    The low-level ADBC API is used on purpose: ``adbc_driver_manager.dbapi`` imports
    ``pyarrow.dataset`` and pandas (about 1.5 s per process) and adds nothing here. The
    database and connection are closed when the reader ends; a connector keeps an
    :class:`AdbcSession` instead, to pay for them once.

    Args:
        conninfo: libpq connection string (holds the password; never logged).
        sql: the statement, values already rendered by psycopg.
        schema: the declared schema.
        batch_rows: upper bound on rows per yielded batch.
        on_error: maps a driver exception to the SourceError to raise.
        batch_bytes: ADBC's batch-size hint; bounds memory per batch.
    """
    session = AdbcSession(lambda: conninfo)
    try:
        inner = session.read(sql, schema, batch_rows, on_error, batch_bytes=batch_bytes)
    except BaseException:
        session.close()
        raise

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from inner
        finally:
            inner.close()
            session.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def read_connectorx(
    uri: str, sql: str, schema: pa.Schema, batch_rows: int, on_error: OnError
) -> pa.RecordBatchReader:
    """Stream ``sql`` through connectorx's Arrow stream (an optional dependency).

    connectorx widens ``int2``/``int4`` to ``int64`` and reports ``timestamptz`` as
    ``+00:00``; :func:`conform` narrows and renames them back, failing rather than
    rounding.
    """
    try:
        import connectorx
    except ImportError as exc:
        raise on_error(
            ImportError("read_path 'connectorx' needs the connectorx package; pip install it")
        ) from exc
    try:
        raw: pa.RecordBatchReader = connectorx.read_sql(
            uri, sql, return_type="arrow_stream", batch_size=batch_rows
        )
    except RuntimeError as exc:
        raise on_error(exc) from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in raw:
                yield from _sliced(conform(batch, schema), batch_rows)
        except (RuntimeError, pa.ArrowException, OSError) as exc:
            raise on_error(exc) from None
        finally:
            raw.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _close_all(*resources: Any) -> None:
    # Close in the order given (reader before statement before connection) and keep going:
    # a failure to close one must not leak the others.
    for res in resources:
        if res is None:
            continue
        with contextlib.suppress(Exception):
            res.close()
