"""A Merge into a table that holds no rows yet, written as one streamed append.

With no target rows there is nothing to match, update or delete: the Merge inserts the
step's rows, one per key (the greatest sequence wins, as ``common/merge.dedup`` decides), minus
rows deleted at the source. :func:`write_first_merge` streams them into the engine with the
memory of an Append:

- each batch is checked for NULL keys, has its soft deletes applied (``first_load_rows``)
  and goes straight to delta-rs; it is also appended to an Arrow spill file on disk (in
  the temporary directory, removed after the write);
- uniqueness is proven on the way at no memory cost when a single key arrives as a few
  strictly increasing runs whose ranges do not overlap: a table read in key order (one
  run), or read from its middle by a PostgreSQL synchronized scan (two runs; before this
  was followed, such a 5M-row first load sorted every key: +0.6 s and +150 MB).
  Otherwise, after the last batch the key columns are read back from the spill and
  sorted;
- if some key repeats, the stream raises :class:`DuplicateKeysError` at its end, so
  delta-rs commits nothing, and the rows are written again keeping only each key's
  winner: the winners are computed from the key and sequence columns alone, and the
  rows are streamed through that selection batch by batch.

What the spill holds depends on whether the caller can read the step again
(``read_again``, offered by the runner through ``engines/base.offering_read_again``):

- without it, every row: the second write streams from the spill;
- with it, only the key columns: on repeated keys the step is read a second time, and
  that read is written as above, spilling every row. Keys rarely repeat in a first load,
  and copying every row to disk was the first load's biggest cost over a plain write:
  with a 5M-row step (700 MB of Arrow data) 9.0-10.2 s without the copy against
  11.0-11.5 s with it (benchmarks/bench_incremental --first-load, same machine, same
  hour). delta_rs passes ``read_again`` only for a step bigger than its read-ahead.

Peak memory therefore does not grow with the rows (docs/benchmarks.md, first load):
an earlier version kept every key in memory and counted distinct keys in a hash table at
the end, which made a 5M-row first load peak at 1.3 GB. The commit is the one the engine
prepared (app transaction and metadata), so replay skipping and reconciliation are those
of any other write.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from dataloader_sdk.engines.base import ReadAgain
from dataloader_sdk.engines.common.merge import (
    check_merge_columns,
    check_null_keys,
    distinct_keys,
    first_load_rows,
    int64_scalar,
    winner_positions,
)
from dataloader_sdk.engines.common.streams import CountedStream
from dataloader_sdk.model import Merge, TargetName

__all__ = ["DuplicateKeysError", "FirstMergeStream", "write_first_merge"]

log = logging.getLogger(__name__)

#: Compression of the spill file: none. zstd made it about 4x smaller but cost ~0.45 s of
#: CPU per million rows of the benchmark table (150 bytes a row), a fifth of a first
#: load's time; lz4 cost nearly as much. The file lives only while the write runs.
SPILL_COMPRESSION: Literal["zstd", "lz4"] | None = None

#: How many strictly increasing runs of a single key the stream follows to prove it
#: unique (:class:`_KeyRuns`) before it falls back to sorting the spilled keys.
MAX_KEY_RUNS = 64


class DuplicateKeysError(Exception):
    """Raised at the end of a :class:`FirstMergeStream` whose keys are not unique."""


def write_first_merge(
    target: TargetName,
    data: pa.RecordBatchReader,
    mode: Merge,
    write: Callable[[pa.RecordBatchReader], None],
    discard: Callable[[], None],
    read_again: ReadAgain | None = None,
) -> int:
    """Write ``data`` as a Merge into a table without rows writes it; rows written.

    Args:
        target: the table (for messages).
        data: the step's rows.
        mode: the Merge (keys, sequence, soft deletes).
        write: makes the one commit from a reader (append or overwrite, with the step's
            commit properties); called a second time only if the keys repeat.
        discard: removes the files of a write delta-rs aborted (the first attempt's,
            when the keys repeat).
        read_again: reads the step's rows again; given, only the keys are spilled and
            repeated keys are resolved from a second read (called at most once).

    Raises:
        DestinationError: a key or sequence column is missing, or a key is NULL.
    """
    with FirstMergeStream(target, data, mode, spill_rows=read_again is None) as stream:
        try:
            write(stream.reader)
            return stream.rows
        except Exception:
            if not stream.duplicates:
                if stream.error is not None:
                    raise stream.error from None
                raise
        # delta-rs committed nothing; the files it wrote are in no commit.
        discard()
        if read_again is None:
            log.info("table %s: the first load's keys are not unique; deduplicating", target)
            again = CountedStream(stream.deduplicated())
            try:
                write(again.reader)
            except Exception:
                if again.error is not None:
                    raise again.error from None
                raise
            return again.rows
    # Only the keys were kept: the second read is written as a first Merge that keeps
    # its rows, and so deduplicates from its own copy.
    log.info("table %s: the first load's keys are not unique; reading the step again to "
             "deduplicate it", target)
    return write_first_merge(target, read_again(), mode, write, discard)


class FirstMergeStream(CountedStream):
    """The step's rows as the first Merge writes them, spilled in case keys repeat.

    Use as a context manager: leaving it removes the spill file.

    Args:
        spill_rows: spill every row (:meth:`deduplicated` can write the winners), or
            only the key columns (enough to tell whether keys repeat).

    Attributes:
        duplicates: whether the stream ended because some key occurs twice.
    """

    def __init__(self, target: TargetName, source: pa.RecordBatchReader, mode: Merge, *,
                 spill_rows: bool = True) -> None:
        check_merge_columns(target, source.schema, mode)
        self._target = target
        self._mode = mode
        self._spill_rows = spill_rows
        self._order = _KeyRuns(mode.keys)
        self._dir = Path(tempfile.mkdtemp(prefix="dataloader-merge-"))
        self._spill = self._dir / "rows.arrows"
        self.duplicates = False
        # Soft deletes in flag mode add a column: the stream has the schema they produce.
        # (Table.from_batches, not Schema.empty_table(): that one imports pandas.)
        empty = pa.Table.from_batches([], schema=source.schema)
        self._written = first_load_rows(target, empty, mode).schema
        super().__init__(source, self._written)

    def __enter__(self) -> FirstMergeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        options = pa.ipc.IpcWriteOptions(compression=SPILL_COMPRESSION)
        keys = list(self._mode.keys)
        schema = (self._source.schema if self._spill_rows
                  else pa.schema([self._source.schema.field(k) for k in keys]))
        with pa.OSFile(str(self._spill), "wb") as sink, \
                pa.ipc.new_stream(sink, schema, options=options) as spill:
            for batch in self._source:
                check_null_keys(self._target, batch, self._mode)
                spill.write_batch(batch if self._spill_rows else batch.select(keys))
                self._order.observe(batch)
                yield from self._as_written(batch)
        if not self._order.proven_unique() and self._keys_repeat():
            self.duplicates = True
            raise DuplicateKeysError(
                f"table {self._target}: the step's keys are not unique; deduplicating"
            )

    def _as_written(self, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
        rows = pa.Table.from_batches([batch], self._source.schema)
        written: list[pa.RecordBatch] = first_load_rows(self._target, rows, self._mode).to_batches()
        return written

    def _spilled(self) -> Iterator[pa.RecordBatch]:
        # Read, not memory-mapped: the mapped pages would count in the process's RSS.
        with pa.OSFile(str(self._spill), "rb") as source:
            yield from pa.ipc.open_stream(source)

    def _columns(self, names: list[str]) -> pa.Table:
        """Some columns of every spilled row, in read order.

        Copied: a column read from the file is a slice of its batch's whole body.
        """
        schema = pa.schema([self._source.schema.field(name) for name in names])
        return pa.Table.from_batches(
            [pa.RecordBatch.from_arrays([pa.concat_arrays([batch.column(n)]) for n in names],
                                        schema=schema)
             for batch in self._spilled()], schema)

    def _keys_repeat(self) -> bool:
        keys = list(self._mode.keys)
        table = self._columns(keys)
        n = table.num_rows
        if n <= 1:
            return False
        try:
            ordered = table.take(pc.sort_indices(table, [(k, "ascending") for k in keys]))
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return bool(distinct_keys(table, keys) != n)  # a key type Arrow cannot sort
        same: pa.ChunkedArray | None = None
        for key in keys:
            column = ordered.column(key)
            equal = pc.equal(column.slice(1), column.slice(0, n - 1))
            same = equal if same is None else pc.and_(same, equal)
        return bool(pc.any(same).as_py())

    def deduplicated(self) -> pa.RecordBatchReader:
        """The spilled rows, one per key (the Merge's winner), as the first load writes
        them; streamed from the spill file (which holds every row: ``spill_rows``)."""
        if not self._spill_rows:
            raise TypeError("only the keys were spilled: read the step again instead")
        sequence = self._mode.sequence
        names = list(dict.fromkeys([*self._mode.keys,
                                    *(sequence.columns if sequence is not None else ())]))
        winners = winner_positions(self._columns(names), self._mode.keys, sequence)
        # Sorted row positions; each spilled batch takes the ones in its range, found by
        # bisecting the Arrow array itself (numpy is not installed with the core package).

        def batches() -> Iterator[pa.RecordBatch]:
            offset = 0
            for batch in self._spilled():
                end = offset + batch.num_rows
                lo = bisect_left(winners, offset, key=_as_int)
                hi = bisect_left(winners, end, lo=lo, key=_as_int)
                if hi > lo:
                    local = pc.subtract(winners.slice(lo, hi - lo), int64_scalar(offset))
                    yield from self._as_written(batch.take(local))
                offset = end

        return pa.RecordBatchReader.from_batches(self._written, batches())


class _KeyRuns:
    """Whether a single key has arrived as a few strictly increasing runs whose ranges
    do not overlap, which proves it unique without keeping it.

    A table read in key order is one run. PostgreSQL's synchronized scans start a
    sequential scan of a big table (over a quarter of ``shared_buffers``) where another
    scan is, or where an earlier one stopped, and wrap around: the same table then
    arrives as two runs, ``[k..max]`` and ``[min..k-1]``, and the start sticks for every
    later scan. Each run is kept as its first and last key (copied, a few bytes); after
    :data:`MAX_KEY_RUNS` runs, or for composite keys and types Arrow cannot compare, the
    keys count as unproven and the spill is sorted instead.
    """

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._key = keys[0] if len(keys) == 1 else None
        self._firsts: list[pa.Array] = []
        self._lasts: list[pa.Array] = []
        self._following = self._key is not None

    def observe(self, batch: pa.RecordBatch) -> None:
        if not self._following or batch.num_rows == 0:
            return
        assert self._key is not None
        column = batch.column(self._key)
        try:
            self._observe(column)
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            self._following = False

    def _observe(self, column: pa.Array) -> None:
        n = len(column)
        rising = pc.greater(column.slice(1), column.slice(0, n - 1)) if n > 1 else None
        if rising is None or pc.all(rising).as_py():
            # One run (the usual batch). Copied: a slice would keep the batch alive.
            firsts = pa.concat_arrays([column.slice(0, 1)])
            lasts = pa.concat_arrays([column.slice(n - 1, 1)])
        else:
            # Row i starts a run where it is not above row i - 1, and ends one where
            # row i + 1 is not above it. A NaN compares false: it ends a run, then
            # fails the overlap test.
            falls = pc.invert(rising)
            firsts = column.filter(pa.concat_arrays([_TRUE, falls]))
            lasts = column.filter(pa.concat_arrays([falls, _TRUE]))
        # The batch's first run continues the run before it when it starts above its end.
        start = int(bool(self._lasts) and pc.greater(firsts[0], self._lasts[-1][0]).as_py())
        if len(self._firsts) + len(firsts) - start > MAX_KEY_RUNS:
            self._following = False
            return
        if start:
            self._lasts[-1] = lasts.slice(0, 1)
        for i in range(start, len(firsts)):
            self._firsts.append(firsts.slice(i, 1))
            self._lasts.append(lasts.slice(i, 1))

    def proven_unique(self) -> bool:
        """Whether every run is strictly increasing and no two runs' ranges overlap."""
        if not self._following:
            return False
        if len(self._firsts) <= 1:
            return True
        try:
            firsts = pa.concat_arrays(self._firsts)
            lasts = pa.concat_arrays(self._lasts)
            order = pc.sort_indices(firsts)
            firsts, lasts = firsts.take(order), lasts.take(order)
            # Sorted by their first keys, each run must start after the one before ends.
            return bool(pc.all(pc.greater(firsts.slice(1), lasts.slice(0, len(lasts) - 1)))
                        .as_py())
        except (pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return False


#: A one-row ``true`` array, built from bytes: ``pa.array()`` of Python values imports pandas.
_TRUE = pa.Array.from_buffers(pa.bool_(), 1, [None, pa.py_buffer(b"\x01")])


def _as_int(position: pa.Int64Scalar) -> int:
    value: int = position.as_py()
    return value
