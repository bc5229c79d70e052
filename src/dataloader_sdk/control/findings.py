"""Typed values the queue and the monitors hand out (all frozen dataclasses).

They carry plain data only (names, times, reasons), so a scheduler can log them, turn
them into its own objects (a Dagster ``RunRequest``, an Airflow task) or print them as
JSON without importing anything else of the SDK. ``dataloader_sdk.orchestration``
re-exports them; import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "FailedTable",
    "Freshness",
    "FreshnessStatus",
    "LandingRow",
    "QueuedTable",
    "RetryAction",
    "RetryDecision",
    "StuckTable",
]


@dataclass(frozen=True)
class QueuedTable:
    """A table waiting in ``queued`` for a scheduler to launch its run.

    Attributes:
        name: The table's logical name.
        source: Its source's name (schedulers limit concurrency per source).
        priority: Lower runs first.
        target_parts: The Delta target's parts, catalog first when present.
        queue_token: Changes every time the table is enqueued; pass it to
            :func:`~dataloader_sdk.orchestration.run_table` so a stale launch refuses.
        queued_at: When the table was enqueued (UTC).
        launched: Whether a scheduler already reported the run as launched
            (:func:`~dataloader_sdk.orchestration.mark_launched`).
    """

    name: str
    source: str
    priority: int
    target_parts: tuple[str, ...]
    queue_token: str
    queued_at: datetime
    launched: bool = False

    @property
    def run_key(self) -> str:
        """A de-duplication key unique per enqueue: ``name:queue_token``.

        A scheduler that remembers run keys forever (Dagster) still launches every retry,
        because each enqueue makes a new token.
        """
        return f"{self.name}:{self.queue_token}"


@dataclass(frozen=True)
class StuckTable:
    """A table a monitor found stuck and moved to ``failed`` (error class ``stalled``).

    Attributes:
        name: The table's logical name.
        was: The status it was stuck in (``queued`` or ``running``).
        since: When it entered that status (queued) or when its lease expired (running).
        stuck_for_seconds: How long it had been stuck at the time of the check.
        reason: A sentence for logs and the audit row.
        lease_owner: The worker that held the lease (running tables only).
        run_id: The run history row marked failed (``None`` when none was found).
    """

    name: str
    was: Literal["queued", "running"]
    since: datetime
    stuck_for_seconds: float
    reason: str
    lease_owner: str | None = None
    run_id: str | None = None


@dataclass(frozen=True)
class FailedTable:
    """A table in ``failed``, with what the retry analysis needs to decide.

    Attributes:
        name: The table's logical name.
        attempts: Failures since the last success (the table's retry count).
        error_class: The class name of the last failure (``stalled`` for a stuck run),
            or ``None`` when no failed run is recorded (failed by hand).
        error_message: The last failure's (redacted) message.
        failed_at: When it failed (the failed run's end, else the last status change).
        run_id: The failed run's history row, when there is one.
    """

    name: str
    attempts: int
    error_class: str | None
    error_message: str | None
    failed_at: datetime
    run_id: str | None = None


RetryAction = Literal["requeue", "needs_attention", "wait"]


@dataclass(frozen=True)
class RetryDecision:
    """What the retry analysis decided for one failed table, and why.

    Attributes:
        name: The table's logical name.
        action: ``requeue`` (queued now, with a new token), ``needs_attention`` (no more
            retries) or ``wait`` (back-off not over; decided again later).
        reason: A sentence naming the error class and the attempts, recorded in the
            audit log and on the failed run's history row.
        error_class: The last failure's class name (``None`` when unknown).
        attempts: Failures so far.
        transient: Whether the error class is worth retrying.
        retry_at: When the retry is (or was) due; ``None`` for ``needs_attention``.
        queue_token: The new token of a requeued table.
    """

    name: str
    action: RetryAction
    reason: str
    error_class: str | None
    attempts: int
    transient: bool
    retry_at: datetime | None = None
    queue_token: str | None = None


FreshnessStatus = Literal["fresh", "pending", "stale", "missing"]


@dataclass(frozen=True)
class Freshness:
    """How fresh one scheduled table's Delta target is against its SLA.

    Attributes:
        name: The table's logical name.
        target: The Delta target name.
        sla_seconds: The allowed age (the table's ``freshness_sla_seconds``, else a
            multiple of its interval).
        last_success_at: End of the last succeeded or skipped run, if any.
        last_commit_at: Time of the target's last Delta commit, when the engine was
            asked (only for tables the control DB cannot vouch for).
        age_seconds: Age of the newer of the two at the check (``None``: never loaded).
        status: ``fresh`` (within the SLA); ``pending`` (never loaded, but added less
            than one SLA ago); ``stale`` (loaded, older than the SLA); ``missing`` (no
            Delta table or never loaded, one SLA after it was added).
        late_seconds: How far past the SLA it is (0 unless stale or missing).
        error: Why the target could not be inspected, when it could not.
    """

    name: str
    target: str
    sla_seconds: int
    last_success_at: datetime | None
    last_commit_at: datetime | None
    age_seconds: float | None
    status: FreshnessStatus
    late_seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the table is within its SLA (``fresh`` or ``pending``)."""
        return self.status in ("fresh", "pending")


@dataclass(frozen=True)
class LandingRow:
    """What the control DB knows about one scheduled, enabled table's freshness."""

    name: str
    target: str
    interval_seconds: int | None
    freshness_sla_seconds: int | None
    created_at: datetime
    last_success_at: datetime | None
