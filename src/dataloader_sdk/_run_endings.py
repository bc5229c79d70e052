"""How a table run ends when it does not succeed: cancelled or failed, recorded in the
run history and the lease released, as far as the control DB allows.

Kept out of :mod:`dataloader_sdk.runner` so the runner reads as the protocol it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk._run_parts import (
    FinishStatus,
    as_dataloader_error,
    raised_in,
    record_and_finish,
)
from dataloader_sdk.cancel import LoadCancelledError
from dataloader_sdk.errors import DataLoaderError, LeaseError
from dataloader_sdk.events import LoadCancelled, LoadFailed
from dataloader_sdk.model import RunRecord, TableRecord
from dataloader_sdk.progress import ProgressCallback, ProgressUpdate
from dataloader_sdk.secrets import Secret, redact

if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim
    from dataloader_sdk.plugins import PluginHost

__all__ = ["RunOutcome", "finish", "record_cancelled", "record_failed", "unclaimed"]

log = logging.getLogger("dataloader_sdk.runner")  # the runner's records, as before


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its history record, and the error if it failed."""

    record: RunRecord
    error: DataLoaderError | None = None


def finish(
    store: RunStore, claim: Claim, run: RunRecord, status: FinishStatus, *,
    now: datetime, permanent: bool = False,
) -> None:
    """Record the run's end and release its lease (one control-DB transaction)."""
    with raised_in("control store", f"table {claim.table.name!r}: recording the end"):
        record_and_finish(store, claim, run, status, now=now, permanent=permanent)


def record_cancelled(
    store: RunStore, host: PluginHost, claim: Claim, run: RunRecord,
    error: LoadCancelledError, notify: ProgressCallback, *, now: Callable[[], datetime],
) -> RunOutcome:
    """Record a cancelled run and release its lease, as far as the control DB allows."""
    message = str(error)
    run = replace(run, status="cancelled", finished_at=now(),
                  error_class=LoadCancelledError.__name__, error_message=message)
    try:
        finish(store, claim, run, "cancelled", now=now())
    except DataLoaderError as cleanup:
        log.error("table %s: could not record the cancelled run %s or release its "
                  "lease: %s", claim.table.name, run.run_id, cleanup)
    host.emit(LoadCancelled(run))
    notify(ProgressUpdate(claim.table.name, "cancelled", run.rows_written))
    error.__cause__ = None
    error.__suppress_context__ = True
    return RunOutcome(run, error)


def record_failed(
    store: RunStore, host: PluginHost, claim: Claim, run: RunRecord, exc: Exception,
    secret: Secret | None, notify: ProgressCallback, *, now: Callable[[], datetime],
) -> RunOutcome:
    """Record a failed run and release its lease, as far as the control DB allows."""
    table = claim.table
    error = as_dataloader_error(exc, table.name)
    message = redact(str(error), secret)
    if repr(table.name) not in message:
        message = f"table {table.name!r}: {message}"
    run = replace(
        run, status="failed", finished_at=now(),
        error_class=type(error).__name__, error_message=message,
    )
    try:
        finish(store, claim, run, "failed", now=now(), permanent=not error.retryable)
    except DataLoaderError as cleanup:
        # The control DB is down (or the lease was taken over). The lease then expires
        # by itself and the next claim closes this run's history row as abandoned.
        log.error("table %s: could not record the failed run %s or release its lease: "
                  "%s", table.name, run.run_id, redact(str(cleanup), secret))
    host.emit(LoadFailed(run))
    notify(ProgressUpdate(table.name, "failed", run.rows_written))
    # Info, not warning: the caller reports the failure (the CLI prints it once,
    # load_table raises it, load_tables returns it), and a warning here printed it twice.
    log.info("table %s failed: %s: %s", table.name, run.error_class, message)
    # The driver's exception (the cause) may quote the secret: drop it, and make
    # sure the raised error carries only the redacted message.
    error.args = (message,)
    error.__cause__ = None
    error.__suppress_context__ = True
    return RunOutcome(run, error)


def unclaimed(error: LeaseError, table: TableRecord, engine: str, now: datetime) -> RunRecord:
    """The record of a batch's table that could not be claimed (nothing ran; it is not
    written to the history)."""
    return RunRecord(
        run_id="", table_id=table.table_id, table=table.name, strategy=table.config.strategy,
        engine=engine, status="failed", started_at=now, finished_at=now,
        watermark_before=table.state.watermark, watermark_after=table.state.watermark,
        note="not run: could not claim the table", error_class=type(error).__name__,
        error_message=str(error),
    )
