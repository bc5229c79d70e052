"""Readers an engine hands to its Delta library: counted and error-preserving.

delta-rs pulls batches through the Arrow C stream interface. An exception raised while
it pulls (a dropped source connection, a NULL key found by a check) reaches Python again
only as delta-rs's own error, with the original type lost and the message buried. Every
stream here therefore remembers the exception it raised, and the engine re-raises that
one: a transient source error stays a :class:`~dataloader_sdk.errors.SourceTransientError`
that the runner may retry.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

__all__ = ["CountedStream"]


class CountedStream:
    """Passes ``source`` on batch by batch, counting rows and keeping the error it raised.

    Attributes:
        reader: the stream to hand to delta-rs.
        rows: rows passed on so far.
        pulled: whether the consumer has asked for a batch (the cleanup after a failed
            write deletes nothing when delta-rs never did: ``delta_rs/orphans.py``).
        error: the exception the source raised while delta-rs pulled, if any.
    """

    def __init__(self, source: pa.RecordBatchReader, schema: pa.Schema | None = None) -> None:
        self.rows = 0
        self.pulled = False
        self.error: Exception | None = None
        self._source = source
        self.reader = pa.RecordBatchReader.from_batches(
            schema if schema is not None else source.schema, self._guarded()
        )

    def _guarded(self) -> Iterator[pa.RecordBatch]:
        self.pulled = True  # a generator's body starts at the first next()
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
