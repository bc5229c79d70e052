"""The scheduler-agnostic adapter: plain functions any scheduler calls.

Every scheduler — the bundled Dagster shim, Airflow, cron through the ``dataloader``
CLI — drives the SDK through these functions and nothing else; no business logic lives
in a shim. Nothing here imports a scheduler.

A tick of a scheduler::

    from dataloader_sdk import orchestration as orch

    for queued in orch.enqueue_due(store, now=now, limit=200):
        launch(queued.run_key, queued.name, queued.queue_token)   # the scheduler's job
        orch.mark_launched(store, queued.name, queued.queue_token, now=now)

and the launched run's body::

    record = orch.run_table(loader, name, queue_token=token, orchestrator_run_id=run_id)

Monitors (each cheap, set-based): :func:`find_long_queued`, :func:`find_long_running`,
:func:`find_failed` + :func:`analyse_retries`, :func:`check_landing_tables`;
:func:`run_monitors` runs them all once. :func:`run_maintenance` compacts, checkpoints and
vacuums what is due (docs/maintenance.md). See docs/scheduling.md.
"""

from __future__ import annotations

from dataloader_sdk.errors import StaleQueueTokenError
from dataloader_sdk.orchestration.freshness import DEFAULT_SLA_MULTIPLE, check_landing_tables
from dataloader_sdk.orchestration.maintenance import run_maintenance
from dataloader_sdk.orchestration.metadata import run_metadata
from dataloader_sdk.orchestration.monitors import (
    STALLED,
    find_long_queued,
    find_long_running,
)
from dataloader_sdk.orchestration.queue import (
    enqueue_due,
    mark_launched,
    mark_many_launched,
)
from dataloader_sdk.orchestration.report import MonitorReport, run_monitors
from dataloader_sdk.orchestration.retries import (
    Backoff,
    analyse_retries,
    find_failed,
    is_transient,
)
from dataloader_sdk.orchestration.run import run_table
from dataloader_sdk.orchestration.types import (
    FailedTable,
    Freshness,
    QueuedTable,
    RetryAction,
    RetryDecision,
    StuckTable,
    to_json,
)

__all__ = [
    "DEFAULT_SLA_MULTIPLE",
    "STALLED",
    "Backoff",
    "FailedTable",
    "Freshness",
    "MonitorReport",
    "QueuedTable",
    "RetryAction",
    "RetryDecision",
    "StaleQueueTokenError",
    "StuckTable",
    "analyse_retries",
    "check_landing_tables",
    "enqueue_due",
    "find_failed",
    "find_long_queued",
    "find_long_running",
    "is_transient",
    "mark_launched",
    "mark_many_launched",
    "run_maintenance",
    "run_metadata",
    "run_monitors",
    "run_table",
    "to_json",
]
