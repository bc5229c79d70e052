"""Table maintenance in the control DB: each table's policy, its bookkeeping, what is due.

The policy lives in ``table_control.maintenance`` (settings that differ from the
defaults), the bookkeeping in ``table_control.maintenance_state`` (0008_maintenance).
:func:`plan` is pure: given a policy, the bookkeeping and the table's file counts, it
says what is due. Running it is ``dataloader_sdk.maintenance``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.tables import table_row
from dataloader_sdk.engines.base import MaintenanceTask, TableFiles
from dataloader_sdk.model.maintenance import (
    DELTA_DEFAULT_RETENTION_HOURS,
    MaintenancePolicy,
    MaintenanceState,
)

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = [
    "MaintenanceSettings",
    "get_settings",
    "list_settings",
    "plan",
    "reasons",
    "save_state",
    "set_policy",
]


@dataclass(frozen=True)
class MaintenanceSettings:
    """One table's maintenance policy and bookkeeping, with where its Delta table is."""

    name: str
    target: str
    enabled: bool
    policy: MaintenancePolicy
    state: MaintenanceState


def _settings(row: sa.Row[tuple[object, ...]] | object) -> MaintenanceSettings:
    name = str(getattr(row, "name"))  # noqa: B009 - rows of two selects
    return MaintenanceSettings(
        name=name,
        target=str(getattr(row, "target")),  # noqa: B009
        enabled=bool(getattr(row, "enabled")),  # noqa: B009
        policy=MaintenancePolicy.from_json(getattr(row, "maintenance"), table=name),  # noqa: B009
        state=MaintenanceState.from_json(getattr(row, "maintenance_state")),  # noqa: B009
    )


def get_settings(store: ControlStore, name: str) -> MaintenanceSettings:
    """The policy and bookkeeping of table ``name``.

    Raises:
        UnknownNameError: No such table.
        ValidationError: The stored policy is invalid (edited outside the SDK).
    """
    return _settings(store._run(lambda c: table_row(c, name),
                                f"read the maintenance settings of table {name!r}"))


def list_settings(store: ControlStore) -> list[MaintenanceSettings]:
    """Every table's maintenance settings, by name (one query)."""
    query = sa.select(T.c.name, T.c.target, T.c.enabled, T.c.maintenance,
                      T.c.maintenance_state).order_by(T.c.name)
    rows = store._run(lambda c: list(c.execute(query)),
                      "read the maintenance settings")
    return [_settings(r) for r in rows]


def set_policy(store: ControlStore, name: str, policy: MaintenancePolicy | None, *,
               actor: str, now: datetime) -> MaintenancePolicy:
    """Store table ``name``'s policy (``None``: back to the defaults); audited, and the
    table's config version is bumped (``dataloader maintain TABLE --set``).

    Raises:
        ValidationError: an invalid policy (every field named); nothing is changed.
        UnknownNameError: No such table.
    """
    chosen = policy or MaintenancePolicy()
    problems = chosen.problems()
    if problems:
        from dataloader_sdk.errors import ValidationError

        raise ValidationError(f"table {name!r}", problems)
    stored = chosen.to_json() or None

    def write(conn: sa.Connection) -> None:
        row = table_row(conn, name, lock=True)
        # The policy is table config: bump the version so an edit planned before this
        # one (a form, a bulk plan, a promotion) conflicts instead of undoing it.
        conn.execute(sa.update(T).where(T.c.name == name).values(
            maintenance=stored, version=row.version + 1, updated_at=now))
        write_audit(conn, kind="table", entity=name, action="update", actor=actor, at=now,
                    before={"maintenance": row.maintenance}, after={"maintenance": stored},
                    environment=store.environment)

    store._run(write, f"set the maintenance policy of table {name!r}")
    return chosen


def save_state(store: ControlStore, name: str, state: MaintenanceState) -> None:
    """Record maintenance bookkeeping (not audited: it is not configuration)."""
    values = state.to_json()
    store._run(
        lambda c: c.execute(sa.update(T).where(T.c.name == name)
                            .values(maintenance_state=values)),
        f"record the maintenance of table {name!r}")


def plan(policy: MaintenancePolicy, state: MaintenanceState, files: TableFiles,
         now: datetime, *, force: bool = False, dry_run: bool = False) -> MaintenanceTask:
    """What is due for a table (``force``: everything, as ``dataloader maintain TABLE``).

    * compaction: more than ``compact_min_files`` files below ``small_file_bytes``
      (forced: at least two small files, else there is nothing to merge);
    * checkpoint: ``checkpoint_every`` commits since the last one it wrote;
    * vacuum: ``vacuum_every_hours`` since it last vacuumed (never: due).
    """
    compact = files.small_files > (1 if force else policy.compact_min_files)
    since = files.version - (state.checkpoint_version if state.checkpoint_version is not None
                             else -1)
    checkpoint = force or since >= policy.checkpoint_every
    vacuum = force or state.vacuumed_at is None or (
        now - state.vacuumed_at >= timedelta(hours=policy.vacuum_every_hours))
    enforce = not (policy.allow_short_retention
                   and policy.vacuum_retention_hours < DELTA_DEFAULT_RETENTION_HOURS)
    return MaintenanceTask(compact=compact, checkpoint=checkpoint, vacuum=vacuum,
                           retention_hours=policy.vacuum_retention_hours,
                           enforce_retention=enforce, dry_run=dry_run)


def reasons(policy: MaintenancePolicy, files: TableFiles, task: MaintenanceTask) -> list[str]:
    """Why each step of ``task`` is due, for people (CLI and logs)."""
    out: list[str] = []
    if task.compact:
        out.append(f"compact: {files.small_files} of {files.files} files are below "
                   f"{policy.small_file_bytes} bytes")
    if task.checkpoint:
        out.append(f"checkpoint: at version {files.version}")
    if task.vacuum:
        out.append(f"vacuum: files unreferenced for over {task.retention_hours} h")
    return out
