"""Small pieces of a table run: write-mode replacement, probes, column checks, errors.

Kept out of :mod:`dataloader_sdk.runner` so the runner reads as the protocol it follows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Literal

from dataloader_sdk._boundary import peek_digest
from dataloader_sdk.errors import DataLoaderError, FieldProblem, SourceError, ValidationError
from dataloader_sdk.model import (
    Merge,
    Overwrite,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    SourceObject,
    TableRecord,
    WriteMode,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.connectors.base import Connector, SourceColumn
    from dataloader_sdk.control.store import Claim, ControlStore
    from dataloader_sdk.model import RunRecord

__all__ = ["FinishStatus", "as_dataloader_error", "probe", "record_and_finish", "replacing",
           "require_columns", "unchanged_read"]

FinishStatus = Literal["succeeded", "failed", "skipped", "cancelled"]


def record_and_finish(
    store: ControlStore, claim: Claim, run: RunRecord, status: FinishStatus, *,
    now: datetime, permanent: bool = False,
) -> None:
    """Record how a run ended and release its lease, in one control-DB transaction.

    All or nothing: the history never says a run ended while its lease is still held (nor
    the reverse), and one commit instead of two. A failure leaves the ``running`` row and
    the lease, which the next claim closes as abandoned once the lease is free.
    """

    def calls() -> None:
        store.record_run(run)
        store.finish(claim, status=status, now=now, permanent=permanent)

    store.together(calls, f"record the end of run {run.run_id} of table {claim.table.name!r}")


def unchanged_read(
    reader: pa.RecordBatchReader, known: str, min_rows: int = 0
) -> tuple[pa.RecordBatchReader | None, int]:
    """Read a step's window ahead of its write, to compare it with the ``known`` digest.

    Returns ``(None, rows)`` when the read hashes to ``known`` (the step re-read only rows
    its table's last commit merged), else a reader yielding every batch (the ones read
    ahead, then the rest of the stream) and the rows read ahead. At most
    ``MAX_BOUNDARY_ROWS`` rows are held before giving up and streaming on.
    """
    import pyarrow as pa

    held, digest = peek_digest(reader)
    rows = sum(batch.num_rows for batch in held)
    if digest == known and rows >= min_rows:
        return None, rows
    # Different rows (or fewer than the probe proved: the usual guard then refuses them).
    rest = pa.RecordBatchReader.from_batches(reader.schema, chain(held, reader))
    return rest, rows


def replacing(mode: WriteMode) -> WriteMode:
    """The write mode that replaces a target an earlier incarnation left behind."""
    # A Merge keeps its first-load checks (unique keys, soft deletes); Append and
    # ReplaceWhere become the Overwrite a first load onto an empty target amounts to.
    if isinstance(mode, Merge):
        return replace(mode, replace_existing=True)
    return Overwrite()


def probe(connector: Connector, obj: SourceObject, request: ProbeRequest) -> ProbeAnswer:
    """Run one probe; a failure becomes ``ProbeFailed`` and the strategy decides."""
    try:
        return connector.probe(obj, request)
    except DataLoaderError as exc:
        return ProbeFailed(exc)


def require_columns(
    table: TableRecord, columns: tuple[SourceColumn, ...], required: tuple[str, ...]
) -> None:
    present = {c.name for c in columns}
    missing = [name for name in required if name not in present]
    if missing:
        available = ", ".join(sorted(present))
        raise ValidationError(
            f"table {table.name!r} (source {table.config.source_object})",
            [FieldProblem("strategy_options", f"column {name!r} does not exist in the source; "
                          f"available columns: {available}") for name in missing],
        )


def as_dataloader_error(exc: BaseException, table: str) -> DataLoaderError:
    if isinstance(exc, DataLoaderError):
        return exc
    # An unexpected exception is a bug or an unclassified driver error: report it as a
    # source error naming the table, without retry (it is unknown whether retry helps).
    return SourceError(f"table {table!r}: unexpected {type(exc).__name__}: {exc}")
