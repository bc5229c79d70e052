"""Sources, tables and hand-made status changes of the in-memory control store.

The config half of :class:`~dataloader_sdk.testing.memory_store.InMemoryControlStore`
(the SQL store's ``store_config.py`` plus ``set_status``). Validation, target rules,
the state machine and the audit snapshots are the SQL store's own functions; only the
storage differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from dataloader_sdk.control import tables
from dataloader_sdk.control._common import check_actor
from dataloader_sdk.control.history import CANCELLED
from dataloader_sdk.control.identity import new_incarnation
from dataloader_sdk.control.rows import (
    record_to_json,
    row_to_source,
    row_to_table,
    source_to_json,
    source_values,
    table_config_values,
)
from dataloader_sdk.control.scheduling import RetryPolicy
from dataloader_sdk.control.sources import check_source_config
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.errors import ConfigError, StaleVersionError, StateError, UnknownNameError
from dataloader_sdk.model import JSONValue, SourceConfig, TableConfig, TableRecord, TableState, TableStatus
from dataloader_sdk.testing.memory_data import MemoryData, as_utc, new_source_row, new_table_row

__all__ = ["ConfigMethods"]

_T = TypeVar("_T")


class ConfigMethods:
    """Config operations of :class:`~dataloader_sdk.testing.memory_store.InMemoryControlStore`."""

    environment: str
    retry: RetryPolicy
    _clock: Callable[[], datetime]

    def _run(self, fn: Callable[[MemoryData], _T]) -> _T:
        raise NotImplementedError  # pragma: no cover - InMemoryControlStore provides it

    def _audit(self, d: MemoryData, kind: str, entity: str, action: str, actor: str,
               now: datetime, before: dict[str, JSONValue] | None,
               after: dict[str, JSONValue] | None) -> None:
        d.write_audit(kind=kind, entity=entity, action=action, actor=actor,  # type: ignore[arg-type]
                      at=now, before=before, after=after, environment=self.environment)

    # ------------------------------------------------------------------ sources

    def add_source(self, cfg: SourceConfig, *, actor: str) -> SourceConfig:
        """Add a source connection (audited)."""
        now = self._clock()

        def add(d: MemoryData) -> SourceConfig:
            check_actor(actor)
            check_source_config(cfg)
            if cfg.name in d.sources:
                raise ConfigError(
                    f"source {cfg.name!r} already exists in {self.environment}; "
                    "use update_source to change it, or choose another name")
            d.sources[cfg.name] = new_source_row(cfg, d.next_source_id, now)
            d.next_source_id += 1
            self._audit(d, "source", cfg.name, "create", actor, now, None,
                        source_to_json(cfg, 1))
            return row_to_source(d.sources[cfg.name])
        return self._run(add)

    def update_source(
        self, cfg: SourceConfig, *, actor: str, expected_version: int | None = None
    ) -> SourceConfig:
        """Replace the config of the source named ``cfg.name`` (audited, version bumped)."""
        now = self._clock()

        def update(d: MemoryData) -> SourceConfig:
            check_actor(actor)
            check_source_config(cfg)
            row = d.source(cfg.name)
            if expected_version is not None and row.version != expected_version:
                raise StaleVersionError(
                    f"source {cfg.name!r} was changed by someone else: you edited version "
                    f"{expected_version}, the current version is {row.version}; reload it "
                    "(get_source) and apply your change again")
            before = source_to_json(row_to_source(row), row.version)
            vars(row).update(source_values(cfg), version=row.version + 1,
                             updated_at=as_utc(now))
            self._audit(d, "source", cfg.name, "update", actor, now, before,
                        source_to_json(cfg, row.version))
            return row_to_source(row)
        return self._run(update)

    def remove_source(self, name: str, *, actor: str) -> None:
        """Remove a source that no table uses (audited)."""
        now = self._clock()

        def remove(d: MemoryData) -> None:
            check_actor(actor)
            row = d.source(name)
            users = sorted(t.name for t in d.tables.values() if t.source_name == name)
            if users:
                raise ConfigError(
                    f"source {name!r} is still used by table(s) {', '.join(users)}; "
                    "remove those tables or point them at another source first")
            del d.sources[name]
            self._audit(d, "source", name, "delete", actor, now,
                        source_to_json(row_to_source(row), row.version), None)
        self._run(remove)

    def source_version(self, name: str) -> int:
        """The source's optimistic-locking version (for ``update_source``)."""
        return self._run(lambda d: int(d.source(name).version))

    def list_sources(self) -> list[SourceConfig]:
        """Every source, sorted by name."""
        return self._run(lambda d: [row_to_source(d.sources[n]) for n in sorted(d.sources)])

    # ------------------------------------------------------------------ tables

    @staticmethod
    def _validate(d: MemoryData, cfg: TableConfig) -> None:
        tables.check_table_config(cfg)
        if cfg.source not in d.sources:
            raise UnknownNameError(
                "source", cfg.source, sorted(d.sources),
                hint=f"table {cfg.name!r} needs it: add the source first (add_source) "
                "or fix the table's source")

    @staticmethod
    def _target_rules(d: MemoryData, cfg: TableConfig, stored: str | None) -> TableConfig:
        return tables.check_target(
            cfg, stored, [(n, str(t.target)) for n, t in sorted(d.tables.items())])

    def add_table(self, cfg: TableConfig, *, actor: str) -> TableRecord:
        """Add a table to load (status ``idle``, empty state; audited)."""
        now = self._clock()

        def add(d: MemoryData) -> TableRecord:
            check_actor(actor)
            self._validate(d, cfg)
            if cfg.name in d.tables:
                raise ConfigError(
                    f"table {cfg.name!r} already exists in {self.environment}; "
                    "use update_table to change it, or choose another name")
            checked = self._target_rules(d, cfg, None)
            d.tables[cfg.name] = new_table_row(checked, d.next_table_id, now)
            d.next_table_id += 1
            record = row_to_table(d.tables[cfg.name])
            self._audit(d, "table", cfg.name, "create", actor, now, None,
                        record_to_json(record))
            return record
        return self._run(add)

    def update_table(
        self, cfg: TableConfig, *, expected_version: int, actor: str
    ) -> TableRecord:
        """Replace a table's config if ``expected_version`` is current (audited)."""
        now = self._clock()

        def update(d: MemoryData) -> TableRecord:
            check_actor(actor)
            self._validate(d, cfg)
            row = d.table(cfg.name)
            checked = self._target_rules(d, cfg, row.target)
            if row.version != expected_version:
                raise StaleVersionError(
                    f"table {cfg.name!r} was changed by someone else: you edited version "
                    f"{expected_version}, the current version is {row.version}; reload it "
                    "(get_table) and apply your change again")
            before = row_to_table(row)
            vars(row).update(table_config_values(checked), version=expected_version + 1,
                             updated_at=as_utc(now))
            after = row_to_table(row)
            self._audit(d, "table", cfg.name, "update", actor, now, record_to_json(before),
                        record_to_json(after))
            return after
        return self._run(update)

    def remove_table(self, name: str, *, actor: str) -> None:
        """Remove a table's row (its run history is kept; audited)."""
        now = self._clock()

        def remove(d: MemoryData) -> None:
            check_actor(actor)
            row = d.table(name)
            tables.refuse_if_running(row, "remove")
            del d.tables[name]
            self._audit(d, "table", name, "delete", actor, now,
                        record_to_json(row_to_table(row)), None)
        self._run(remove)

    def reset_state(self, name: str, *, actor: str) -> TableRecord:
        """Forget a table's state; it gets a new incarnation (audited)."""
        now = self._clock()

        def reset(d: MemoryData) -> TableRecord:
            check_actor(actor)
            row = d.table(name)
            tables.refuse_if_running(row, "reset the state of")
            before = row_to_table(row)
            vars(row).update(state=TableState().to_json(), incarnation=new_incarnation(),
                             retry_count=0, updated_at=as_utc(now))
            after = row_to_table(row)
            self._audit(d, "table", name, "state_reset", actor, now, record_to_json(before),
                        record_to_json(after))
            return after
        return self._run(reset)

    def unlock(self, name: str, *, actor: str, reason: str) -> TableRecord:
        """Release a running table's lease by hand (status ``cancelled``; audited)."""
        now = self._clock()

        def release(d: MemoryData) -> TableRecord:
            check_actor(actor)
            if not isinstance(reason, str) or not reason.strip():
                raise ConfigError(f"give a reason for unlocking table {name!r}")
            row = d.table(name)
            if row.status != "running":
                raise StateError(
                    f"table {name!r} is not running (status {row.status!r}, no lease); "
                    "there is nothing to unlock")
            before: dict[str, JSONValue] = {
                "status": row.status, "lease_owner": row.lease_owner,
                "lease_expires_at": row.lease_expires_at.isoformat()
                if row.lease_expires_at is not None else None}
            final = check_transition(name, row.status, "cancelled")
            d.close_open_runs(
                row.table_id, status="cancelled", finished_at=as_utc(now),
                error_class=CANCELLED,
                error_message=f"the lease of {row.lease_owner!r} was released by {actor!r} "
                f"(tables unlock): {reason}")
            vars(row).update(status=final, lease_owner=None, lease_expires_at=None,
                             updated_at=as_utc(now))
            self._audit(d, "table", name, "status", actor, now, before,
                        {"status": final, "reason": f"unlock: {reason}"})
            return row_to_table(row)
        return self._run(release)

    def set_status(
        self, name: str, to: TableStatus, *, actor: str, reason: str
    ) -> TableRecord:
        """Change a table's status by hand or from a monitor (audited)."""
        now = self._clock()
        retry = self.retry

        def change(d: MemoryData) -> TableRecord:
            check_actor(actor)
            if not isinstance(reason, str) or not reason.strip():
                raise ConfigError(f"give a reason for changing the status of table {name!r}")
            row = d.table(name)
            final = check_transition(name, row.status, to)
            before: dict[str, JSONValue] = {"status": row.status,
                                            "retry_count": row.retry_count}
            if row.status == "running":
                row.lease_owner = row.lease_expires_at = None
                _abandon_runs(d, row, now)
            if final == "failed":
                row.retry_count += 1
                row.next_run_at = as_utc(now + timedelta(seconds=retry.delay_seconds))
            elif final == "needs_attention":
                row.next_run_at = None
            elif row.status == "needs_attention":
                row.retry_count = 0
            row.status, row.updated_at = final, as_utc(now)
            after = row_to_table(row)
            self._audit(d, "table", name, "status", actor, now, before, {
                "status": after.status, "retry_count": after.retry_count, "reason": reason})
            return after
        return self._run(change)


def _abandon_runs(d: MemoryData, row: Any, now: datetime) -> None:
    from dataloader_sdk.control.history import ABANDONED, ABANDONED_MESSAGE
    d.close_open_runs(row.table_id, status="failed", finished_at=as_utc(now),
                      error_class=ABANDONED, error_message=ABANDONED_MESSAGE)

