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

__all__ = ["READ_PATHS", "ReadPath", "conform", "read_adbc", "read_connectorx"]

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


def read_adbc(
    conninfo: str,
    sql: str,
    schema: pa.Schema,
    batch_rows: int,
    on_error: OnError,
    *,
    batch_bytes: int = 4 << 20,
) -> pa.RecordBatchReader:
    """Stream ``sql`` through ADBC's binary COPY reader.

    The low-level ADBC API is used on purpose: ``adbc_driver_manager.dbapi`` imports
    ``pyarrow.dataset`` and pandas (about 1.5 s per process) and adds nothing here.

    Args:
        conninfo: libpq connection string (holds the password; never logged).
        sql: the statement, values already rendered by psycopg.
        schema: the declared schema.
        batch_rows: upper bound on rows per yielded batch.
        on_error: maps a driver exception to the SourceError to raise.
        batch_bytes: ADBC's batch-size hint; bounds memory per batch.
    """
    import adbc_driver_manager
    import adbc_driver_postgresql

    try:
        db = adbc_driver_postgresql.connect(conninfo)
    except adbc_driver_manager.Error as exc:
        raise on_error(exc) from None
    conn: Any = None
    stmt: Any = None
    raw: pa.RecordBatchReader | None = None
    try:
        conn = adbc_driver_manager.AdbcConnection(db)
        stmt = adbc_driver_manager.AdbcStatement(conn)
        stmt.set_sql_query(sql)
        stmt.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(batch_bytes)})
        handle, _ = stmt.execute_query()
        raw = pa.RecordBatchReader.from_stream(handle)
    except adbc_driver_manager.Error as exc:
        _close_all(raw, stmt, conn, db)
        raise on_error(exc) from None
    except BaseException:
        _close_all(raw, stmt, conn, db)
        raise

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in raw:
                yield from _sliced(conform(batch, schema), batch_rows)
        except (adbc_driver_manager.Error, pa.ArrowException, OSError) as exc:
            raise on_error(exc) from None
        finally:
            _close_all(raw, stmt, conn, db)

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
