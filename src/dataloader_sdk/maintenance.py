"""Running table maintenance: compaction or clustering, log checkpoints and vacuum
(docs/maintenance.md).

Three ways in, one code path:

* after a load, when due (:func:`maintain_after_load`, called by the
  :class:`~dataloader_sdk.loader.DataLoader`; it never fails the load);
* ``dataloader maintain [TABLE...|--due]`` (:func:`maintain_tables`);
* ``dataloader_sdk.orchestration.run_maintenance``, for a monitor or an asset.

Maintenance takes no lease: a load of the same table may commit meanwhile. Compaction
(or clustering) is a data-change-free commit that loses, and is retried on, a conflict with such a load,
and vacuum deletes only files unreferenced for longer than the retention, so neither
ever touches what a load is committing (engines/base.py, ``Maintainable``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from dataloader_sdk.control import maintenance as control
from dataloader_sdk.engines.base import Maintainable, MaintenanceOutcome, MaintenanceTask
from dataloader_sdk.errors import DataLoaderError
from dataloader_sdk.model import RunRecord, TargetName, utcnow

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.engines.base import Engine

__all__ = [
    "CHECK_EVERY_COMMITS",
    "MaintenanceReport",
    "maintain_after_load",
    "maintain_table",
    "maintain_tables",
]

log = logging.getLogger(__name__)

#: After a load, whether maintenance is due is checked only when the table's Delta version
#: crosses a multiple of this: the check reads the table's file list, which a run that
#: only commits a few rows should not pay for every time.
CHECK_EVERY_COMMITS = 10

ReportStatus = Literal["done", "nothing_due", "skipped", "failed", "dry_run"]


@dataclass(frozen=True)
class MaintenanceReport:
    """What maintenance did for one table.

    ``status``: ``done``; ``nothing_due``; ``skipped`` (no Delta table yet, policy
    disabled, or an engine without maintenance; ``note`` says which); ``failed``
    (``error``; recorded in the table's bookkeeping); ``dry_run`` (``task`` is what would
    run). ``files``/``small_files``: the counts maintenance decided on.
    """

    table: str
    status: ReportStatus
    task: MaintenanceTask | None = None
    reasons: tuple[str, ...] = ()
    files: int | None = None
    small_files: int | None = None
    outcome: MaintenanceOutcome | None = None
    note: str = ""
    error: str | None = None


def maintain_table(
    store: ControlStore,
    engine: Engine,
    name: str,
    *,
    force: bool = True,
    dry_run: bool = False,
    now: datetime | None = None,
) -> MaintenanceReport:
    """Maintain table ``name`` now.

    Args:
        force: run every step (a disabled policy too), not only what is due.
        dry_run: change nothing; report what would run.

    A failure of the engine is returned (``status="failed"``) and recorded in the table's
    bookkeeping, not raised.

    Raises:
        UnknownNameError: No such table.
        ValidationError: Its stored policy is invalid.
    """
    when = now or utcnow()
    settings = control.get_settings(store, name)
    if not isinstance(engine, Maintainable):
        return MaintenanceReport(name, "skipped",
                                 note=f"engine {engine.name} cannot maintain tables")
    if not force and not settings.policy.enabled:
        return MaintenanceReport(name, "skipped", note="maintenance is disabled for it")
    target = TargetName.parse(settings.target)
    files = engine.table_files(target, settings.policy.small_file_bytes)
    if files is None:
        return MaintenanceReport(name, "skipped", note="its Delta table does not exist yet")
    task = control.plan(settings.policy, settings.state, files, when, force=force,
                        dry_run=dry_run, keys=settings.merge_keys)
    why = tuple(control.reasons(settings.policy, files, task))
    report = MaintenanceReport(name, "nothing_due", task, why, files.files, files.small_files)
    if not (task.compact or task.cluster_by or task.checkpoint or task.vacuum):
        return report
    if dry_run:
        return replace(report, status="dry_run")
    try:
        outcome = engine.maintain(target, task)
    except DataLoaderError as exc:
        log.warning("table %s: maintenance failed: %s", name, exc)
        control.save_state(store, name, replace(settings.state, last_error=str(exc)[:2000],
                                                last_error_at=when))
        return replace(report, status="failed", error=str(exc))
    state = replace(
        settings.state, maintained_at=when, last_error=None, last_error_at=None,
        compacted_at=when if task.compact else settings.state.compacted_at,
        # A clustering that committed nothing (nothing to rewrite) counts as done too.
        clustered_version=(outcome.clustered_version if outcome.clustered_version is not None
                           else outcome.version if task.cluster_by
                           else settings.state.clustered_version),
        vacuumed_at=when if task.vacuum else settings.state.vacuumed_at,
        checkpoint_version=(outcome.checkpoint_version if outcome.checkpoint_version is not None
                            else outcome.version if outcome.checkpointed or task.checkpoint
                            else settings.state.checkpoint_version),
    )
    control.save_state(store, name, state)
    log.info("table %s: maintenance done (%s)", name, "; ".join(why))
    return replace(report, status="done", outcome=outcome)


def maintain_tables(
    store: ControlStore,
    engine: Engine,
    names: Sequence[str] | None = None,
    *,
    due_only: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[MaintenanceReport]:
    """Maintain ``names`` (``None``: every table), each fully, or only what is due.

    With ``due_only`` tables whose policy is disabled are skipped. Unknown names fail
    first, before any table is maintained.

    Raises:
        UnknownNameError: an unknown name (nothing was maintained).
    """
    when = now or utcnow()
    if names is None:
        chosen = [s.name for s in control.list_settings(store)]
    else:
        chosen = list(dict.fromkeys(names))
        for name in chosen:
            control.get_settings(store, name)  # unknown names fail before any work
    return [maintain_table(store, engine, name, force=not due_only, dry_run=dry_run, now=when)
            for name in chosen]


def _crosses_check(record: RunRecord) -> bool:
    if record.status != "succeeded" or record.steps_committed < 1 or record.delta_version is None:
        return False
    # Version 0 (the table's creation) never counts: there is nothing to maintain yet.
    first = max(record.delta_version - record.steps_committed, 0)
    return record.delta_version // CHECK_EVERY_COMMITS > first // CHECK_EVERY_COMMITS


def maintain_after_load(
    store: ControlStore,
    engine: Engine,
    record: RunRecord,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> MaintenanceReport | None:
    """Maintain the table a run just loaded, when due; never raises.

    Checked only when the run's commits crossed a multiple of
    :data:`CHECK_EVERY_COMMITS` (``None`` otherwise). Any error is logged (and an
    engine failure recorded in the table's bookkeeping); the load stays succeeded.
    """
    if not _crosses_check(record) or not isinstance(engine, Maintainable):
        return None
    try:
        return maintain_table(store, engine, record.table, force=False, now=clock())
    except Exception as exc:  # a maintenance problem must never fail the load
        log.warning("table %s: maintenance after the load failed: %s", record.table, exc)
        return MaintenanceReport(record.table, "failed", error=str(exc))
