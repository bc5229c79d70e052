"""The ``--json`` documents of the listing commands, one builder per record kind.

The shapes are documented in docs/cli.md ("JSON output") and are a contract: fields are
only ever added. Numbers are JSON numbers, times ISO 8601 text in UTC, "not set" is
``null``, and a watermark is ``{"type": ..., "value": ...}`` (a decimal watermark's value
is text, so no digit is lost to a float).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.model import RunRecord, SourceConfig, TableRecord, Watermark
    from dataloader_sdk.plugins import PluginHost

__all__ = [
    "run_doc", "source_doc", "state_note", "status_doc", "table_detail_doc", "table_doc",
    "watermark_doc",
]


def watermark_doc(value: Watermark | None) -> dict[str, Any] | None:
    """``{"type", "value"}`` of a watermark, or ``None``."""
    from dataloader_sdk._cli.output import to_jsonable

    if value is None:
        return None
    return {"type": value.type, "value": to_jsonable(value.value)}


def run_doc(run: RunRecord) -> dict[str, Any]:
    """One run (a ``historical_metadata`` row)."""
    from dataloader_sdk._cli.output import to_jsonable

    return {
        "run_id": run.run_id,
        "table": run.table,
        "strategy": run.strategy,
        "engine": run.engine,
        "status": run.status,
        "started_at": to_jsonable(run.started_at),
        "finished_at": to_jsonable(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "rows_read": run.rows_read,
        "rows_written": run.rows_written,
        "watermark_before": watermark_doc(run.watermark_before),
        "watermark_after": watermark_doc(run.watermark_after),
        "steps_committed": run.steps_committed,
        "delta_version": run.delta_version,
        "note": run.note or None,
        "error_class": run.error_class,
        "error_message": run.error_message,
    }


def table_doc(rec: TableRecord) -> dict[str, Any]:
    """One configured table with its status and watermark (``tables list``)."""
    from dataloader_sdk._cli.output import to_jsonable

    cfg = rec.config
    return {
        "name": cfg.name,
        "table_id": rec.table_id,
        "source": cfg.source,
        "source_schema": cfg.source_schema,
        "source_table": cfg.source_table,
        "source_query": cfg.source_query,
        "target": str(cfg.target),
        "strategy": cfg.strategy,
        "options": to_jsonable(cfg.strategy_options),
        "interval_seconds": cfg.interval_seconds,
        "freshness_sla_seconds": cfg.freshness_sla_seconds,
        "priority": cfg.priority,
        "enabled": cfg.enabled,
        "status": rec.status,
        "watermark": watermark_doc(rec.state.watermark),
        **({"read": cfg.read.to_json()} if not cfg.read.is_default else {}),
        **({"maintenance": cfg.maintenance.to_json()} if not cfg.maintenance.is_default
           else {}),
        "last_run_at": to_jsonable(rec.last_run_at),
        "next_run_at": to_jsonable(rec.next_run_at),
    }


def table_detail_doc(rec: TableRecord, runs: list[RunRecord]) -> dict[str, Any]:
    """``tables show``: the table, its state and lease, and its recent runs."""
    from dataloader_sdk._cli.output import to_jsonable

    return {
        **table_doc(rec),
        "txn_version": rec.state.txn_version,
        "state_extra": to_jsonable(rec.state.extra),
        "retry_count": rec.retry_count,
        "lease_owner": rec.lease_owner,
        "lease_expires_at": to_jsonable(rec.lease_expires_at),
        "config_version": rec.version,
        "runs": [run_doc(r) for r in runs],
    }


def source_doc(src: SourceConfig) -> dict[str, Any]:
    """One source; the secret is its reference and option values are redacted."""
    from dataloader_sdk._cli.output import to_jsonable
    from dataloader_sdk.secrets import redact

    options = to_jsonable(src.options)
    # Redact the JSON text as a whole (URL passwords, secret-named keys), then parse it back;
    # redaction keeps JSON valid because it only replaces characters inside strings.
    try:
        options = json.loads(redact(json.dumps(options)))
    except ValueError:  # never expected; fail closed rather than print an unredacted value
        options = {key: "***" for key in src.options}
    return {
        "name": src.name,
        "db_type": src.db_type,
        "host": src.host,
        "port": src.port,
        "database": src.database,
        "username": src.username,
        "secret": src.secret,
        "options": options,
        "enabled": src.enabled,
    }


def state_note(host: PluginHost, rec: TableRecord) -> str | None:
    """The table's strategy's own line on its state (a backfill's progress), if any."""
    from dataloader_sdk.errors import DataLoaderError
    from dataloader_sdk.strategies.base import describe_state

    try:
        return describe_state(host.strategy(rec.config.strategy), rec.state)
    except DataLoaderError:  # an unknown or broken strategy plugin: status still lists it
        return None


def status_doc(store: ControlStore, host: PluginHost) -> dict[str, Any]:
    """``status``: every table with its last run, and the rows that cannot be read."""
    from dataloader_sdk._cli.output import to_jsonable

    tables = []
    for rec in store.list_tables():
        last = store.runs(table=rec.name, limit=1)
        tables.append({
            "name": rec.name,
            "strategy": rec.config.strategy,
            "status": rec.status,
            "enabled": rec.config.enabled,
            "watermark": watermark_doc(rec.state.watermark),
            "progress": state_note(host, rec),
            "last_run": run_doc(last[0]) if last else None,
            "last_run_at": to_jsonable(rec.last_run_at),
            "next_run_at": to_jsonable(rec.next_run_at),
        })
    broken = [{"name": b.name, "status": b.status, "problem": b.problem}
              for b in store.broken_tables()]
    return {"tables": tables, "broken": broken}
