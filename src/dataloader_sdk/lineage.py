"""Lineage columns added to every row a dataloader run writes.

Every batch read from a source passes through :func:`with_lineage` on its way to the
engine, which appends three columns:

==================  ==========================  ==============================================
column              Arrow type                  value
==================  ==========================  ==============================================
``_dl_run_id``      ``string``                  the run that wrote the row
``_dl_loaded_at``   ``timestamp[us, tz=UTC]``   the step's planned load time (same on replay)
``_dl_source``      ``string``                  the source, e.g. ``pg_main:public.orders``
==================  ==========================  ==============================================

The wrapper streams: it holds one batch at a time, plus the three constant columns sized
for the largest batch so far (sliced for smaller ones), so the engine's bounded-memory
append/overwrite paths stay bounded. It also counts the rows that passed through, which
the runner records as ``rows_read``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from dataloader_sdk.errors import ConfigError

__all__ = [
    "LINEAGE_COLUMNS",
    "LOADED_AT_COLUMN",
    "RUN_ID_COLUMN",
    "SOURCE_COLUMN",
    "CountingReader",
    "check_lineage",
    "lineage_fields",
    "with_lineage",
]

RUN_ID_COLUMN = "_dl_run_id"
LOADED_AT_COLUMN = "_dl_loaded_at"
SOURCE_COLUMN = "_dl_source"
LINEAGE_COLUMNS: tuple[str, ...] = (RUN_ID_COLUMN, LOADED_AT_COLUMN, SOURCE_COLUMN)

_LOADED_AT_TYPE = pa.timestamp("us", tz="UTC")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# The scalars are built from raw buffers on purpose: converting Python objects with
# pa.scalar()/pa.array() makes pyarrow import pandas when it is installed, which costs
# over a second on the first load of a process.


def _string_scalar(text: str) -> pa.Scalar:
    data = text.encode("utf-8")
    offsets = struct.pack("<ii", 0, len(data))
    array = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(offsets),
                                                   pa.py_buffer(data)])
    return array[0]


def _timestamp_scalar(moment: datetime) -> pa.Scalar:
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    array = pa.Array.from_buffers(_LOADED_AT_TYPE, 1, [None, pa.py_buffer(
        struct.pack("<q", micros))])
    return array[0]


def lineage_fields() -> list[pa.Field]:
    """The Arrow fields :func:`with_lineage` appends, in order."""
    return [
        pa.field(RUN_ID_COLUMN, pa.string()),
        pa.field(LOADED_AT_COLUMN, _LOADED_AT_TYPE),
        pa.field(SOURCE_COLUMN, pa.string()),
    ]


class CountingReader:
    """A stream of record batches with lineage columns, counting the rows that pass.

    Hand :attr:`reader` to an engine; read :attr:`rows` after the engine consumed it.
    A replayed write consumes nothing, so :attr:`rows` stays 0.

    Attributes:
        rows: rows yielded so far.
        batches: batches yielded so far.
    """

    def __init__(
        self,
        source: pa.RecordBatchReader,
        *,
        run_id: str,
        loaded_at: datetime,
        source_name: str,
    ) -> None:
        self.rows = 0
        self.batches = 0
        self._source = source
        self._run_id = _string_scalar(run_id)
        self._loaded_at = _timestamp_scalar(loaded_at)
        self._source_name = _string_scalar(source_name)
        schema = source.schema
        for fld in lineage_fields():
            schema = schema.append(fld)
        self._schema = schema
        self._reader = pa.RecordBatchReader.from_batches(schema, self._batches())

    @property
    def schema(self) -> pa.Schema:
        """The source schema followed by the lineage columns."""
        return self._schema

    @property
    def reader(self) -> pa.RecordBatchReader:
        """The stream to hand to an engine (single use, like any RecordBatchReader)."""
        return self._reader

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Export :attr:`reader` through the Arrow PyCapsule stream interface."""
        return self._reader.__arrow_c_stream__(requested_schema)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        constants: list[pa.Array] = []
        for batch in self._source:
            n = batch.num_rows
            if not constants or len(constants[0]) < n:
                # Built once for the largest batch so far and sliced (zero-copy) for the
                # rest: materialising the repeated strings for every batch was half of
                # what the lineage columns cost a 5M-row load (docs/benchmarks.md).
                constants = [pa.repeat(self._run_id, n), pa.repeat(self._loaded_at, n),
                             pa.repeat(self._source_name, n)]
            columns = [*batch.columns,
                       *(c if len(c) == n else c.slice(0, n) for c in constants)]
            out = pa.RecordBatch.from_arrays(columns, schema=self._schema)
            self.rows += n
            self.batches += 1
            yield out


def check_lineage(names: Iterable[str], *, loaded_at: datetime, source: str) -> None:
    """Refuse source columns named like a lineage column, and a naive ``loaded_at``.

    Raises:
        ConfigError: a clash (compared case-insensitively, as Delta compares column
            names), or ``loaded_at`` without a timezone.
    """
    taken = {name.lower(): name for name in names}
    clashes = [taken[c.lower()] for c in LINEAGE_COLUMNS if c.lower() in taken]
    if clashes:
        listed = ", ".join(repr(c) for c in clashes)
        raise ConfigError(
            f"source {source!r} already has column(s) {listed}, which clash with the lineage "
            f"columns {', '.join(LINEAGE_COLUMNS)} that dataloader adds; rename them in the "
            "source query (e.g. 'SELECT _dl_run_id AS src_dl_run_id ...') or exclude them"
        )
    if loaded_at.tzinfo is None or loaded_at.utcoffset() is None:
        raise ConfigError(
            f"loaded_at {loaded_at.isoformat()} for source {source!r} has no timezone; pass a "
            "timezone-aware datetime (e.g. dataloader_sdk.model.utcnow())"
        )


def with_lineage(
    reader: pa.RecordBatchReader, *, run_id: str, loaded_at: datetime, source: str
) -> CountingReader:
    """Append the lineage columns to every batch of ``reader``, streaming.

    Args:
        reader: the source batches.
        run_id: the id of the run writing the rows.
        loaded_at: the step's load time; must be timezone-aware (stored in UTC).
        source: a human-readable source name such as ``pg_main:public.orders``.

    Returns:
        A :class:`CountingReader`; pass its ``reader`` to the engine.

    Raises:
        ConfigError: the source already has a column named like a lineage column
            (compared case-insensitively, as Delta compares column names), or
            ``loaded_at`` is naive.
    """
    check_lineage(reader.schema.names, loaded_at=loaded_at, source=source)
    return CountingReader(
        reader,
        run_id=run_id,
        loaded_at=loaded_at.astimezone(timezone.utc),
        source_name=source,
    )
