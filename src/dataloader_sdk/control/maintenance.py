"""Table maintenance in the control DB: each table's policy, its bookkeeping, what is due.

The policy lives in ``table_control.maintenance`` (settings that differ from the
defaults), the bookkeeping in ``table_control.maintenance_state`` (0008_maintenance).
:func:`plan` is pure: given a policy, the bookkeeping and the table's file counts, it
says what is due. Running it is ``dataloader_sdk.maintenance``'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.tables import table_row
from dataloader_sdk.engines.base import MaintenanceTask, TableFiles
from dataloader_sdk.engines.common.sizes import TARGET_FILE_SIZE
from dataloader_sdk.model.maintenance import (
    DELTA_DEFAULT_RETENTION_HOURS,
    MaintenancePolicy,
    MaintenanceState,
)

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = [
    "CLUSTER_FILES",
    "CLUSTER_MIN_FILE_BYTES",
    "MaintenanceSettings",
    "cluster_file_bytes",
    "get_settings",
    "list_settings",
    "merge_keys",
    "plan",
    "reasons",
    "save_state",
    "set_policy",
]


#: Clustering aims at about this many files: few enough that they never count towards
#: compaction (``compact_min_files`` is 20 by default), enough that a merge of recent
#: keys rewrites about an eighth of the table instead of all of it.
CLUSTER_FILES = 8
#: The smallest file clustering asks for; a table below twice this stays one file anyway.
CLUSTER_MIN_FILE_BYTES = 256 * 1024

#: The strategies whose loads replace the whole table: clustering gains them nothing.
_REPLACING = frozenset({"full"})
#: Where a composite strategy names the strategy it wraps, and that strategy's options.
_WRAPPED = (("load", "load_options"), ("then", "then_options"))


@dataclass(frozen=True)
class MaintenanceSettings:
    """One table's maintenance policy and bookkeeping, with where its Delta table is.

    ``merge_keys``: the columns its loads merge by (clustering's columns; see
    :func:`merge_keys`).
    """

    name: str
    target: str
    enabled: bool
    policy: MaintenancePolicy
    state: MaintenanceState
    merge_keys: tuple[str, ...] = ()


def merge_keys(strategy: str, options: object) -> tuple[str, ...]:
    """The columns a table's loads merge by: its ``primary_keys`` option, or that of the
    strategy it wraps (``check_and_load``'s ``load``, ``chunked_backfill``'s ``then``);
    none for a strategy whose loads replace the table (``full``)."""
    if strategy in _REPLACING or not isinstance(options, Mapping):
        return ()
    keys = options.get("primary_keys")
    if isinstance(keys, str) and keys:
        return (keys,)
    if isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys):
        return tuple(keys)
    for name_field, options_field in _WRAPPED:
        inner = options.get(name_field)
        if isinstance(inner, str) and (found := merge_keys(inner, options.get(options_field))):
            return found
    return ()


def cluster_file_bytes(table_bytes: int) -> int:
    """The file size clustering writes for a table of ``table_bytes``: about
    :data:`CLUSTER_FILES` files, none below :data:`CLUSTER_MIN_FILE_BYTES` nor above the
    engines' target file size."""
    return max(CLUSTER_MIN_FILE_BYTES, min(table_bytes // CLUSTER_FILES, TARGET_FILE_SIZE))


def _settings(row: sa.Row[tuple[object, ...]] | object) -> MaintenanceSettings:
    name = str(getattr(row, "name"))  # noqa: B009 - rows of two selects
    return MaintenanceSettings(
        name=name,
        target=str(getattr(row, "target")),  # noqa: B009
        enabled=bool(getattr(row, "enabled")),  # noqa: B009
        policy=MaintenancePolicy.from_json(getattr(row, "maintenance"), table=name),  # noqa: B009
        state=MaintenanceState.from_json(getattr(row, "maintenance_state")),  # noqa: B009
        merge_keys=merge_keys(str(getattr(row, "strategy")),  # noqa: B009
                              getattr(row, "strategy_options")),  # noqa: B009
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
                      T.c.maintenance_state, T.c.strategy,
                      T.c.strategy_options).order_by(T.c.name)
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
         now: datetime, *, force: bool = False, dry_run: bool = False,
         keys: tuple[str, ...] = ()) -> MaintenanceTask:
    """What is due for a table (``force``: everything, as ``dataloader maintain TABLE``).

    * compaction: more than ``compact_min_files`` files below ``small_file_bytes``
      (forced: at least two small files, else there is nothing to merge);
    * clustering, for a table merged by ``keys`` (policy ``cluster``, bigger than two
      :data:`CLUSTER_MIN_FILE_BYTES` files): ``cluster_every_commits`` commits since the
      last clustering on a table of at most ``cluster_max_bytes`` (forced: always). Such
      a table is never compacted: compaction's unordered rewrite would undo the
      clustering, and the next clustering rewrites the small files too;
    * checkpoint: ``checkpoint_every`` commits since the last one it wrote;
    * vacuum: ``vacuum_every_hours`` since it last vacuumed (never: due).
    """
    compact = files.small_files > (1 if force else policy.compact_min_files)
    clusterable = (bool(keys) and policy.cluster and files.bytes > 2 * CLUSTER_MIN_FILE_BYTES
                   and (force or files.bytes <= policy.cluster_max_bytes))
    cluster = clusterable and (
        force or _commits_since(files, state.clustered_version) >= policy.cluster_every_commits)
    checkpoint = force or (_commits_since(files, state.checkpoint_version)
                           >= policy.checkpoint_every)
    vacuum = force or state.vacuumed_at is None or (
        now - state.vacuumed_at >= timedelta(hours=policy.vacuum_every_hours))
    enforce = not (policy.allow_short_retention
                   and policy.vacuum_retention_hours < DELTA_DEFAULT_RETENTION_HOURS)
    return MaintenanceTask(compact=compact and not clusterable, checkpoint=checkpoint,
                           vacuum=vacuum, retention_hours=policy.vacuum_retention_hours,
                           enforce_retention=enforce, dry_run=dry_run,
                           cluster_by=keys if cluster else (),
                           target_file_bytes=cluster_file_bytes(files.bytes) if cluster
                           else None)


def _commits_since(files: TableFiles, version: int | None) -> int:
    """Commits since ``version`` (``None``: never, so every commit since the table began)."""
    return files.version - (version if version is not None else -1)


def reasons(policy: MaintenancePolicy, files: TableFiles, task: MaintenanceTask) -> list[str]:
    """Why each step of ``task`` is due, for people (CLI and logs)."""
    out: list[str] = []
    if task.compact:
        out.append(f"compact: {files.small_files} of {files.files} files are below "
                   f"{policy.small_file_bytes} bytes")
    if task.cluster_by:
        out.append(f"cluster: by {', '.join(task.cluster_by)} into files of about "
                   f"{task.target_file_bytes} bytes ({files.files} files now, "
                   f"{files.small_files} small)")
    if task.checkpoint:
        out.append(f"checkpoint: at version {files.version}")
    if task.vacuum:
        out.append(f"vacuum: files unreferenced for over {task.retention_hours} h")
    return out
