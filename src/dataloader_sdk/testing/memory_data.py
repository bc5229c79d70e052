"""The rows of :class:`~dataloader_sdk.testing.memory_store.InMemoryControlStore`.

The double keeps the control tables' rows as plain namespaces with the same column names
as the SQL schema, so the readers of ``control/rows.py`` turn them into model objects
exactly as they turn database rows into them: one conversion, one set of semantics. A
transaction is a deep copy of :class:`MemoryData` taken before the call and put back if
the call fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from dataloader_sdk.control.identity import new_incarnation
from dataloader_sdk.control.records import AuditAction, AuditEntry, EntityKind
from dataloader_sdk.control.rows import row_to_run, run_values, source_values, table_config_values
from dataloader_sdk.errors import UnknownNameError
from dataloader_sdk.model import JSONValue, RunRecord, SourceConfig, TableConfig, TableState
from dataloader_sdk.model.operations import diff_json

__all__ = ["MemoryData", "as_utc", "new_source_row", "new_table_row", "read_run", "stored_run"]


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC, as the SQL store reads every timestamp back."""
    return None if value is None else value.astimezone(timezone.utc)


@dataclass
class MemoryData:
    """Everything one in-memory control database holds."""

    sources: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, Any] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    next_source_id: int = 1
    next_table_id: int = 1

    def write_audit(
        self, *, kind: EntityKind, entity: str, action: AuditAction, actor: str, at: datetime,
        before: dict[str, JSONValue] | None, after: dict[str, JSONValue] | None,
        environment: str,
    ) -> None:
        """Append one audit entry (ids grow by one, as the SQL table's do)."""
        self.audit.append(AuditEntry(
            id=len(self.audit) + 1, entity_kind=kind, entity=entity, action=action,
            actor=actor, at=as_utc(at) or at, before=before, after=after,
            environment=environment, changes=diff_json(before, after)))

    def source(self, name: str) -> Any:
        """The source row ``name``; :class:`UnknownNameError` lists the known ones."""
        if name not in self.sources:
            raise UnknownNameError("source", name, sorted(self.sources),
                                   hint="list them with list_sources()")
        return self.sources[name]

    def table(self, name: str) -> Any:
        """The table row ``name``; :class:`UnknownNameError` lists the known ones."""
        if name not in self.tables:
            raise UnknownNameError("table", name, sorted(self.tables),
                                   hint="list them with list_tables()")
        return self.tables[name]

    def table_by_id(self, table_id: int) -> Any:
        """The table row with ``table_id``, or ``None``."""
        return next((t for t in self.tables.values() if t.table_id == table_id), None)

    def close_open_runs(self, table_id: int, **values: object) -> None:
        """Set ``values`` on the table's runs still recorded as ``running``."""
        for key, run in self.runs.items():
            if run.table_id == table_id and run.status == "running":
                self.runs[key] = SimpleNamespace(**{**vars(run), **values})


def new_source_row(cfg: SourceConfig, source_id: int, now: datetime) -> Any:
    """A ``table_control_dbconfig`` row for ``cfg`` (version 1)."""
    return SimpleNamespace(**source_values(cfg), source_id=source_id, version=1,
                           created_at=as_utc(now), updated_at=as_utc(now))


def new_table_row(cfg: TableConfig, table_id: int, now: datetime) -> Any:
    """A ``table_control`` row for ``cfg``: ``idle``, empty state, version 1."""
    return SimpleNamespace(
        **table_config_values(cfg), table_id=table_id, status="idle",
        state=TableState().to_json(), retry_count=0, run_generation=0, version=1,
        incarnation=new_incarnation(), created_at=as_utc(now), updated_at=as_utc(now),
        next_run_at=None, last_run_at=None, lease_owner=None, lease_expires_at=None)


def stored_run(run: RunRecord) -> Any:
    """A ``historical_metadata`` row for ``run`` (timestamps in UTC)."""
    values = run_values(run)
    values["started_at"] = as_utc(run.started_at)
    values["finished_at"] = as_utc(run.finished_at)
    return SimpleNamespace(**values)


def read_run(row: Any) -> RunRecord:
    """A stored run row as a :class:`RunRecord` (the SQL store's reader)."""
    return row_to_run(row)
