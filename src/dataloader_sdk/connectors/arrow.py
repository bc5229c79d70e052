"""Arrow batches of exactly the declared schema, in bounded slices (public helpers).

Every connector's read ends the same way: the driver hands over Arrow batches (or rows of
Python values), each is converted to the declared schema, cut to at most ``batch_rows``
rows and yielded through a reader whose schema is known before the first batch; a driver
failure on the way becomes a :class:`~dataloader_sdk.errors.SourceError`. These helpers do
that once; :class:`~dataloader_sdk.connectors.sql.SqlConnector` uses them for every built-in
connector and a plugin may use them on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeAlias

import pyarrow as pa

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.values import to_arrow
from dataloader_sdk.errors import SourceError

__all__ = ["Chunk", "conform", "rows_to_batch", "schema_of", "sliced", "stream_reader"]

#: What a connector's stream yields: an Arrow batch in the driver's types, or a chunk of
#: rows of Python values (one tuple per row, in the schema's column order).
Chunk: TypeAlias = pa.RecordBatch | Sequence[Sequence[Any]]

#: Adjusts one driver array before the cast to its declared type (see :func:`conform`).
Adapt: TypeAlias = Callable[[pa.Array, pa.DataType], pa.Array]


def schema_of(columns: Iterable[SourceColumn]) -> pa.Schema:
    """The Arrow schema of ``columns``: names, declared types and nullability."""
    return pa.schema([pa.field(c.name, c.arrow_type, c.nullable) for c in columns])


def conform(batch: pa.RecordBatch, schema: pa.Schema, *, truncate_timestamps: bool = False,
            adapt: Adapt | None = None) -> pa.RecordBatch:
    """``batch`` with exactly ``schema``'s types and names (columns matched by position).

    Extension arrays are read through their storage and dictionaries decoded; every cast
    is safe (a value that does not fit fails the read, never rounds), except timestamp to
    timestamp when ``truncate_timestamps`` is set: a source whose timestamps are finer than
    microseconds (SQL Server's 100 ns ticks, Oracle and Snowflake nanoseconds) is truncated
    to the declared unit, as its Python driver does.

    Args:
        batch: a batch in the driver's types.
        schema: the declared schema.
        truncate_timestamps: truncate finer timestamps instead of failing.
        adapt: a database's own step before the cast (e.g. ClickHouse ``DateTime`` as
            ``uint32`` seconds); called only for a column whose type differs.
    """
    arrays = []
    for i, target in enumerate(schema):
        arr = batch.column(i)
        if arr.type != target.type:
            if isinstance(arr.type, pa.ExtensionType):
                arr = arr.storage
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            if adapt is not None:
                arr = adapt(arr, target.type)
            unsafe = (truncate_timestamps and pa.types.is_timestamp(arr.type)
                      and pa.types.is_timestamp(target.type))
            arr = arr.cast(target.type, safe=not unsafe)
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def sliced(batch: pa.RecordBatch, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """``batch`` cut into zero-copy slices of at most ``batch_rows`` rows (none if empty)."""
    for offset in range(0, batch.num_rows, batch_rows):
        yield batch.slice(offset, batch_rows)


def rows_to_batch(rows: Sequence[Sequence[Any]], schema: pa.Schema,
                  convert: Callable[[Sequence[Any], pa.DataType], pa.Array] = to_arrow,
                  ) -> pa.RecordBatch:
    """Rows of Python values as one batch of ``schema``, converted column by column.

    Raises:
        ValueError: a value that does not fit its column's type (see
            :func:`~dataloader_sdk.connectors.values.to_arrow`).
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = [convert(col, f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def stream_reader(
    schema: pa.Schema,
    chunks: Iterator[Chunk],
    *,
    batch_rows: int,
    catch: tuple[type[BaseException], ...],
    on_error: Callable[[BaseException], SourceError],
    to_batch: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
    convert: Callable[[Sequence[Any], pa.DataType], pa.Array] = to_arrow,
) -> pa.RecordBatchReader:
    """A reader of ``schema`` over a driver's stream, in slices of at most ``batch_rows``.

    Resource release: ``chunks`` is closed (``close()``, e.g. a generator's ``finally``)
    when the reader is drained, fails, or is closed or dropped before its end, whichever
    comes first. A connector therefore releases its cursor or connection in the
    ``finally`` of the generator it returns, and nowhere else.

    Args:
        schema: the declared schema (the reader's, known before the first batch).
        chunks: Arrow batches in the driver's types, or chunks of rows.
        batch_rows: the most rows per yielded batch.
        catch: the exceptions that are source failures (the driver's errors); each is
            raised as ``on_error(exc)``. Arrow's errors, and a value of a row that does
            not fit its column (``ValueError``, ``TypeError``), are always caught. A
            SourceError passes as is.
        on_error: the SourceError for a caught exception.
        to_batch: converts an Arrow chunk to ``schema`` (default :func:`conform`).
        convert: converts a column of row values (default
            :func:`~dataloader_sdk.connectors.values.to_arrow`).
    """
    fix = to_batch or (lambda batch: conform(batch, schema))
    caught = (*catch, pa.ArrowException)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for chunk in chunks:
                if isinstance(chunk, pa.RecordBatch):
                    batch = fix(chunk)
                else:
                    try:
                        batch = rows_to_batch(chunk, schema, convert)
                    except (TypeError, ValueError, ArithmeticError) as exc:
                        raise on_error(exc) from None
                yield from sliced(batch, batch_rows)
        except SourceError:
            raise
        except caught as exc:
            raise on_error(exc) from None
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    return pa.RecordBatchReader.from_batches(schema, batches())
