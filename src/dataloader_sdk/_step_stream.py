"""The stream a step's write consumes, built from the source's read (once, or again).

The source's batches pass, in order: the boundary tap (the digest of the rows at the top
of the read, ``_boundary.py``), the empty-read guard, the read-end guard (fewer rows than
the probe proved, and the lease check just before the commit), the boundary skip (re-read
rows the last commit merged, ``_boundary_skip.py``), Delta's type conversions and the
lineage columns, which also count the rows.

An engine may read a step a second time (``engines/base.offering_read_again``): a first Merge
whose keys repeat. :meth:`StepStream.wrap` then builds the chain again around the new read,
and :meth:`StepStream.written` reports the read the commit was made from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataloader_sdk._boundary import BoundaryTap
from dataloader_sdk._boundary_skip import BoundarySkip
from dataloader_sdk.delta_types import delta_compatible
from dataloader_sdk.lineage import with_lineage
from dataloader_sdk.read_guards import guard_empty_read, guard_read_end
from dataloader_sdk.read_paths import StepWrite

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.engines.base import LineageValues, WriteOutcome
    from dataloader_sdk.lineage import CountingReader
    from dataloader_sdk.model import LoadStep, Predicate, TargetName

__all__ = ["StepStream"]


@dataclass
class _Chain:
    """The wrappers around one read, for what they learnt once it was written."""

    tap: BoundaryTap
    skip: BoundarySkip
    counted: CountingReader


class StepStream:
    """Wraps a step's source reads for its write; reports the last one written.

    Args:
        step: the step.
        table: the table's name (for messages).
        target: the Delta table.
        watermark_before: the run's watermark before the step (for messages).
        lineage: the lineage columns' values.
        before_commit: called after the read's last batch, before the engine commits.
        count: the engine's row count of a target window (the empty-read guard).
    """

    def __init__(
        self,
        step: LoadStep,
        *,
        table: str,
        target: TargetName,
        watermark_before: str,
        lineage: LineageValues,
        before_commit: Callable[[], None],
        count: Callable[[TargetName, tuple[Predicate, ...]], int],
    ) -> None:
        self._step = step
        self._table = table
        self._target = target
        self._watermark_before = watermark_before
        self._lineage = lineage
        self._before_commit = before_commit
        self._count = count
        self._chain: _Chain | None = None

    def wrap(self, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader`` as the engine writes it; replaces any earlier read's chain."""
        step = self._step
        tap, skip = BoundaryTap(step.boundary), BoundarySkip(step.boundary)
        reader = tap.wrap(reader)  # ahead of the skip: the next digest sees every row read
        if step.guard is not None:
            reader = guard_empty_read(reader, table=self._table, guard=step.guard,
                                      target=self._target, count=self._count)
        reader = guard_read_end(
            reader, table=self._table, step=step, watermark_before=self._watermark_before,
            before_commit=self._before_commit,
        )
        lineage = self._lineage
        counted = with_lineage(delta_compatible(skip.wrap(reader)), run_id=lineage.run_id,
                               loaded_at=lineage.loaded_at, source=lineage.source)
        self._chain = _Chain(tap, skip, counted)
        return counted.reader

    def written(self, outcome: WriteOutcome) -> StepWrite:
        """What the step's write did, counted from the read it was made from."""
        chain = self._chain
        if chain is None:
            raise TypeError("no read was wrapped for this step")
        return StepWrite(chain.counted.rows + chain.skip.dropped, outcome, chain.tap.digest())
