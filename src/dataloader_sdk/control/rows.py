"""Converting between control-table rows and the typed model objects.

Rows are untrusted input (anyone with SQL access can edit them), so the readers check
types and name the table and column when a value is unusable.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from dataloader_sdk.errors import ConfigError, FieldProblem, ValidationError
from dataloader_sdk.model import (
    RUN_STATUSES,
    TABLE_STATUSES,
    JSONValue,
    MaintenancePolicy,
    RunRecord,
    RunStatus,
    SourceConfig,
    TableConfig,
    TableRead,
    TableRecord,
    TableState,
    TableStatus,
    TargetName,
    Watermark,
)
from dataloader_sdk.model.operations import config_to_json

__all__ = [
    "record_to_json",
    "row_to_run",
    "row_to_source",
    "row_to_table",
    "run_problems",
    "run_values",
    "source_to_json",
    "source_values",
    "table_config_values",
]


def _obj(value: object) -> dict[str, JSONValue]:
    # JSON columns come back as plain dicts; anything else was written by hand.
    return dict(cast(Mapping[str, JSONValue], value)) if isinstance(value, Mapping) else {}


def _read(name: str, value: object) -> TableRead:
    try:
        return TableRead.from_json(cast(JSONValue, value))
    except ValidationError as exc:
        raise ConfigError(
            f"table {name!r} has unreadable read settings in table_control ({exc}); "
            "fix them with update_table"
        ) from exc


def _maintenance(name: str, value: object) -> MaintenancePolicy:
    # Kept as stored: a bad value (edited by hand) is named when the table is next edited,
    # and ``dataloader maintain`` refuses it; only an unreadable shape stops reading.
    try:
        return MaintenancePolicy.parse(value, table=name)
    except ValidationError as exc:
        raise ConfigError(
            f"table {name!r} has an unreadable maintenance policy in table_control ({exc}); "
            "fix it with `dataloader maintain TABLE --reset-policy` or update_table"
        ) from exc


def source_values(cfg: SourceConfig) -> dict[str, object]:
    """Column values for a ``table_control_dbconfig`` row (config columns only)."""
    return {
        "name": cfg.name,
        "db_type": cfg.db_type,
        "host": cfg.host,
        "port": cfg.port,
        "database": cfg.database,
        "username": cfg.username,
        "secret_ref": cfg.secret,
        "options": dict(cfg.options),
        "enabled": cfg.enabled,
    }


def row_to_source(row: Any) -> SourceConfig:
    """A ``table_control_dbconfig`` row as a :class:`SourceConfig`."""
    return SourceConfig(
        name=row.name,
        db_type=row.db_type,
        host=row.host,
        port=row.port,
        database=row.database,
        username=row.username,
        secret=row.secret_ref,
        options=_obj(row.options),
        enabled=bool(row.enabled),
    )


def source_to_json(cfg: SourceConfig, version: int | None = None) -> dict[str, JSONValue]:
    """The audit snapshot of a source (the secret *reference* only; secrets never get here)."""
    # The row's config columns are all JSON values already.
    out = cast(dict[str, JSONValue], source_values(cfg))
    if version is not None:
        out["version"] = version
    return out


def table_config_values(cfg: TableConfig) -> dict[str, object]:
    """Column values for the configurable part of a ``table_control`` row (the fields of
    :func:`~dataloader_sdk.model.operations.config_to_json`; the source column is
    ``source_name``)."""
    values: dict[str, object] = dict(config_to_json(cfg))
    values["source_name"] = values.pop("source")
    # Always written (NULL: the defaults), so an edit back to the defaults clears it.
    values["maintenance"] = cfg.maintenance.to_json() or None
    return values


def row_to_table(row: Any) -> TableRecord:
    """A ``table_control`` row as a :class:`TableRecord`.

    Raises:
        ConfigError: The row holds an unusable target, status or state (edited by hand).
    """
    name = row.name
    try:
        target = TargetName.parse(row.target)
    except ValidationError as exc:
        raise ConfigError(
            f"table {name!r} has an invalid target in table_control ({exc}); "
            "fix it with update_table"
        ) from exc
    status = row.status
    if status not in TABLE_STATUSES:
        raise ConfigError(
            f"table {name!r} has unknown status {status!r} in table_control; "
            f"set it to one of {', '.join(TABLE_STATUSES)}"
        )
    try:
        state = TableState.from_json(_obj(row.state))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"table {name!r} has an unreadable state in table_control ({exc}); "
            "use reset_state to start it over"
        ) from exc
    cfg = TableConfig(
        name=name,
        source=row.source_name,
        target=target,
        source_table=row.source_table,
        source_schema=row.source_schema,
        source_query=row.source_query,
        strategy=row.strategy,
        strategy_options=_obj(row.strategy_options),
        interval_seconds=row.interval_seconds,
        priority=row.priority,
        enabled=bool(row.enabled),
        freshness_sla_seconds=row.freshness_sla_seconds,
        read=_read(name, row.read),
        maintenance=_maintenance(name, getattr(row, "maintenance", None)),
    )
    return TableRecord(
        table_id=row.table_id,
        config=cfg,
        status=cast(TableStatus, status),
        state=state,
        version=row.version,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        retry_count=row.retry_count,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        run_generation=row.run_generation,
        incarnation=row.incarnation,
    )


def record_to_json(record: TableRecord) -> dict[str, JSONValue]:
    """The audit snapshot of a table: its config, version and state."""
    values = cast(dict[str, JSONValue], table_config_values(record.config))
    values["source"] = values.pop("source_name")  # the config's name for the column
    if values["maintenance"] is None:  # snapshots of tables on the defaults stay as they were
        del values["maintenance"]
    return {
        "table_id": record.table_id,
        **values,
        "status": record.status,
        "state": record.state.to_json(),
        "version": record.version,
        "incarnation": record.incarnation,
    }


def _wm_json(wm: Watermark | None) -> dict[str, JSONValue] | None:
    return wm.to_json() if wm is not None else None


def _wm(value: object) -> Watermark | None:
    if not isinstance(value, Mapping):
        return None
    return Watermark.from_json(cast(Mapping[str, JSONValue], value))


def run_values(run: RunRecord) -> dict[str, object]:
    """Column values for a ``historical_metadata`` row."""
    return {
        "run_id": run.run_id,
        "table_id": run.table_id,
        "table_name": run.table,
        "strategy": run.strategy,
        "engine": run.engine,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "rows_read": run.rows_read,
        "rows_written": run.rows_written,
        "watermark_before": _wm_json(run.watermark_before),
        "watermark_after": _wm_json(run.watermark_after),
        "steps_committed": run.steps_committed,
        "note": run.note,
        "error_class": run.error_class,
        "error_message": run.error_message,
        "orchestrator_run_id": run.orchestrator_run_id,
        "delta_version": run.delta_version,
    }


def run_problems(run: RunRecord) -> list[FieldProblem]:
    """Field problems of a run record (checked before it is written)."""
    out: list[FieldProblem] = []
    if not isinstance(run.run_id, str) or not run.run_id or len(run.run_id) > 64:
        out.append(FieldProblem("run_id", "must be a non-empty string of at most 64 characters"))
    if run.status not in RUN_STATUSES:
        out.append(FieldProblem("status", f"{run.status!r} is not one of {RUN_STATUSES}"))
    for name in ("started_at", "finished_at"):
        value = getattr(run, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            out.append(FieldProblem(name, "must be a timezone-aware datetime"))
    for name in ("rows_read", "rows_written", "steps_committed"):
        value = getattr(run, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            out.append(FieldProblem(name, "must be a non-negative integer"))
    return out


def row_to_run(row: Any) -> RunRecord:
    """A ``historical_metadata`` row as a :class:`RunRecord`."""
    status = row.status if row.status in RUN_STATUSES else "failed"
    return RunRecord(
        run_id=row.run_id,
        table_id=row.table_id,
        table=row.table_name,
        strategy=row.strategy,
        engine=row.engine,
        status=cast(RunStatus, status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        rows_read=row.rows_read,
        rows_written=row.rows_written,
        watermark_before=_wm(row.watermark_before),
        watermark_after=_wm(row.watermark_after),
        steps_committed=row.steps_committed,
        note=row.note,
        error_class=row.error_class,
        error_message=row.error_message,
        orchestrator_run_id=row.orchestrator_run_id,
        delta_version=row.delta_version,
    )
