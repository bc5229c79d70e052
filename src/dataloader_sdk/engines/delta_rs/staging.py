"""Reading ahead of a delta-rs write, so the commit can carry the step's row count.

delta-rs takes the commit metadata when the write starts, before it has pulled a single
batch, so ``dataloader.rows`` cannot count rows the write has not yet seen (it used to
say ``0`` on a 200,000-row commit). :class:`PrefetchedRows` therefore reads the step
ahead, in memory, up to :data:`PREFETCH_BYTES` (8 MiB) of Arrow data:

- a step that ends within the budget (the usual incremental step, and most small full
  loads) is counted exactly before the write begins, and its commit says how many rows
  it carries;
- a bigger step streams on: the batches read ahead go first, then the rest of the
  source, with one batch alive at a time. Its commit has no ``dataloader.rows`` (never a
  wrong number); Delta's own ``operationMetrics.num_added_rows`` of the same commit and
  the run history's ``rows_written`` give the count.

An earlier version spilled every step to a compressed file first. That cost ~145 MB of
peak memory and up to 1.4x the time of a 1M-row full load (benchmarks/bench_full_load,
measured side by side), so it was replaced by this bounded read-ahead. The budget is a
trade: 16 MiB added ~35 MB to the peak of a 1M-row full load, no read-ahead none; 8 MiB
still counts the usual incremental step (100,000 rows of 80 bytes) exactly. A read that fails
or is cancelled after delta-rs wrote files leaves no trace either way: the engine removes
that write's files (``_orphans``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

__all__ = ["PREFETCH_BYTES", "PrefetchedRows"]

#: How much Arrow data a write reads ahead to count its rows (decoded buffer sizes).
PREFETCH_BYTES = 8 * 1024 * 1024


class PrefetchedRows:
    """The first batches of a step, read ahead, and a reader that replays them first.

    Args:
        source: the step's rows (consumed by :meth:`reader`).
        budget_bytes: how much to read ahead before giving up on an exact count
            (default :data:`PREFETCH_BYTES`).

    Attributes:
        rows: the exact row count when :attr:`complete`, else ``None``.
        complete: whether the whole step fitted in the read-ahead.
    """

    def __init__(self, source: pa.RecordBatchReader, budget_bytes: int | None = None) -> None:
        budget = PREFETCH_BYTES if budget_bytes is None else budget_bytes
        self._source = source
        self.schema = source.schema
        self._ahead: list[pa.RecordBatch] = []
        self._rest: Iterator[pa.RecordBatch] = iter(source)
        size = 0
        self.complete = False
        # An error or a cancel raised by the read propagates from here, before any write.
        for batch in self._rest:
            self._ahead.append(batch)
            size += batch.nbytes
            if size > budget:
                break
        else:
            self.complete = True
        self.rows: int | None = (
            sum(b.num_rows for b in self._ahead) if self.complete else None)

    def sample(self, rows: int) -> pa.Table:
        """Up to ``rows`` of the first rows read ahead (no copy; call before :meth:`reader`).

        The writer picks each column's encoding from them (``tuning.plain_columns``).
        """
        return pa.Table.from_batches(self._ahead, self.schema).slice(0, rows)

    def reader(self) -> pa.RecordBatchReader:
        """The read-ahead batches, then the rest of the source (usable once)."""
        ahead, rest = self._ahead, self._rest
        self._ahead = []

        def batches() -> Iterator[pa.RecordBatch]:
            while ahead:
                yield ahead.pop(0)
            yield from rest

        return pa.RecordBatchReader.from_batches(self.schema, batches())
