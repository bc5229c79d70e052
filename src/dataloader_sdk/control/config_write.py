"""Writing many configs in one transaction: promotion and ``config apply`` share these.

Each helper runs on the caller's connection (one transaction for the whole change), writes
one audit row with the change's ``action`` and ``change_set`` id, and checks nothing the
caller has not planned: the callers validate every config first (:func:`config_problems`)
and check versions, so a change is refused as a whole before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dataloader_sdk.control._common import json_problem
from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.identity import new_incarnation
from dataloader_sdk.control.records import AuditAction
from dataloader_sdk.control.rows import (
    record_to_json,
    row_to_source,
    row_to_table,
    source_to_json,
    source_values,
    table_config_values,
)
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.errors import ChangeConflictError, DataLoaderError, FieldProblem
from dataloader_sdk.model import SourceConfig, TableConfig, TableRecord, TableState
from dataloader_sdk.model._credentials import credential_problems

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = [
    "config_problems",
    "delete_source",
    "delete_table",
    "put_source",
    "put_table",
    "source_config_problems",
]


def config_problems(cfg: TableConfig, host: PluginHost | None) -> list[FieldProblem]:
    """Every problem of a table config: its fields, no inline credential in its options,
    and its strategy's options (if a plugin host is given); the checks of
    ``DataLoader.add_table`` and of the bulk edit (``change_sets.table_problems``)."""
    problems = cfg.problems()
    if isinstance(cfg.strategy_options, Mapping):
        if (p := json_problem("strategy_options", cfg.strategy_options)) is not None:
            problems.append(p)
        # A secret must never reach the control DB or its audit history.
        problems.extend(credential_problems({"strategy_options": dict(cfg.strategy_options)}))
    if problems or host is None:
        return problems
    try:
        host.strategy(cfg.strategy).parse_options(cfg.strategy_options, table=cfg.name)
    except DataLoaderError as exc:
        found = getattr(exc, "problems", None)
        if found:
            problems.extend(FieldProblem(f"strategy_options.{p.field}", p.problem)
                            for p in found)
        else:
            problems.append(FieldProblem("strategy", str(exc)))
    return problems


def source_config_problems(cfg: SourceConfig, host: PluginHost | None) -> list[FieldProblem]:
    """Every problem of a source config (fields, inline credentials, the connector's)."""
    problems = cfg.problems()
    if isinstance(cfg.options, Mapping) and (p := json_problem("options", cfg.options)):
        problems.append(p)
    if problems or host is None:
        return problems
    try:
        problems.extend(host.connector(cfg.db_type).validate(cfg))
    except DataLoaderError as exc:
        problems.append(FieldProblem("db_type", str(exc)))
    return problems


def _table(conn: sa.Connection, name: str) -> TableRecord:
    return row_to_table(conn.execute(sa.select(T).where(T.c.name == name)).one())


def put_table(
    conn: sa.Connection,
    cfg: TableConfig,
    *,
    row: Any | None,
    state: TableState | None,
    fresh_incarnation: bool = False,
    incarnation: str | None = None,
    action: AuditAction,
    actor: str,
    now: datetime,
    environment: str,
    change_set: str,
    audit_extra: Mapping[str, Any] | None = None,
) -> TableRecord:
    """Insert ``cfg`` (``row`` is ``None``) or replace the config of ``row``; audited.

    Args:
        row: The current ``table_control`` row, read (and locked) by the caller.
        state: The state to store (``None``: keep the row's, or an empty one when new).
        fresh_incarnation: Give the table a new incarnation, so its next run ignores the
            Delta commits made before and replaces the target (a reset).
        incarnation: Restore this incarnation (a rollback to the row it replaced).
        audit_extra: Extra keys for the audit row's ``after`` (e.g. the promotion id).
    """
    values: dict[str, Any] = dict(table_config_values(cfg), updated_at=now)
    if state is not None:
        values["state"] = state.to_json()
    if fresh_incarnation:
        values.update(incarnation=new_incarnation(), retry_count=0)
    elif incarnation is not None:
        values["incarnation"] = incarnation
    before = None
    if row is None:
        values.setdefault("state", TableState().to_json())
        values.setdefault("incarnation", new_incarnation())
        conn.execute(sa.insert(T).values(
            **values, status="idle", retry_count=0, run_generation=0, version=1,
            created_at=now))
    else:
        before = record_to_json(row_to_table(row))
        # The version in the WHERE clause: a row changed since the caller read it fails
        # the whole change instead of being overwritten.
        result = conn.execute(sa.update(T)
                              .where(T.c.table_id == row.table_id, T.c.version == row.version)
                              .values(**values, version=row.version + 1))
        if result.rowcount != 1:
            raise ChangeConflictError(
                f"table {cfg.name!r} changed while the change was applied; nothing was "
                "written. Plan the change again", [cfg.name])
    record = _table(conn, cfg.name)
    write_audit(conn, kind="table", entity=cfg.name, action=action, actor=actor, at=now,
                before=before, after={**record_to_json(record), **(audit_extra or {})},
                environment=environment, change_set=change_set)
    return record


def delete_table(
    conn: sa.Connection, row: Any, *, action: AuditAction, actor: str, now: datetime,
    environment: str, change_set: str, audit_extra: Mapping[str, Any] | None = None,
) -> None:
    """Delete a table's control row (its run history stays); audited."""
    before = record_to_json(row_to_table(row))
    conn.execute(sa.delete(T).where(T.c.table_id == row.table_id))
    write_audit(conn, kind="table", entity=row.name, action=action, actor=actor, at=now,
                before=before, after=dict(audit_extra) if audit_extra else None,
                environment=environment, change_set=change_set)


def put_source(
    conn: sa.Connection, cfg: SourceConfig, *, row: Any | None, action: AuditAction,
    actor: str, now: datetime, environment: str, change_set: str,
) -> None:
    """Insert ``cfg`` or replace the source ``row``'s config (version bumped); audited."""
    if row is None:
        conn.execute(sa.insert(S).values(**source_values(cfg), created_at=now,
                                         updated_at=now, version=1))
        before, version = None, 1
    else:
        before = source_to_json(row_to_source(row), row.version)
        version = row.version + 1
        result = conn.execute(
            sa.update(S).where(S.c.source_id == row.source_id, S.c.version == row.version)
            .values(**source_values(cfg), updated_at=now, version=version))
        if result.rowcount != 1:
            raise ChangeConflictError(
                f"source {cfg.name!r} changed while the change was applied; nothing was "
                "written. Plan the change again", [cfg.name])
    write_audit(conn, kind="source", entity=cfg.name, action=action, actor=actor, at=now,
                before=before, after=source_to_json(cfg, version), environment=environment,
                change_set=change_set)


def delete_source(
    conn: sa.Connection, row: Any, *, action: AuditAction, actor: str, now: datetime,
    environment: str, change_set: str,
) -> None:
    """Delete a source row (the caller checked no table uses it); audited."""
    conn.execute(sa.delete(S).where(S.c.source_id == row.source_id))
    write_audit(conn, kind="source", entity=row.name, action=action, actor=actor, at=now,
                before=source_to_json(row_to_source(row), row.version), after=None,
                environment=environment, change_set=change_set)
