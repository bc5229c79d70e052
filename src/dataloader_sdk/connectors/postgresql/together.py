"""PostgreSQL's small reads together: many tables' boundary windows in one round trip.

A batch's unchanged sweep (``unchanged_sweep.py``) re-reads, for each table whose source
shows nothing past its watermark, the few rows at the watermark and compares their digest
with the one its last commit kept. Through ADBC each such read costs a ``COPY`` of its own
(a prepare, a describe and the copy: 0.6-0.8 ms of server and driver time per table,
measured on 200 tables), which made those reads most of an unchanged batch.

:meth:`PostgresReadsTogether.read_together` sends them all through the psycopg session in
one pipeline instead (0.1-0.2 ms per table) and builds, for each table, the Arrow table
:meth:`~dataloader_sdk.connectors.sql.connector.SqlConnector.read` would have streamed:

* the statement is the read's own (the same ``build_select`` with the same projections,
  its values rendered the same way), with a ``LIMIT`` of ``most_rows + 1``;
* the values come back in PostgreSQL's binary format, which psycopg decodes exactly for
  the types read ``native`` (ints, floats, bool, text types, date, timestamp[tz], time,
  bytea); every other type is selected as text by the read's projection anyway;
* the rows become a batch of the driver's types (packed into Arrow's buffers by
  :mod:`~dataloader_sdk.connectors.packed`, since ``pyarrow.array`` would import pandas)
  and then pass through the read's own ``conform_batch``.

``tests/integration/test_pg_read_together.py`` checks that the result equals the ADBC read
of the same select, value for value and schema for schema, over every mapped type and
their edge values. A table whose read cannot be done this way (more rows than
``most_rows``, a value psycopg cannot represent such as ``'infinity'``, an error, the
``connectorx`` read path) gets ``None``, and its caller reads it as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dataloader_sdk.connectors.arrow import schema_of
from dataloader_sdk.connectors.packed import packed_array
from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.connectors.postgresql.types import Projection
    from dataloader_sdk.connectors.sql.compile import CompiledQuery
    from dataloader_sdk.model import Select, SourceObject

__all__ = ["PostgresReadsTogether"]

_T = TypeVar("_T")


class _Host(Protocol):
    @property
    def read_path(self) -> str: ...

    _projections: dict[SourceColumn, Projection]

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]: ...

    def restrict(self, obj: SourceObject, columns: Sequence[SourceColumn],
                 wanted: Sequence[str] | None) -> tuple[SourceColumn, ...]: ...

    def compiled_read(self, select: Select, columns: Sequence[SourceColumn],
                      limit: int | None = None) -> CompiledQuery: ...

    def literal_sql(self, compiled: CompiledQuery, obj: SourceObject) -> str: ...

    def conform_batch(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch: ...

    def _on_session(self, fn: Callable[[psycopg.Connection[Any]], _T], *, action: str,
                    obj: SourceObject | None = None, hint: str = "") -> _T: ...


class PostgresReadsTogether:
    """:class:`~dataloader_sdk.connectors.base.ReadsTogether` for
    :class:`~dataloader_sdk.connectors.postgresql.PostgresConnector` (see the module
    docstring)."""

    def read_together(self: _Host, selects: Sequence[Select],
                      most_rows: int) -> list[pa.Table | None]:
        """Each select's rows as :meth:`read` would give them, or ``None`` (read it)."""
        if self.read_path != "adbc" or not selects:
            return [None] * len(selects)
        try:
            plans = [_Planned.of(self, select, most_rows) for select in selects]

            def run(conn: psycopg.Connection[Any]) -> list[list[tuple[Any, ...]] | None]:
                cursors = []
                with conn.pipeline():
                    for plan in plans:
                        cursor = conn.cursor(binary=True)
                        cursor.execute(plan.sql)
                        cursors.append(cursor)
                return [_fetched(cursor) for cursor in cursors]

            fetched = self._on_session(run, action="reading boundaries of",
                                       obj=selects[0].source)
        except DataLoaderError:  # each table's own read reports what is wrong
            return [None] * len(selects)
        return [None if rows is None or len(rows) > most_rows else plan.table(self, rows)
                for plan, rows in zip(plans, fetched, strict=True)]


@dataclass(frozen=True)
class _Planned:
    """One select's statement and the Arrow schemas of its raw rows and of its read."""

    sql: str
    raw: pa.Schema
    schema: pa.Schema

    @classmethod
    def of(cls, host: _Host, select: Select, most_rows: int) -> _Planned:
        import pyarrow as pa

        obj = select.source
        columns = host.restrict(obj, host.columns(obj), select.columns)
        # The driver's types: a native column arrives as its declared type, a projected
        # one as PostgreSQL's text output (what ADBC hands the read's conform_batch).
        raw = pa.schema([pa.field(c.name, c.arrow_type if host._projections.get(c, "native")
                                  == "native" else pa.string()) for c in columns])
        compiled = host.compiled_read(select, columns, most_rows + 1)
        return cls(host.literal_sql(compiled, obj), raw, schema_of(columns))

    def table(self, host: _Host, rows: list[tuple[Any, ...]]) -> pa.Table | None:
        """The rows as the read's table, or ``None`` when a value does not convert."""
        import pyarrow as pa

        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.raw]
        arrays = [packed_array(values, f.type) for values, f in zip(columns, self.raw,
                                                                     strict=True)]
        if any(a is None for a in arrays):
            return None
        try:
            batch = pa.RecordBatch.from_arrays(arrays, schema=self.raw)
            return pa.Table.from_batches([host.conform_batch(batch, self.schema)],
                                         schema=self.schema)
        except (pa.ArrowException, TypeError, ValueError):
            return None  # a projected value its declared type refuses: the read says so


def _fetched(cursor: psycopg.Cursor[Any]) -> list[tuple[Any, ...]] | None:
    """The cursor's rows; ``None`` when psycopg cannot represent a value (``'infinity'``
    dates, years past 9999, ``24:00`` times)."""
    import psycopg

    try:
        return cursor.fetchall()
    except psycopg.DataError:
        return None
