"""Readers the delta-rs engine hands to delta-rs: counted, error-preserving, spilled.

delta-rs pulls batches through the Arrow C stream interface. An exception raised while
it pulls (a dropped source connection, a NULL key found by a check) reaches Python again
only as delta-rs's own error, with the original type lost and the message buried. Every
stream here therefore remembers the exception it raised, and the engine re-raises that
one: a transient source error stays a :class:`~dataloader_sdk.errors.SourceTransientError`
that the runner may retry.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from dataloader_sdk.engines._merge import (
    check_merge_columns,
    check_null_keys,
    distinct_keys,
    first_load_rows,
)
from dataloader_sdk.model import Merge, TargetName

__all__ = ["CountedStream", "FirstMergeStream"]

#: Compression of the first merge's spill file: about 4x smaller than the Arrow data, at
#: ~0.2 s per million rows of the benchmark table.
SPILL_COMPRESSION = "zstd"


class CountedStream:
    """Passes ``source`` on batch by batch, counting rows and keeping the error it raised.

    Attributes:
        reader: the stream to hand to delta-rs.
        rows: rows passed on so far.
        error: the exception the source raised while delta-rs pulled, if any.
    """

    def __init__(self, source: pa.RecordBatchReader, schema: pa.Schema | None = None) -> None:
        self.rows = 0
        self.error: Exception | None = None
        self._source = source
        self.reader = pa.RecordBatchReader.from_batches(
            schema if schema is not None else source.schema, self._guarded()
        )

    def _guarded(self) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._batches():
                self.rows += batch.num_rows
                yield batch
        except GeneratorExit:
            raise  # delta-rs stopped pulling: not the source's error
        except Exception as exc:
            self.error = exc
            raise

    def _batches(self) -> Iterator[pa.RecordBatch]:
        yield from self._source


class DuplicateKeysError(Exception):
    """Raised at the end of a :class:`FirstMergeStream` whose keys are not unique."""


class FirstMergeStream(CountedStream):
    """A Merge into a table that does not exist yet, streamed instead of materialised.

    Each batch is checked for NULL keys, has its soft deletes applied and goes straight
    to delta-rs, so a first load needs the memory of an Append plus the key columns. The
    batches are also written to a compressed Arrow spill file. After the last batch the
    keys are checked for uniqueness; if some key occurs twice the stream raises
    :class:`DuplicateKeysError`, delta-rs commits nothing, and the engine merges the
    spilled rows the materialised way (:meth:`spilled`) instead.

    Use as a context manager: leaving it removes the spill file.
    """

    def __init__(self, target: TargetName, source: pa.RecordBatchReader, mode: Merge) -> None:
        check_merge_columns(target, source.schema, mode)
        self._target = target
        self._mode = mode
        self._keys: list[pa.RecordBatch] = []
        self._key_schema = pa.schema([source.schema.field(key) for key in mode.keys])
        self._dir = Path(tempfile.mkdtemp(prefix="dataloader-merge-"))
        self._spill = self._dir / "rows.arrows"
        self.duplicates = False
        # Soft deletes in flag mode add a column: the stream has the schema they produce.
        # (Table.from_batches, not Schema.empty_table(): that one imports pandas.)
        empty = pa.Table.from_batches([], schema=source.schema)
        written = first_load_rows(target, empty, mode).schema
        super().__init__(source, written)

    def __enter__(self) -> FirstMergeStream:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        options = pa.ipc.IpcWriteOptions(compression=SPILL_COMPRESSION)
        schema = self._source.schema
        with pa.OSFile(str(self._spill), "wb") as sink, \
                pa.ipc.new_stream(sink, schema, options=options) as spill:
            for batch in self._source:
                check_null_keys(self._target, batch, self._mode)
                spill.write_batch(batch)
                self._keys.append(_copied_keys(batch, self._key_schema))
                rows = pa.Table.from_batches([batch], schema)
                yield from first_load_rows(self._target, rows, self._mode).to_batches()
        keys = pa.Table.from_batches(self._keys, self._key_schema)
        if keys.num_rows > 1 and distinct_keys(keys, self._mode.keys) != keys.num_rows:
            self.duplicates = True
            raise DuplicateKeysError(
                f"table {self._target}: the step's keys are not unique; deduplicating"
            )

    def spilled(self) -> pa.Table:
        """The step's rows as read (before soft deletes), from the spill file."""
        with pa.memory_map(str(self._spill)) as source:
            # read_all copies out of the map (the data is compressed), so the map can close.
            return pa.ipc.open_stream(source).read_all()


def _copied_keys(batch: pa.RecordBatch, keys: pa.Schema) -> pa.RecordBatch:
    """The key columns of ``batch`` in buffers of their own.

    A batch imported through the Arrow C interface (every connector's) is freed only when
    none of its buffers is referenced any more: keeping ``batch.select(keys)`` would keep
    every column of every batch alive.
    """
    return pa.RecordBatch.from_arrays(
        [pa.concat_arrays([batch.column(key)]) for key in keys.names], schema=keys
    )
