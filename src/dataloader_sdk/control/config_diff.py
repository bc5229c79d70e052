"""The semantic diff of table and source configs, with risk flags; pure (no database).

Shared by promotion (prod → ``dataloader_test``) and ``config plan`` (environment → file),
so both show the same changes and the same warnings. A diff compares the *configured*
fields only (what a user edits); status, state, schedule and versions are not config.
Nested options are compared key by key, so a change shows as
``strategy_options.watermark_column`` rather than as a whole new options object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from dataloader_sdk.model import (
    JSONValue,
    MaintenancePolicy,
    SourceConfig,
    TableConfig,
    TableRead,
    TableState,
    TargetName,
)
from dataloader_sdk.model.changes import DiffKind, RiskFlag, SourceConfigDiff, TableConfigDiff
from dataloader_sdk.model.maintenance import DELTA_DEFAULT_RETENTION_HOURS
from dataloader_sdk.model.operations import FieldChange, config_to_json, diff_json

__all__ = [
    "cursor_of",
    "diff_source",
    "diff_table",
    "field_changes",
    "source_json",
    "table_from_json",
    "table_json",
]

# Watermark types from wide to narrow within one family: moving right loses values.
_NARROWING = {("timestamptz", "timestamp"), ("timestamptz", "date"), ("timestamp", "date"),
              ("decimal", "int")}


def table_json(cfg: TableConfig) -> dict[str, JSONValue]:
    """A table's configured fields as JSON (the shape diffs and YAML files use): those of
    :func:`~dataloader_sdk.model.operations.config_to_json` but the name, which keys them."""
    return {k: v for k, v in config_to_json(cfg).items() if k != "name"}


def table_from_json(name: str, data: Mapping[str, JSONValue]) -> TableConfig:
    """Inverse of :func:`table_json` (the target is parsed: ``ValidationError`` if bad)."""
    options = data.get("strategy_options")
    return TableConfig(
        name=name,
        source=cast(str, data.get("source")),
        target=TargetName.parse(cast(str, data.get("target"))),
        source_table=cast("str | None", data.get("source_table")),
        source_schema=cast("str | None", data.get("source_schema")),
        source_query=cast("str | None", data.get("source_query")),
        strategy=cast(str, data.get("strategy", "full")),
        strategy_options=dict(options) if isinstance(options, dict) else {},
        interval_seconds=cast("int | None", data.get("interval_seconds")),
        priority=cast(int, data.get("priority", 100)),
        enabled=cast(bool, data.get("enabled", True)),
        freshness_sla_seconds=cast("int | None", data.get("freshness_sla_seconds")),
        read=TableRead.from_json(data.get("read")),
        maintenance=MaintenancePolicy.parse(data.get("maintenance"), table=name),
    )


def source_json(cfg: SourceConfig) -> dict[str, JSONValue]:
    """A source's configured fields as JSON; ``secret`` is a reference, never a value."""
    return {
        "db_type": cfg.db_type, "host": cfg.host, "port": cfg.port,
        "database": cfg.database, "username": cfg.username, "secret": cfg.secret,
        "options": dict(cfg.options), "enabled": cfg.enabled,
    }


def field_changes(
    old: Mapping[str, JSONValue] | None, new: Mapping[str, JSONValue] | None
) -> tuple[FieldChange, ...]:
    """Every leaf field that differs, by dotted path (the bulk edit's and audit's diff)."""
    return diff_json(old, new)


def _canon(value: JSONValue) -> str:
    if value == {} or value == []:
        value = None
    return json.dumps(value, sort_keys=True)


def cursor_of(cfg: TableConfig) -> JSONValue:
    """The column (or COALESCE list) the table's watermark is kept on; ``None``: no cursor.

    ``watermark_column`` (incremental, append_only, check_and_load), the steady strategy's
    (``then_options`` of chunked_backfill) or ``window_column`` (rolling).
    """
    options = cfg.strategy_options
    then = options.get("then_options")
    for value in (options.get("watermark_column"),
                  then.get("watermark_column") if isinstance(then, dict) else None,
                  options.get("window_column")):
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if value not in (None, "", []):
            return value
    return None


def _option(cfg: TableConfig, name: str) -> JSONValue:
    value = cfg.strategy_options.get(name)
    if value is None:
        then = cfg.strategy_options.get("then_options")
        value = then.get(name) if isinstance(then, dict) else None
    if isinstance(value, str) and name == "primary_keys":
        return [value]
    return value


def _flags(
    old: TableConfig, new: TableConfig, old_state: TableState | None,
    new_state: TableState | None,
) -> list[RiskFlag]:
    flags: list[RiskFlag] = []
    if old.strategy != new.strategy:
        flags.append(RiskFlag(
            "strategy", f"strategy changed from {old.strategy} to {new.strategy}: the next "
            f"run plans with {new.strategy} from the state {old.strategy} left; check that "
            "its watermark means the same, or reset"))
    old_keys, new_keys = _option(old, "primary_keys"), _option(new, "primary_keys")
    if _canon(old_keys) != _canon(new_keys):
        flags.append(RiskFlag(
            "primary_keys", f"primary keys changed from {old_keys} to {new_keys}: merges "
            "match rows on the new keys, so rows loaded under the old keys may stay as "
            "duplicates; reset to reload the target"))
    old_cursor, new_cursor = cursor_of(old), cursor_of(new)
    if old_cursor is not None and new_cursor is not None and (
        _canon(old_cursor) != _canon(new_cursor)
    ):
        flags.append(RiskFlag(
            "cursor", f"cursor column changed from {old_cursor} to {new_cursor}: the prod "
            "watermark no longer applies; choose reset or backfill", needs_choice=True))
    old_wm = old_state.watermark if old_state else None
    new_wm = new_state.watermark if new_state else None
    if old_wm is not None and new_wm is not None and old_wm.type != new_wm.type:
        narrowed = (old_wm.type, new_wm.type) in _NARROWING
        flags.append(RiskFlag(
            "cursor_type", f"cursor type {'narrowed' if narrowed else 'changed'} from "
            f"{old_wm.type} to {new_wm.type}: the prod watermark ({old_wm}) cannot be "
            "compared with the new cursor; choose reset or backfill", needs_choice=True))
    if old.target != new.target:
        flags.append(RiskFlag(
            "target", f"target changed from {old.target} to {new.target}: the new Delta "
            "table starts empty and the old one is no longer written; choose reset (reload "
            "everything) or backfill to fill it", needs_choice=True))
    soft_old = (_option(old, "delete_column"), _option(old, "delete_mode") or "delete")
    soft_new = (_option(new, "delete_column"), _option(new, "delete_mode") or "delete")
    if soft_old[0] is None and soft_new[0] is None:
        soft_old = soft_new
    if soft_old != soft_new:
        flags.append(RiskFlag(
            "soft_delete", f"soft-delete policy changed from {_soft(soft_old)} to "
            f"{_soft(soft_new)}: rows loaded before apply the old policy until they change "
            "again; reset to apply the new one to every row"))
    old_keep = old.maintenance.vacuum_retention_hours
    new_keep = new.maintenance.vacuum_retention_hours
    if (new.maintenance.allow_short_retention is True and isinstance(new_keep, int)
            and isinstance(old_keep, int) and new_keep < old_keep
            and new_keep < DELTA_DEFAULT_RETENTION_HOURS):
        flags.append(RiskFlag(
            "short_retention", f"vacuum retention lowered from {old_keep} to {new_keep} "
            f"hours, below Delta's default of {DELTA_DEFAULT_RETENTION_HOURS} "
            "(allow_short_retention): vacuum may delete files a reader of an older version "
            "or a concurrent writer still needs, and time travel to them stops working"))
    return flags


def _soft(policy: tuple[JSONValue, JSONValue]) -> str:
    column, mode = policy
    return "none" if column is None else f"{mode} on {column}"


def diff_table(
    name: str,
    old: TableConfig | None,
    new: TableConfig | None,
    *,
    old_state: TableState | None = None,
    new_state: TableState | None = None,
) -> TableConfigDiff:
    """The diff of one table from ``old`` (e.g. prod) to ``new`` (e.g. dataloader_test).

    Args:
        name: The table's name.
        old: The current config (``None``: the table is added).
        new: The wanted config (``None``: the table is removed).
        old_state: The old table's state (for the cursor-type check), if known.
        new_state: The new table's state (e.g. the test run's watermark), if known.
    """
    if old is None and new is None:
        raise ValueError(f"table {name!r}: nothing to compare")
    changes = field_changes(table_json(old) if old else None, table_json(new) if new else None)
    if old is None:
        return TableConfigDiff(name, "added", changes)
    if new is None:
        return TableConfigDiff(name, "removed", changes, (RiskFlag(
            "removed", f"table {name} is removed: its control row and state are deleted "
            "(its Delta table and run history stay)"),))
    if not changes and not _flags(old, new, old_state, new_state):
        return TableConfigDiff(name, "unchanged")
    return TableConfigDiff(name, "changed", changes, tuple(_flags(old, new, old_state, new_state)))


def diff_source(name: str, old: SourceConfig | None, new: SourceConfig | None) -> SourceConfigDiff:
    """The diff of one source (secrets compare as references, never values)."""
    changes = field_changes(source_json(old) if old else None,
                            source_json(new) if new else None)
    kind: DiffKind = ("added" if old is None else "removed" if new is None
                      else "changed" if changes else "unchanged")
    return SourceConfigDiff(name, kind, changes)
