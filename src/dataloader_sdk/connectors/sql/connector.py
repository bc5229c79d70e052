"""The SQL connector template: the I/O skeleton every SQL connector shares.

A connector for a SQL database subclasses :class:`SqlConnector` and states only what
differs, as a sqlglot dialect does:

* :attr:`~SelectCompiler.dialect`: the SQLAlchemy dialect selects compile for;
* :meth:`SqlConnector._describe`: the columns of a table or query (the template caches
  them per object until :meth:`SqlConnector.reset`);
* :meth:`SqlConnector._stream`: start the compiled read and return an iterator of Arrow
  batches or chunks of rows; it releases its cursor in its own ``finally``;
* :attr:`SqlConnector.read_errors`: the driver's exception classes;
* :meth:`SqlConnector._probe_value`: run a probe's statement and return its one value;
* optionally :meth:`~SelectCompiler.project`, :meth:`~SelectCompiler.bind_type`,
  :meth:`SqlConnector.conform_batch`, :meth:`SqlConnector.error_kind`, and the probe
  hooks :meth:`SqlConnector._cursor_value` and :meth:`SqlConnector._change_signature`;
* optionally, for a batch's unchanged sweep (``unchanged_sweep.py``), the hooks
  :meth:`SqlConnector._describe_together` (several objects' columns from one catalog
  query) and :meth:`SqlConnector._probe_rows_together` (several objects' probes at once;
  the default is one statement of scalar subqueries).

The template's :meth:`SqlConnector.read` restricts the columns, builds the schema,
chooses the batch size, starts the stream (classifying a failure to start), conforms
every batch to the declared schema, slices it and classifies failures mid-stream. Its
:meth:`SqlConnector.probe` answers every probe kind through the probe hooks (see
:mod:`.probes`).
"""

from __future__ import annotations

import contextlib
import itertools
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pyarrow as pa
import sqlalchemy as sa

from dataloader_sdk.connectors.arrow import Chunk, conform, schema_of, stream_reader
from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.checks import batch_rows_option
from dataloader_sdk.connectors.sql.compile import SelectCompiler
from dataloader_sdk.connectors.sql.cursor import typed_cursor_value
from dataloader_sdk.connectors.sql.errors import ErrorReporter
from dataloader_sdk.connectors.sql.probes import column_type, first_value
from dataloader_sdk.connectors.values import to_arrow, to_python
from dataloader_sdk.errors import SourceError, SourcePermanentError
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Compare,
    MaxOf,
    MinOf,
    Predicate,
    ProbeRequest,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret
from dataloader_sdk.statements import SelectStatement

__all__ = ["SqlConnector"]


def _has_values(where: Iterable[Predicate]) -> bool:
    """Whether any predicate compares with a value (a bind parameter)."""
    return any(isinstance(p, Compare) or (isinstance(p, AnyOf) and _has_values(p.predicates))
               for p in where)


TypeT = TypeVar("TypeT")
ProjectionT = TypeVar("ProjectionT")


class SqlConnector(SelectCompiler, ErrorReporter):
    """Template steps and the read skeleton shared by SQL connectors.

    Args:
        config: the source connection (``name`` appears in every error message).
        secret: the resolved password; only passed to the driver and to
            :func:`~dataloader_sdk.secrets.redact`.
    """

    #: Whether timestamps finer than the declared unit are truncated (see
    #: :func:`~dataloader_sdk.connectors.arrow.conform`); otherwise they fail the read.
    truncate_timestamps: bool = False

    def __init__(self, config: SourceConfig, secret: Secret | None) -> None:
        self.config = config
        self.secret = secret
        self._columns: dict[SourceObject, tuple[SourceColumn, ...]] = {}
        #: The streams of readers not yet drained (see :meth:`close_streams`).
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()

    # -- reuse within a batch -------------------------------------------------------

    def reset(self) -> bool:
        """Opt in to reuse within a batch (see :class:`~dataloader_sdk.connectors.pool
        .SourcePool`): forget per-table state and return ``True`` when the connection may
        serve another table of the batch. The default forgets the column cache and
        declines, so the connector is closed after its table, as without a pool.
        """
        self._columns.clear()
        return False

    # -- metadata --------------------------------------------------------------------

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        """The columns of ``obj`` with their Arrow types, described once per object."""
        cached = self._columns.get(obj)
        if cached is None:
            cached = self._columns[obj] = tuple(self._describe(obj))
        return cached

    def columns_together(self, objs: Sequence[SourceObject]) -> None:
        """Describe the objects not described yet in one go where the database can
        (:meth:`_describe_together`); :meth:`columns` then answers them from its cache.
        An object left out is described by :meth:`columns` on its own."""
        wanted = [obj for obj in dict.fromkeys(objs) if obj not in self._columns]
        if wanted:
            for obj, columns in self._describe_together(wanted).items():
                self._columns[obj] = tuple(columns)

    def _describe_together(
        self, objs: Sequence[SourceObject]
    ) -> Mapping[SourceObject, Sequence[SourceColumn]]:
        """The columns of several objects from one catalog query (hook; default: none,
        each is described on its own). Leave out any object it cannot describe."""
        return {}

    def _describe(self, obj: SourceObject) -> Sequence[SourceColumn]:
        """The columns of a table or query (hook; called once per object).

        Raises:
            SourcePermanentError: the table does not exist (see
                :meth:`~ErrorReporter.missing_table_error`) or a type has no mapping.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _describe")

    # -- probes ----------------------------------------------------------------------

    def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
        """Answer a probe with the database's hooks (docs/plugins.md lists every answer).

        ``ChangeSignature``: ``None`` for a ``source_query`` (it has no catalog entry),
        else :meth:`_change_signature`. ``MaxOf``/``MinOf``/``RowCount``: the statement of
        :meth:`~SelectCompiler.build_probe` run by :meth:`_probe_value`; no row or
        ``NULL`` answers ``None``, a count an ``int``, a max/min :meth:`_cursor_value`.
        """
        if isinstance(request, ChangeSignature):
            return None if obj.query is not None else self._change_signature(obj)
        return self._answer(obj, request, self._probe_value(obj, request,
                                                            self.build_probe(obj, request)))

    def probe_together(
        self, obj: SourceObject, requests: Sequence[ProbeRequest]
    ) -> list[ScalarValue | None] | None:
        """Several ``MAX``/``MIN``/``COUNT`` probes as one statement of scalar subqueries
        (``SELECT (SELECT max(c) FROM t), (SELECT count(*) FROM t WHERE c IS NULL)``), so
        an incremental run's probes cost one round trip; each subquery keeps its own plan
        (an index still answers ``max``). ``None`` (ask one by one) for a change
        signature, for predicates with values (each statement numbers its parameters
        from ``p0``), where the database states :meth:`_probe_value` instead of
        :meth:`_probe_rows`, or where a subclass overrides :meth:`probe`.
        """
        aggregates = self._together(requests)
        if aggregates is None:
            return None  # a connector that answers probes its own way is asked that way
        rows = self._probe_rows(obj, self.together_statement(obj, aggregates))
        if not rows:  # no _probe_rows: this database answers its probes one by one
            return None
        row = rows[0]
        return [self._answer(obj, r, value) for r, value in zip(aggregates, row, strict=True)]

    def probe_tables(
        self, items: Sequence[tuple[SourceObject, Sequence[ProbeRequest]]]
    ) -> list[list[ScalarValue | None]] | None:
        """The probes of several objects at once (a batch's unchanged sweep), each as
        :meth:`probe_together` would answer them: one statement for all of them, or
        however the database's :meth:`_probe_rows_together` asks them. ``None`` where
        :meth:`probe_together` would decline any of them."""
        asked: list[tuple[SourceObject, list[MaxOf | MinOf | RowCount]]] = []
        for obj, requests in items:
            aggregates = self._together(requests)
            if aggregates is None:
                return None
            asked.append((obj, aggregates))
        wanted = [(obj, aggregates) for obj, aggregates in asked if aggregates]
        rows = iter(self._probe_rows_together(wanted) or []) if wanted else iter(())
        out: list[list[ScalarValue | None]] = []
        for obj, aggregates in asked:
            row = next(rows, None) if aggregates else ()
            if row is None:
                return None  # no _probe_rows: this database answers its probes one by one
            out.append([self._answer(obj, r, value)
                        for r, value in zip(aggregates, row, strict=True)])
        return out

    def _together(self, requests: Sequence[ProbeRequest]
                  ) -> list[MaxOf | MinOf | RowCount] | None:
        """``requests`` when they can be asked in one statement, else ``None``."""
        if type(self).probe is not SqlConnector.probe:
            return None
        aggregates = [r for r in requests if isinstance(r, MaxOf | MinOf | RowCount)]
        if len(aggregates) != len(requests) or any(_has_values(r.where) for r in aggregates):
            return None
        return aggregates

    def together_statement(
        self, obj: SourceObject, aggregates: Sequence[MaxOf | MinOf | RowCount]
    ) -> SelectStatement:
        """The probes of ``obj`` as one select of labelled scalar subqueries."""
        return sa.select(*(self.build_probe(obj, r).scalar_subquery().label(f"a{i}")
                           for i, r in enumerate(aggregates)))

    def _probe_rows_together(
        self, asked: Sequence[tuple[SourceObject, Sequence[MaxOf | MinOf | RowCount]]]
    ) -> list[Sequence[Any]] | None:
        """The raw answers of several objects' probes, one row per object (hook). The
        default asks them all in one statement of scalar subqueries through
        :meth:`_probe_rows` (one round trip; ``None`` where that is not stated)."""
        flat = [(obj, r) for obj, aggregates in asked for r in aggregates]
        stmt = sa.select(*(self.build_probe(obj, r).scalar_subquery().label(f"a{i}")
                           for i, (obj, r) in enumerate(flat)))
        rows = self._probe_rows(asked[0][0], stmt)
        if not rows:
            return None
        values = iter(rows[0])
        return [tuple(itertools.islice(values, len(aggregates))) for _, aggregates in asked]

    def _answer(self, obj: SourceObject, request: MaxOf | MinOf | RowCount,
                value: Any) -> ScalarValue | None:
        if value is None or isinstance(request, RowCount):
            return None if value is None else int(value)
        return self._cursor_value(obj, request.expr.columns[0], value)

    def _probe_value(self, obj: SourceObject, request: MaxOf | MinOf | RowCount,
                     stmt: SelectStatement) -> Any:
        """Run a probe's statement and return its one value, ``None`` for no row (hook;
        errors classified as in every statement, see :meth:`~ErrorReporter.classify_error`).
        The default takes the first value of :meth:`_probe_rows`.
        """
        rows = self._probe_rows(obj, stmt)
        if rows is None:
            raise NotImplementedError(
                f"{type(self).__name__} must implement _probe_value or _probe_rows")
        return first_value(rows)

    def _probe_rows(self, obj: SourceObject, stmt: SelectStatement
                    ) -> Sequence[Sequence[Any]] | None:
        """Run a probe statement and return its rows, values as the driver hands them
        over (hook; instead of :meth:`_probe_value`, and then probes are also asked
        together, see :meth:`probe_together`). The default, ``None``: not stated."""
        return None

    def _cursor_value(self, obj: SourceObject, column: str, raw: Any) -> ScalarValue:
        """A ``MAX``/``MIN`` answer of ``column`` as the watermark value (hook). Default:
        :func:`~dataloader_sdk.connectors.sql.typed_cursor_value` converting by the type
        map (:func:`~dataloader_sdk.connectors.values.to_python`)."""
        return typed_cursor_value(self.config.name, obj, column, raw,
                                  column_type(self, obj, column), to_python)

    def _change_signature(self, obj: SourceObject) -> str | None:
        """A string that changes whenever table ``obj`` changes (hook). Default ``None``:
        no cheap signature, strategies compare row counts and maxima."""
        return None

    def _mapped_columns(
        self, obj: SourceObject, raw: Iterable[tuple[str, TypeT, bool]],
        type_map: Callable[[TypeT], tuple[pa.DataType, ProjectionT] | None],
        projections: dict[SourceColumn, ProjectionT], *, converted: str,
    ) -> list[SourceColumn]:
        """``(name, source type, nullable)`` rows as columns typed by ``type_map``, each
        column's projection recorded in ``projections`` (for a database whose type map
        also says how a read selects the column).

        Raises:
            SourcePermanentError: a type has no mapping; the message names the column and
                suggests selecting it ``converted`` (e.g. ``TO_CHAR(col)``) in a query.
        """
        out: list[SourceColumn] = []
        for name, source_type, nullable in raw:
            mapped = type_map(source_type)
            if mapped is None:
                raise SourcePermanentError(
                    f"source {self.config.name!r}: column {name!r} of {obj} has type "
                    f"{source_type} which has no Arrow mapping; select it converted in a "
                    f"source_query (e.g. {converted}) or leave it out"
                )
            column = SourceColumn(name, str(source_type), mapped[0], nullable)
            projections[column] = mapped[1]
            out.append(column)
        return out

    # -- read ------------------------------------------------------------------------

    def read_errors(self) -> tuple[type[BaseException], ...]:
        """The driver exceptions a read may raise; imported lazily (hook)."""
        return ()

    def default_batch_rows(self) -> int:
        """Rows per batch when the caller asks for no size: ``options.batch_rows`` or the
        default."""
        return batch_rows_option(self.config)

    def conform_batch(self, batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
        """One driver batch with exactly ``schema`` (override for a database's own casts)."""
        return conform(batch, schema, truncate_timestamps=self.truncate_timestamps)

    def to_arrow(self, values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
        """A column of row values as an Arrow array (for streams that yield rows)."""
        return to_arrow(values, arrow_type)

    def read_error(self, exc: BaseException, obj: SourceObject) -> SourceError:
        """The SourceError for a failure to start or continue a read."""
        if isinstance(exc, SourceError):
            return exc
        return self.classify_error(exc, action="reading", obj=obj)

    def close(self) -> None:
        """Release everything (idempotent): the readers not yet drained first, while their
        connection is still open (:meth:`close_streams`), then the database's own
        sessions and clients (:meth:`_release`)."""
        self.close_streams()
        self._release()

    def _release(self) -> None:
        """Close the database's sessions and clients (hook; idempotent). Default: none."""

    def close_streams(self) -> None:
        """Close the streams of readers that were not drained (:meth:`close` does it first).

        A reader the runner abandons (a failed write, an error, a cancelled run) is
        released when Python collects it, which may be after the connection is gone; its
        stream's ``finally`` then fails far from its cause. Closing them here, while the
        connection is still open, runs each ``finally`` in order. Idempotent.
        """
        for stream in list(self._streams):
            close = getattr(stream, "close", None)
            if close is not None:
                # ValueError: the generator is running on another thread (a cancelled
                # read); that thread's own exit runs its ``finally``.
                with contextlib.suppress(ValueError):
                    close()
        self._streams = weakref.WeakSet()

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[Chunk]:
        """Start the read of ``select`` and return its chunks (hook).

        Runs the statement before returning (so a bad query fails in :meth:`read`, on the
        caller's stack) and returns an iterator, usually a generator whose ``finally``
        releases the cursor or connection: the template closes it when the reader is
        drained, fails or is abandoned. Chunks are Arrow batches in the driver's types
        (conformed by :meth:`conform_batch`) or sequences of row tuples (converted by
        :meth:`to_arrow`); their size is a hint, the template slices to ``batch_rows``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _stream")

    def read(self, select: Select, *, batch_rows: int | None = None) -> pa.RecordBatchReader:
        """Stream ``select`` as Arrow batches of at most ``batch_rows`` rows.

        ``batch_rows=None`` takes ``options.batch_rows`` of the source, or the default.
        """
        obj = select.source
        columns = self.restrict(obj, self.columns(obj), select.columns)
        schema = schema_of(columns)
        rows = self.default_batch_rows() if batch_rows is None else batch_rows
        catch = self.read_errors()
        try:
            chunks = self._stream(select, columns, schema, rows)
        except catch as exc:
            raise self.read_error(exc, obj) from None
        with contextlib.suppress(TypeError):  # an iterator without weak references
            self._streams.add(chunks)
        return stream_reader(
            schema, chunks, batch_rows=rows, catch=catch,
            on_error=lambda exc: self.read_error(exc, obj),
            to_batch=lambda batch: self.conform_batch(batch, schema), convert=self.to_arrow)
