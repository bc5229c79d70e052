"""A table's read path: how the runner reads a step, chosen by capability.

Every table is read through its connector (Arrow batches streamed to the engine), unless
its settings ask for ``read.path: jdbc`` (``model/read.py``). Then the engine reads the
step's window itself with Spark JDBC, in parallel partitions, and writes it without the
rows passing through Python. The choice is made by capability, never by database type:
the engine must be a :class:`~dataloader_sdk.engines.base.JdbcReader` and the source's
connector a :class:`~dataloader_sdk.connectors.base.JdbcCapable`. A table that asks for
``jdbc`` when either side lacks it fails before anything is read or written.

Only the read differs. The step is planned by the same strategy, leased, checked for a
replay and committed by the same engine write path with the same commit metadata and
lineage values; the runner advances the control state and records the history as for
every load. The checks the connector path makes on the stream are made on the staged
read here, with the same code: the rows the probe proved (``min_rows``), the empty-read
guard, the lease check right before the commit, and the boundary rule (a re-read of
only the rows the last commit merged commits nothing). The boundary digest needs the
rows on the driver, so it is kept only for reads of at most ``MAX_BOUNDARY_ROWS`` rows:
after a bigger read (a first load) the next run merges its boundary rows once more, as
without the rule, and keeps the digest of that small re-read from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataloader_sdk._boundary import MAX_BOUNDARY_ROWS, BoundaryTap, peek_digest
from dataloader_sdk.connectors.base import JdbcCapable
from dataloader_sdk.engines.base import JdbcReader, LineageValues, StagedRead, WriteOutcome
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.lineage import check_lineage
from dataloader_sdk.model import (
    BoundaryRule,
    CommitInfo,
    LoadStep,
    Merge,
    TableRecord,
    TargetName,
)
from dataloader_sdk.read_guards import guard_empty_read, window_mismatch

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.connectors.base import Connector, SourceColumn
    from dataloader_sdk.connectors.jdbc import JdbcOptions
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.model import Predicate, TableState

__all__ = ["JdbcReadPath", "StepWrite", "choose_read_path", "unchanged_note"]


@dataclass(frozen=True)
class StepWrite:
    """What writing one step did.

    Attributes:
        rows: rows read (0 for a replay, which consumes nothing).
        outcome: the engine's outcome; ``None`` when the step re-read only rows the last
            commit merged and nothing was written (the boundary rule).
        digest: the boundary digest of the rows written, when one was kept.
    """

    rows: int
    outcome: WriteOutcome | None
    digest: str | None = None


def unchanged_note(rows: int, state: TableState) -> str:
    """The run's note when a step re-read only the rows its table's last commit merged."""
    return (f"nothing changed: the {rows} row(s) re-read at watermark {state.watermark} "
            f"were loaded by step {state.txn_version}; no commit")


def choose_read_path(
    table: TableRecord, connector: Connector, engine: Engine,
    columns: tuple[SourceColumn, ...],
) -> JdbcReadPath | None:
    """The table's JDBC read path, or ``None`` to read through the connector.

    Raises:
        ValidationError: the table asks for ``jdbc`` but the engine or the connector
            cannot do it, or the partition column is not a column of the source; nothing
            has been read or written. Each problem names the field and what to do.
    """
    read = table.config.read
    if read.path != "jdbc":
        return None
    problems: list[FieldProblem] = []
    reader = engine if isinstance(engine, JdbcReader) else None
    renderer = connector if isinstance(connector, JdbcCapable) else None
    if reader is None:
        problems.append(FieldProblem("read.path", f"engine {engine.name!r} cannot read over "
                                     "JDBC; run the table with the spark engine, or set "
                                     "read.path to connector"))
    if renderer is None:
        problems.append(FieldProblem("read.path", f"the connector of source "
                                     f"{table.config.source!r} declares no JDBC capability; "
                                     "set read.path to connector"))
    names = [c.name for c in columns]
    if read.partition_column is not None and read.partition_column not in names:
        problems.append(FieldProblem("read.partition_column", f"column "
                                     f"{read.partition_column!r} does not exist in the "
                                     f"source; available columns: {', '.join(sorted(names))}"))
    problems.extend(p for p in read.problems() if p.field == "read.partition_column")
    if problems or reader is None or renderer is None:
        raise ValidationError(f"table {table.name!r} (read path jdbc)", problems)
    options = renderer.jdbc_options(table.config.source_object, fetchsize=read.fetch_size)
    return JdbcReadPath(table, renderer, reader, options)


class JdbcReadPath:
    """Reads and writes a table's steps through the engine's JDBC read (one run).

    Args:
        table: the table being run.
        connector: renders the SQL (window, bounds, partition predicates).
        engine: reads it and writes the staged rows.
        options: the JDBC connection (the password stays a ``Secret``).
    """

    def __init__(self, table: TableRecord, connector: JdbcCapable, engine: JdbcReader,
                 options: JdbcOptions) -> None:
        self._table = table
        self._connector = connector
        self._engine = engine
        self._options = options

    def write_step(
        self,
        step: LoadStep,
        commit: CommitInfo,
        lineage: LineageValues,
        *,
        watermark_before: str,
        before_commit: Callable[[], None],
        count: Callable[[TargetName, tuple[Predicate, ...]], int],
    ) -> StepWrite:
        """Read ``step``'s window over JDBC, check it and write it in one commit.

        Raises:
            ValidationError: soft deletes (a Merge with ``delete_column``), which this
                path does not apply; nothing was read.
            WindowMismatchError, EmptyReadRefusedError: as on the connector path.
            SourceError, DestinationError: the read or the write failed.
        """
        table = self._table.name
        if isinstance(step.write, Merge) and step.write.delete_column is not None:
            raise ValidationError(f"table {table!r} (read path jdbc)", [FieldProblem(
                "read.path", "soft deletes (strategy option delete_column) are applied on "
                "the connector path only; set read.path to connector, or drop delete_column")])
        staged = self._read(step)
        try:
            check_lineage(staged.schema.names, loaded_at=lineage.loaded_at,
                          source=lineage.source)
            boundary = step.boundary
            # The boundary rule needs the rows on the driver; only small reads bring them.
            held = (staged.to_arrow()
                    if boundary is not None and staged.rows <= MAX_BOUNDARY_ROWS else None)
            if boundary is not None and boundary.known is not None and held is not None \
                    and staged.rows >= step.min_rows and _digest(held) == boundary.known:
                return StepWrite(staged.rows, None)
            if step.guard is not None and staged.rows == 0:
                guard_empty_read(_reader(staged.schema), table=table, guard=step.guard,
                                 target=self._table.config.target, count=count)
            if staged.rows < step.min_rows:
                raise window_mismatch(table, step, watermark_before, staged.rows)
            digest = (_tap_digest(boundary, held)
                      if boundary is not None and held is not None else None)
            before_commit()
            outcome = self._engine.write_staged(self._table.config.target, staged,
                                                step.write, commit, lineage)
        finally:
            staged.release()
        return StepWrite(0 if outcome.replayed else staged.rows, outcome, digest)

    def _read(self, step: LoadStep) -> StagedRead:
        # choose_read_path refused a jdbc read without a partition column.
        column = self._table.config.read.partition_column or ""
        window = self._connector.jdbc_window(step.select, column)
        lower, upper = self._engine.jdbc_bounds(
            self._options, self._connector.jdbc_bounds(window, column))
        predicates = self._connector.jdbc_partitions(
            column, lower, upper, self._table.config.read.jdbc_partitions)
        return self._engine.read_jdbc(self._options, window, predicates)


def _reader(schema: pa.Schema, table: pa.Table | None = None) -> pa.RecordBatchReader:
    import pyarrow as pa

    return pa.RecordBatchReader.from_batches(
        schema, table.to_batches() if table is not None else [])


def _digest(held: pa.Table) -> str | None:
    """The digest the connector path compares a re-read with (``unchanged_read``)."""
    return peek_digest(_reader(held.schema, held))[1]


def _tap_digest(boundary: BoundaryRule, held: pa.Table) -> str | None:
    """The boundary digest the connector path keeps after a commit (``BoundaryTap``)."""
    tap = BoundaryTap(boundary)
    for _ in tap.wrap(_reader(held.schema, held)):
        pass
    return tap.digest()
