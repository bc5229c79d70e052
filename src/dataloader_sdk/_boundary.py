"""The boundary rule: recognise a re-read of rows already loaded, so a no-op run writes nothing.

An incremental read is inclusive (``cursor >= W - lookback``): even when nothing changed it
returns the rows at the watermark (and those of the lookback below it). Merging them again
is harmless but costs a Delta commit per run, i.e. a version and a small file per table
per run for no new data.

After a step commits, :class:`BoundaryTap` keeps an order-free digest of the rows of the
read whose cursor lies in ``[max - lookback, max]``; the runner stores it in the table
state (``extra["boundary"]``) tied to the step's ``txn_version`` and watermark. The next
run, if the source's ``MAX(cursor)`` still equals the watermark, reads that same window;
when its rows hash to the stored digest, every row it returned was merged by the last
commit (a merge of the same rows again changes nothing), so the run commits nothing.
Anything else — a new row tied with the watermark, a changed row at it, a late row inside
the lookback, a deleted row — changes the digest and the run loads as before.

The rule is only ever an optimisation: when the digest cannot be computed (too many rows
at the boundary, a cursor Arrow cannot compare) none is kept and the run merges as it
always did. The digest is not in the Delta commit's metadata (it is known only once the
read is consumed), so a control state rolled forward from a commit has none either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dataloader_sdk.model import BoundaryRule, Coalesce, CursorExpr, JSONValue, TableState

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MAX_BOUNDARY_ROWS",
    "BoundaryTap",
    "cursor_values",
    "digest_rows",
    "known_digest",
    "peek_digest",
    "with_digest",
]

#: Rows at the boundary kept in memory at most; above it no digest is kept (the run merges).
MAX_BOUNDARY_ROWS = 50_000

_KEY = "boundary"


def known_digest(state: TableState) -> str | None:
    """The digest stored for ``state``'s own commit, or ``None``.

    A digest is only valid for the commit it was computed for: strategies copy ``extra``
    forward, so it is tied to the state's ``txn_version`` and watermark.
    """
    entry = state.extra.get(_KEY)
    if not isinstance(entry, Mapping) or state.watermark is None:
        return None
    if entry.get("txn_version") != state.txn_version:
        return None
    if entry.get("watermark") != state.watermark.to_json():
        return None
    digest = entry.get("digest")
    return digest if isinstance(digest, str) else None


def with_digest(state: TableState, digest: str | None) -> TableState:
    """``state`` with the boundary digest of its own commit (or without any)."""
    extra: dict[str, JSONValue] = {k: v for k, v in state.extra.items() if k != _KEY}
    if digest is not None and state.watermark is not None:
        extra[_KEY] = {"txn_version": state.txn_version,
                       "watermark": state.watermark.to_json(), "digest": digest}
    return state.with_(extra=extra)


def digest_rows(schema: pa.Schema, batches: list[pa.RecordBatch]) -> str:
    """An order-free digest of the rows (a multiset) and the schema they have."""
    parts: list[bytes] = []
    for batch in batches:
        columns = [_naive(column).to_pylist() for column in batch.columns]
        # repr() is exact for every value a connector yields (ints, Decimals, datetimes
        # with their zone, bytes, floats' shortest round-trip form).
        parts.extend(hashlib.blake2b(repr(row).encode(), digest_size=16).digest()
                     for row in zip(*columns, strict=True))
    final = hashlib.blake2b(str(schema).encode(), digest_size=20)
    for part in sorted(parts):
        final.update(part)
    return f"{len(parts)}:{final.hexdigest()}"


def _naive(column: pa.Array) -> pa.Array:
    """A zoned timestamp column viewed as its UTC wall time (the zone is in the schema,
    which the digest covers): ``to_pylist`` of a zoned timestamp imports pandas (~1 s and
    ~60 MB, measured on a 1M-row first load, benchmarks/bench_incremental --first-load)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return column.view(pa.timestamp(kind.unit))
    return column


def peek_digest(
    reader: pa.RecordBatchReader, limit: int = MAX_BOUNDARY_ROWS
) -> tuple[list[pa.RecordBatch], str | None]:
    """Read up to ``limit`` rows: the batches read, and the digest if the stream ended."""
    held: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        held.append(batch)
        rows += batch.num_rows
        if rows > limit:
            return held, None
    return held, digest_rows(reader.schema, held)


class BoundaryTap:
    """Watches a step's read stream and keeps the rows at its top for :func:`digest_rows`.

    Streams: per batch, the rows within ``lookback`` of the running maximum are kept
    (filtered again when the maximum rises); at most ``limit`` rows are held.
    """

    def __init__(self, rule: BoundaryRule | None, limit: int = MAX_BOUNDARY_ROWS) -> None:
        self._rule = rule
        self._limit = limit
        self._top: Any = None
        self._low: Any = None
        self._kept: list[pa.RecordBatch] = []
        self._schema: pa.Schema | None = None
        self._failed = False
        self._ended = False

    def wrap(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader``, observed batch by batch (``reader`` itself for a step without a
        boundary rule, whose :meth:`digest` is ``None``)."""
        import pyarrow as pa

        if self._rule is None:
            return reader

        self._schema = reader.schema

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in reader:
                if not self._failed:
                    try:
                        self._observe(batch)
                    except (TypeError, ValueError, OverflowError, pa.ArrowException):
                        # A cursor Arrow cannot compare or subtract from: no digest.
                        self._give_up()
                yield batch
            self._ended = True

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def digest(self) -> str | None:
        """The digest of the rows at the top of the read, once it was read to its end."""
        if self._rule is None or self._failed or not self._ended or self._schema is None:
            return None
        return digest_rows(self._schema, self._kept)

    @property
    def _watched(self) -> BoundaryRule:
        assert self._rule is not None  # without a rule, wrap() observes nothing
        return self._rule

    def _give_up(self) -> None:
        self._failed = True
        self._kept = []

    def _observe(self, batch: pa.RecordBatch) -> None:
        import pyarrow.compute as pc

        if batch.num_rows == 0:
            return
        # The maximum stays an Arrow scalar: as_py() of a zoned timestamp imports pandas.
        top = pc.max(cursor_values(self._watched.cursor, batch))
        if not top.is_valid:
            return  # only NULL cursors: never in a window
        if self._top is None or pc.greater(top, self._top).as_py():
            self._top = top
            self._low = self._lower_bound(top)
            # Empty tails are dropped: with a rising cursor nearly every batch raises the
            # top, and re-filtering every earlier batch each time was quadratic.
            self._kept = [tail for tail in map(self._tail, self._kept) if tail.num_rows]
        tail = self._tail(batch)
        if tail.num_rows:
            self._kept.append(tail)
        if sum(kept.num_rows for kept in self._kept) > self._limit:
            self._give_up()

    def _tail(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow as pa
        import pyarrow.compute as pc

        cursor = cursor_values(self._watched.cursor, batch)
        low = self._low
        if not isinstance(low, pa.Scalar):
            low = pa.scalar(low, type=cursor.type)
        return batch.filter(pc.greater_equal(cursor, low))

    def _lower_bound(self, top: pa.Scalar) -> Any:
        """``top - lookback``: an Arrow scalar when Arrow can subtract, else a Python value."""
        import pyarrow as pa
        import pyarrow.compute as pc

        lookback = self._watched.lookback
        if not lookback:
            return top
        try:
            return pc.subtract_checked(top, _lookback_scalar(lookback))
        except (pa.ArrowException, TypeError):
            # e.g. a date cursor with a timedelta lookback: Python's arithmetic (as_py()
            # may import pandas, only on this rare path).
            return top.as_py() - lookback


def cursor_values(cursor: CursorExpr, batch: pa.RecordBatch) -> pa.Array:
    """The cursor of each row of ``batch`` (a column, or the COALESCE of several)."""
    import pyarrow.compute as pc

    if isinstance(cursor, Coalesce):
        return pc.coalesce(*(batch.column(name) for name in cursor.names))
    return batch.column(cursor.name)


def _lookback_scalar(lookback: int | timedelta) -> pa.Scalar:
    """``lookback`` as an int64 or duration[us] Arrow scalar, built from raw bytes:
    ``pa.scalar()`` of a Python value imports pandas."""
    import pyarrow as pa

    if isinstance(lookback, timedelta):
        value, kind = lookback // timedelta(microseconds=1), pa.duration("us")
    else:
        value, kind = int(lookback), pa.int64()
    data = pa.py_buffer(value.to_bytes(8, "little", signed=True))
    return pa.Array.from_buffers(kind, 1, [None, data])[0]
