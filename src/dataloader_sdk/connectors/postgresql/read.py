"""Arrow-native bulk read streams for PostgreSQL (ADBC by default, connectorx on request).

Both run one SQL statement whose values were rendered client-side (see
``PostgresConnector.render``) because the fast paths cannot bind parameters without
losing streaming: ADBC reads through ``COPY (query) TO STDOUT (FORMAT binary)`` only for
queries without parameters (a bound query is executed with ``PQexecPrepared``, which
buffers the whole result), and connectorx has no parameters at all.

Both return the driver's batches as they come (numeric text, widened integers, field
metadata): the connector template conforms them to the declared schema, slices them and
classifies driver errors.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

__all__ = ["AdbcSession", "SharedDatabases", "shared_databases", "stream_connectorx"]


@dataclass
class _Shared:
    #: Serializes the calls on this database: creating it, connections from it, closing.
    lock: threading.Lock = field(default_factory=threading.Lock)
    database: Any = None
    users: int = 0


class SharedDatabases:
    """ADBC databases shared by the open sessions of one source (one connection string).

    An ``AdbcDatabase`` is a connection factory that holds the server's type catalog;
    creating one costs ~60 ms (~45 ms of it CPU, measured), a connection from it ~8 ms.
    The connectors of a batch's pool (up to ``per_source_limit`` of one source) each
    created their own, so a batch of four workers paid the catalog load four times.
    Now they share one: it is closed when the last session using it closes, so no
    database outlives the connectors that use it (those of a batch), and a type created
    on the server is seen by the next batch, as before.

    ADBC objects allow serialized, not concurrent, calls from several threads, so the
    calls on one database (creating it, a connection from it, closing one) take that
    database's own lock. Only the registry's bookkeeping takes the registry's lock, so a
    source whose server does not answer (its connect waits for ``connect_timeout``) never
    holds up another source. The key is a hash of the connection string: the password is
    never a key here.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, _Shared] = {}

    def acquire(self, conninfo: str) -> str:
        """Count a user of ``conninfo``'s database, creating it if none is open; returns
        its key, which the user passes to :meth:`connect` and must :meth:`release` once.

        Raises:
            adbc_driver_manager.Error: the database could not be created (nothing is
                counted then).
        """
        import adbc_driver_postgresql

        key = hashlib.sha256(conninfo.encode()).hexdigest()
        with self._lock:
            shared = self._open.setdefault(key, _Shared())
            shared.users += 1
        try:
            with shared.lock:
                if shared.database is None:
                    shared.database = adbc_driver_postgresql.connect(conninfo)
        except BaseException:
            self.release(key)
            raise
        return key

    def connect(self, key: str) -> Any:
        """A new connection from ``key``'s database (one call on it at a time)."""
        import adbc_driver_manager

        shared = self._entry(key)
        with shared.lock:
            return adbc_driver_manager.AdbcConnection(shared.database)

    def close_connection(self, key: str, connection: Any) -> None:
        """Close a connection from ``key``'s database (one call on it at a time)."""
        with self._entry(key).lock:
            _close_all(connection)

    def release(self, key: str) -> None:
        """One user fewer of ``key``'s database; the last one closes it."""
        with self._lock:
            shared = self._open.get(key)
            if shared is None:
                return
            shared.users -= 1
            if shared.users > 0:
                return
            del self._open[key]
        with shared.lock:
            _close_all(shared.database)
            shared.database = None

    def open_count(self) -> int:
        """How many databases are open (for tests and diagnostics)."""
        with self._lock:
            return sum(1 for shared in self._open.values() if shared.database is not None)

    def _entry(self, key: str) -> _Shared:
        with self._lock:
            shared = self._open.get(key)
        if shared is None or shared.database is None:
            raise RuntimeError("no open ADBC database for this key: acquire() it first")
        return shared


@functools.cache
def shared_databases() -> SharedDatabases:
    """This process's :class:`SharedDatabases` (created on first use, not at import)."""
    return SharedDatabases()


class AdbcSession:
    """One ADBC database and connection, kept across a connector's reads.

    Creating an ``AdbcDatabase`` costs tens of milliseconds (the driver connects once to
    load the server's type catalog) and a connection about ten more: at thousands of
    rows per table that was most of a small table's run. A session keeps its connection
    for the life of its connector (a connector in a batch's :class:`~dataloader_sdk
    .connectors.pool.SourcePool` lives for the batch), so each read only prepares one
    statement; the database is shared with the other open sessions of the same source
    (:class:`SharedDatabases`).

    One read at a time, from one thread at a time (as the connector it belongs to). A kept
    connection that turns out broken when a read starts (the server restarted, an
    administrator ended the session, an idle timeout) is discarded and the statement is
    run once more on a new connection: nothing was read yet, so the retry is invisible.
    A failure after the stream started is the caller's (a SourceError; the run's retry
    rules apply).

    Args:
        conninfo: returns the libpq connection string (it holds the password, so it is
            asked for once, at the session's first read, to find or create its shared
            database; it is never stored or logged here).
    """

    def __init__(self, conninfo: Callable[[], str]) -> None:
        self._conninfo = conninfo
        self._databases = shared_databases()
        self._db_key: str | None = None  # of the shared database, once acquired
        self._conn: Any = None
        self._busy = False  # a reader holds the connection (its COPY is still open)

    @property
    def busy(self) -> bool:
        """Whether a reader from this session has not been read to its end (or closed)."""
        return self._busy

    def stream(self, sql: str, *, batch_bytes: int = 4 << 20) -> Iterator[pa.RecordBatch]:
        """Start ``sql`` through ADBC's binary COPY reader and return its batches.

        The statement starts before this returns; driver errors are raised as they are
        (``adbc_driver_manager.Error``) for the caller to classify. Closing the iterator
        before its end drops the connection (its COPY still owns it).

        Args:
            sql: the statement, values already rendered by psycopg.
            batch_bytes: ADBC's batch-size hint; bounds memory per batch.
        """
        import adbc_driver_manager

        if self._busy:
            # The last reader was dropped before its end: its COPY still owns the
            # connection, so the connection cannot run another statement.
            self._drop_connection()
        reused = self._conn is not None
        try:
            stmt, raw = self._start(sql, batch_bytes)
        except adbc_driver_manager.Error:
            self._drop_connection()
            if not reused:
                raise
            try:  # a kept connection that went bad while idle: once more on a new one
                stmt, raw = self._start(sql, batch_bytes)
            except adbc_driver_manager.Error:
                self._drop_connection()
                raise
        self._busy = True

        def batches() -> Iterator[pa.RecordBatch]:
            clean = False
            try:
                yield from raw
                clean = True
            finally:
                _close_all(raw, stmt)
                self._busy = False
                if not clean:  # stopped mid-stream: the connection's state is unknown
                    self._drop_connection()

        return batches()

    def _start(self, sql: str, batch_bytes: int) -> tuple[Any, pa.RecordBatchReader]:
        import adbc_driver_manager

        if self._db_key is None:
            self._db_key = self._databases.acquire(self._conninfo())
        if self._conn is None:
            self._conn = self._databases.connect(self._db_key)
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
        if self._conn is not None and self._db_key is not None:
            self._databases.close_connection(self._db_key, self._conn)
        self._conn = None
        self._busy = False

    def close(self) -> None:
        """Close the connection and give up the shared database (idempotent)."""
        self._drop_connection()
        key, self._db_key = self._db_key, None
        if key is not None:
            self._databases.release(key)


def stream_connectorx(uri: str, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Start ``sql`` through connectorx's Arrow stream (an optional dependency).

    connectorx widens ``int2``/``int4`` to ``int64`` and reports ``timestamptz`` as
    ``+00:00``; conforming narrows and renames them back, failing rather than rounding.

    Raises:
        ImportError: connectorx is not installed (the message says what to install).
        RuntimeError: connectorx's own failures, as it raises them.
    """
    try:
        import connectorx
    except ImportError as exc:
        raise ImportError(
            "read_path 'connectorx' needs the connectorx package; pip install it") from exc
    raw: pa.RecordBatchReader = connectorx.read_sql(
        uri, sql, return_type="arrow_stream", batch_size=batch_rows)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from raw
        finally:
            raw.close()

    return batches()


def _close_all(*resources: Any) -> None:
    # Close in the order given (reader before statement before connection) and keep going:
    # a failure to close one must not leak the others.
    for res in resources:
        if res is None:
            continue
        with contextlib.suppress(Exception):
            res.close()
