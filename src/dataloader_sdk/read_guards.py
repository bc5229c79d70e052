"""Checks on a step's read stream that must hold before the engine commits it.

The engine commits right after it has pulled the last batch, so a check placed at the
end of the stream is the last moment to refuse a commit: an exception raised there
aborts the write and the table is unchanged. Each guard streams (one batch in memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from dataloader_sdk.errors import EmptyReadRefusedError, WindowMismatchError
from dataloader_sdk.model import EmptyReadGuard, LoadStep, Predicate, TargetName

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["guard_empty_read", "guard_read_end", "window_mismatch"]


def guard_read_end(
    reader: pa.RecordBatchReader,
    *,
    table: str,
    step: LoadStep,
    watermark_before: str,
    before_commit: Callable[[], None],
) -> pa.RecordBatchReader:
    """Refuse the commit if the read returned fewer rows than the probe proved, and run
    ``before_commit`` (the lease check) once the last batch has been read."""
    import pyarrow as pa

    def batches() -> Iterator[pa.RecordBatch]:
        rows = 0
        for batch in reader:
            rows += batch.num_rows
            yield batch
        if rows < step.min_rows:
            raise window_mismatch(table, step, watermark_before, rows)
        before_commit()

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def window_mismatch(
    table: str, step: LoadStep, watermark_before: str, rows: int
) -> WindowMismatchError:
    """The error of a read that returned fewer rows than the probe proved (``rows``)."""
    return WindowMismatchError(
        f"table {table!r}: the source's MAX of the cursor showed at least "
        f"{step.min_rows} row(s) in the read window above watermark "
        f"{watermark_before} (up to {step.state_after.watermark}), but the read "
        f"returned {rows}. Nothing was committed and the watermark did not move. "
        "If the source changed meanwhile the retry loads it; if this repeats, the "
        "cursor column holds values that do not compare like its MAX (for example "
        "timestamps stored as text in mixed formats): normalise the column, or "
        "load from a source_query that casts it"
    )


def guard_empty_read(
    reader: pa.RecordBatchReader,
    *,
    table: str,
    guard: EmptyReadGuard,
    target: TargetName,
    count: Callable[[TargetName, tuple[Predicate, ...]], int],
) -> pa.RecordBatchReader:
    """Refuse an empty read that would empty a populated target window.

    Peeks until the first non-empty batch, so the stream stays bounded in memory.
    """
    import pyarrow as pa

    seen: list[pa.RecordBatch] = []
    for batch in reader:
        seen.append(batch)
        if batch.num_rows:
            break
    if not any(b.num_rows for b in seen):
        held = count(target, guard.where)
        if held > guard.max_target_rows:
            raise EmptyReadRefusedError(
                f"table {table!r}: the source returned no rows for the window, but "
                f"the target holds {held} rows there (more than the allowed "
                f"{guard.max_target_rows}); nothing was deleted. If the source really is "
                "empty, raise empty_window_threshold or run a full load"
            )

    def batches() -> Iterator[pa.RecordBatch]:
        yield from seen
        yield from reader

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
