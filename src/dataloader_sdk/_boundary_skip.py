"""The boundary rule for a run that did find new rows: leave the re-read ones out of the merge.

An incremental read is inclusive (``cursor >= W - lookback``), so a run that finds new
rows above the watermark ``W`` also re-reads the rows at (and the lookback below) ``W``.
Merging them again changes nothing, but it makes the merge match, and so rewrite, the
Delta file holding them: the file with the newest rows, which compaction makes large. On a
table that grows by inserts, every run then rewrote that file (``bench_long_run``: the run
time grew with the table).

:class:`BoundarySkip` holds those rows aside while the read streams past (at most
:data:`~dataloader_sdk._boundary.MAX_BOUNDARY_ROWS`). When the read ends, if they hash to
the digest the state kept for the last commit (the same multiset of rows, cursor values
included, that commit merged), they are dropped: every one of them is already in the
target exactly as read. Otherwise (a new row tied with ``W``, an updated or late row inside
the lookback, a deleted one, too many rows, a cursor Arrow cannot compare) they are
emitted after the rest and merged as before. Order does not matter to a Merge: within a
step the greatest cursor wins per key, and a held row never ties with a row above ``W``.

So the rule only ever removes rows whose merge is a no-op; a wrong guess just merges as
before. The Spark JDBC read path does not apply it (its read happens on the executors).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from dataloader_sdk._boundary import MAX_BOUNDARY_ROWS, cursor_values, digest_rows
from dataloader_sdk.model import BoundaryRule, Watermark

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BoundarySkip", "arrow_scalar"]

_EPOCH = datetime(1970, 1, 1)
_UNITS = {"s": timedelta(seconds=1), "ms": timedelta(milliseconds=1),
          "us": timedelta(microseconds=1)}


class BoundarySkip:
    """Holds a step's re-read boundary rows aside; drops them if the last commit merged them.

    Inactive (a pass-through) unless the step's rule names the last commit's watermark and
    digest (``merged_up_to``, ``merged_digest``).
    """

    def __init__(self, rule: BoundaryRule | None, limit: int = MAX_BOUNDARY_ROWS) -> None:
        self._rule = rule
        self._limit = limit
        self._held: list[pa.RecordBatch] = []
        self._held_rows = 0
        #: Rows read but left out of the merge (known once the read has ended).
        self.dropped = 0

    @property
    def active(self) -> bool:
        """Whether there is a last commit to compare with."""
        rule = self._rule
        return rule is not None and rule.merged_up_to is not None \
            and rule.merged_digest is not None

    def wrap(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader`` without the boundary rows the last commit merged (``reader`` itself
        when inactive)."""
        if not self.active:
            return reader
        import pyarrow as pa

        return pa.RecordBatchReader.from_batches(reader.schema, self._batches(reader))

    def _batches(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        holding = True
        for batch in reader:
            if holding:
                try:
                    held, rest = self._split(batch)
                except (TypeError, ValueError, OverflowError, pa.ArrowException):
                    held, rest = None, batch  # not comparable: merge everything
                if held is None:
                    holding = False
                    yield from self._release()
                elif held.num_rows:
                    self._held.append(held)
                    self._held_rows += held.num_rows
                    if self._held_rows > self._limit:
                        holding = False
                        yield from self._release()
                batch = rest
            if batch.num_rows:
                yield batch
        if holding and self._held:
            rule = self._rule
            assert rule is not None
            if digest_rows(reader.schema, self._held) == rule.merged_digest:
                self.dropped, self._held = self._held_rows, []
            else:
                yield from self._release()

    def _release(self) -> Iterator[pa.RecordBatch]:
        held, self._held = self._held, []
        yield from held

    def _split(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch | None, pa.RecordBatch]:
        """The rows at or below the last watermark, and the others (``None``: not
        comparable). A NULL cursor counts as above: the digest never covers one."""
        import pyarrow.compute as pc

        rule = self._rule
        assert rule is not None and rule.merged_up_to is not None
        cursor = cursor_values(rule.cursor, batch)
        bound = arrow_scalar(rule.merged_up_to, cursor.type)
        if bound is None:
            return None, batch
        # NULL → false without fill_null(…, False): a Python False makes pyarrow import pandas.
        at_or_below = pc.and_kleene(pc.less_equal(cursor, bound), pc.is_valid(cursor))
        return batch.filter(at_or_below), batch.filter(pc.invert(at_or_below))


def arrow_scalar(mark: Watermark, kind: pa.DataType) -> pa.Scalar | None:
    """``mark``'s value as an Arrow scalar of type ``kind``, or ``None`` when it has no
    exact counterpart there.

    Built from raw bytes: ``pa.scalar()`` (and ``pa.array()``) of a Python value makes
    pyarrow import pandas (~1 s and ~60 MB in a fresh process).
    """
    import pyarrow as pa

    raw = _raw(mark.value, kind)
    if raw is None:
        return None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        width = 8 if pa.types.is_large_string(kind) else 4
        offsets = pa.py_buffer((0).to_bytes(width, "little") + len(raw).to_bytes(width, "little"))
        return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(raw)])[0]
    return pa.Array.from_buffers(kind, 1, [None, pa.py_buffer(raw)])[0]


def _raw(value: object, kind: pa.DataType) -> bytes | None:
    """The little-endian bytes of ``value`` in Arrow's layout for ``kind``."""
    import pyarrow as pa

    if isinstance(value, bool):
        return None
    if pa.types.is_integer(kind) and isinstance(value, int):
        return _int(value, kind.bit_width, signed=pa.types.is_signed_integer(kind))
    if pa.types.is_decimal(kind) and isinstance(value, int | Decimal):
        unscaled = Decimal(value).scaleb(kind.scale)
        if unscaled != unscaled.to_integral_value():
            return None
        return _int(int(unscaled), kind.bit_width, signed=True)
    if pa.types.is_timestamp(kind) and isinstance(value, datetime):
        if (kind.tz is None) != (value.tzinfo is None):
            return None
        epoch = _EPOCH if kind.tz is None else _EPOCH.replace(tzinfo=timezone.utc)
        elapsed = value - epoch
        units = (elapsed // timedelta(microseconds=1) * 1000 if kind.unit == "ns"
                 else elapsed // _UNITS[kind.unit])
        return _int(units, 64, signed=True)
    if pa.types.is_date32(kind) and type(value) is date:
        return _int((value - _EPOCH.date()).days, 32, signed=True)
    if (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and isinstance(value, str):
        return value.encode()
    return None


def _int(value: int, bits: int, *, signed: bool) -> bytes | None:
    try:
        return value.to_bytes(bits // 8, "little", signed=signed)
    except OverflowError:
        return None
