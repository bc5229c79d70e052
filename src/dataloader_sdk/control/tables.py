"""Tables to load (``table_control``): add, update, remove, read, reset state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor, json_problem
from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.history import cancel_open_runs
from dataloader_sdk.control.identity import new_incarnation
from dataloader_sdk.control.records import BrokenTable
from dataloader_sdk.control.rows import record_to_json, row_to_table, table_config_values
from dataloader_sdk.control.run_statements import row_by_name
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.sources import source_names
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.errors import (
    ConfigError,
    FieldProblem,
    StaleVersionError,
    StateError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.model import JSONValue, TableConfig, TableRecord, TableState, TargetName

__all__ = [
    "add_table",
    "apply_target_rules",
    "broken_tables",
    "check_table_config",
    "check_target",
    "get_table",
    "list_tables",
    "lower_target",
    "refuse_if_running",
    "remove_table",
    "reset_state",
    "table_names",
    "table_row",
    "unlock",
    "update_table",
]


def check_table_config(cfg: TableConfig) -> None:
    """Refuse an invalid table config, every bad field listed (nothing is written).

    Raises:
        ValidationError: The config's problems.
    """
    problems = cfg.problems()
    target: object = cfg.target  # typed, but callers may pass a string at runtime
    if not isinstance(target, TargetName):
        problems.append(FieldProblem("target", "must be a TargetName (use TargetName.parse)"))
    if isinstance(cfg.strategy_options, Mapping) and (
        p := json_problem("strategy_options", cfg.strategy_options)
    ):
        problems.append(p)
    if problems:
        raise ValidationError(f"table {cfg.name!r}", problems)


def _validate(conn: sa.Connection, cfg: TableConfig) -> None:
    check_table_config(cfg)
    if conn.execute(sa.select(S.c.source_id).where(S.c.name == cfg.source)).first() is None:
        raise UnknownNameError(
            "source", cfg.source, source_names(conn),
            hint=f"table {cfg.name!r} needs it: add the source first (add_source) "
            "or fix the table's source",
        )


def lower_target(target: TargetName) -> TargetName:
    """``target`` in lower case, as Unity Catalog stores names."""
    return TargetName(schema=target.schema.lower(), table=target.table.lower(),
                      catalog=target.catalog.lower() if target.catalog else None)


def apply_target_rules(conn: sa.Connection, cfg: TableConfig, stored: str | None) -> TableConfig:
    """Lower-case a new target and refuse one another table already loads into.

    Unity Catalog folds names to lower case, so ``Bronze.Orders`` and ``bronze.orders``
    are one table there: a target is stored in lower case, and two tables whose targets
    differ only in case are one target. A target stored before this rule in mixed case
    is kept as it is while an update leaves it unchanged (changing its case would move
    a local table's directory).

    Raises:
        ConfigError: another table has the same target (named, with what to do).
    """
    others = conn.execute(sa.select(T.c.name, T.c.target).where(T.c.name != cfg.name)
                          .order_by(T.c.name))
    return check_target(cfg, stored, [(name, str(other)) for name, other in others])


def check_target(
    cfg: TableConfig, stored: str | None, others: Iterable[tuple[str, str]]
) -> TableConfig:
    """:func:`apply_target_rules` given the other tables' ``(name, target)``, by name."""
    target = cfg.target
    if str(target) != stored:
        target = lower_target(target)
        cfg = replace(cfg, target=target)
    wanted = str(target).lower()
    clash = [name for name, other in others if name != cfg.name and other.lower() == wanted]
    if clash:
        raise ConfigError(
            f"table {cfg.name!r}: target {target} is already the target of table "
            f"{clash[0]!r}; two tables may not load into one Delta table (one would "
            "overwrite the other's rows). Choose another target, or change or remove "
            f"table {clash[0]!r} first"
        )
    return cfg


def table_names(conn: sa.Connection) -> list[str]:
    """Every table name, sorted."""
    return list(conn.scalars(sa.select(T.c.name).order_by(T.c.name)))


def table_row(conn: sa.Connection, name: str, *, lock: bool = False) -> Any:
    """The raw ``table_control`` row of ``name`` (optionally ``FOR UPDATE``).

    Raises:
        UnknownNameError: No such table; the message lists the known names.
    """
    row = conn.execute(row_by_name(lock=lock), {"where_name": name}).one_or_none()
    if row is None:
        raise UnknownNameError("table", name, table_names(conn),
                               hint="list them with list_tables()")
    return row


def add_table(
    conn: sa.Connection, cfg: TableConfig, *, actor: str, now: datetime, environment: str
) -> TableRecord:
    """Insert a new table (status ``idle``, empty state) and audit it."""
    check_actor(actor)
    _validate(conn, cfg)
    if conn.execute(sa.select(T.c.table_id).where(T.c.name == cfg.name)).first() is not None:
        raise ConfigError(
            f"table {cfg.name!r} already exists in {environment}; "
            "use update_table to change it, or choose another name"
        )
    cfg = apply_target_rules(conn, cfg, None)
    conn.execute(
        sa.insert(T).values(
            **table_config_values(cfg),
            status="idle",
            state=TableState().to_json(),
            retry_count=0,
            run_generation=0,
            version=1,
            incarnation=new_incarnation(),
            created_at=now,
            updated_at=now,
        )
    )
    record = row_to_table(table_row(conn, cfg.name))
    write_audit(conn, kind="table", entity=cfg.name, action="create", actor=actor, at=now,
                before=None, after=record_to_json(record), environment=environment)
    return record


def update_table(
    conn: sa.Connection,
    cfg: TableConfig,
    *,
    expected_version: int,
    actor: str,
    now: datetime,
    environment: str,
) -> TableRecord:
    """Replace a table's config if ``expected_version`` is current; bump version, audit."""
    check_actor(actor)
    _validate(conn, cfg)
    row = table_row(conn, cfg.name, lock=True)
    cfg = apply_target_rules(conn, cfg, row.target)
    if row.version != expected_version:
        raise StaleVersionError(
            f"table {cfg.name!r} was changed by someone else: you edited version "
            f"{expected_version}, the current version is {row.version}; reload it "
            "(get_table) and apply your change again"
        )
    before = row_to_table(row)
    # The version in the WHERE clause makes the check and the write one atomic step
    # even on a backend without row locks.
    result = conn.execute(
        sa.update(T)
        .where(T.c.table_id == row.table_id, T.c.version == expected_version)
        .values(**table_config_values(cfg), version=expected_version + 1, updated_at=now)
    )
    if result.rowcount != 1:
        raise StaleVersionError(
            f"table {cfg.name!r} changed while it was being updated; reload it and retry"
        )
    after = row_to_table(table_row(conn, cfg.name))
    write_audit(conn, kind="table", entity=cfg.name, action="update", actor=actor, at=now,
                before=record_to_json(before), after=record_to_json(after),
                environment=environment)
    return after


def refuse_if_running(row: Any, doing: str) -> None:
    """Refuse ``doing`` to a running table (:class:`StateError` naming its lease)."""
    if row.status == "running":
        raise StateError(
            f"cannot {doing} table {row.name!r} while it is running (lease owner "
            f"{row.lease_owner!r} until {row.lease_expires_at}); wait for the run to finish, "
            f"or, if that process is gone, release its lease with `dataloader tables unlock "
            f"{row.name}` (ControlStore.unlock) first"
        )


def remove_table(
    conn: sa.Connection, name: str, *, actor: str, now: datetime, environment: str
) -> None:
    """Delete a table's control row (its run history stays) and audit it."""
    check_actor(actor)
    row = table_row(conn, name, lock=True)
    refuse_if_running(row, "remove")
    before = row_to_table(row)
    conn.execute(sa.delete(T).where(T.c.table_id == row.table_id))
    write_audit(conn, kind="table", entity=name, action="delete", actor=actor, at=now,
                before=record_to_json(before), after=None, environment=environment)


def reset_state(
    conn: sa.Connection, name: str, *, actor: str, now: datetime, environment: str
) -> TableRecord:
    """Put a table's state back to ``TableState()`` (next run starts over) and audit it.

    The table gets a new incarnation, so the next run ignores the Delta commits it made
    before; its first step replaces whatever the target holds (never merges into it).
    """
    check_actor(actor)
    row = table_row(conn, name, lock=True)
    refuse_if_running(row, "reset the state of")
    before = row_to_table(row)
    conn.execute(
        sa.update(T).where(T.c.table_id == row.table_id)
        .values(state=TableState().to_json(), incarnation=new_incarnation(), retry_count=0,
                updated_at=now)
    )
    after = row_to_table(table_row(conn, name))
    write_audit(conn, kind="table", entity=name, action="state_reset", actor=actor, at=now,
                before=record_to_json(before), after=record_to_json(after),
                environment=environment)
    return after


def unlock(
    conn: sa.Connection, name: str, *, actor: str, reason: str, now: datetime,
    environment: str,
) -> TableRecord:
    """Release a running table's lease by hand: status ``cancelled``, audited.

    For a lease whose process is gone on another host (a lease of a dead process on the
    same host is taken over by the next claim by itself). The run that held it, if it
    still runs, can no longer renew, save state or finish: it stops before its commit.

    Raises:
        StateError: The table is not running (nothing to unlock); nothing changes.
    """
    check_actor(actor)
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"give a reason for unlocking table {name!r}")
    row = table_row(conn, name, lock=True)
    if row.status != "running":
        raise StateError(
            f"table {name!r} is not running (status {row.status!r}, no lease); "
            "there is nothing to unlock"
        )
    final = check_transition(name, row.status, "cancelled")
    result = conn.execute(
        sa.update(T)
        .where(T.c.table_id == row.table_id, T.c.status == row.status,
               T.c.run_generation == row.run_generation)
        .values(status=final, lease_owner=None, lease_expires_at=None, updated_at=now)
    )
    if result.rowcount != 1:  # pragma: no cover - the row is locked (or SQLite is serial)
        raise StateError(f"table {name!r} changed while it was being unlocked; try again")
    cancel_open_runs(conn, row.table_id, now=now,
                     message=f"the lease of {row.lease_owner!r} was released by {actor!r} "
                     f"(tables unlock): {reason}")
    before: dict[str, JSONValue] = {
        "status": row.status, "lease_owner": row.lease_owner,
        "lease_expires_at": row.lease_expires_at.isoformat()
        if row.lease_expires_at is not None else None,
    }
    after: dict[str, JSONValue] = {"status": final, "reason": f"unlock: {reason}"}
    write_audit(conn, kind="table", entity=name, action="status", actor=actor, at=now,
                before=before, after=after, environment=environment)
    return row_to_table(table_row(conn, name))


def get_table(conn: sa.Connection, name: str) -> TableRecord:
    """One table by name; :class:`UnknownNameError` lists the known names."""
    return row_to_table(table_row(conn, name))


#: Names per ``IN (...)`` of :func:`get_tables` (well under every backend's bind limit).
_NAMES_PER_QUERY = 500


def get_tables(conn: sa.Connection, names: Sequence[str]) -> list[TableRecord]:
    """The tables ``names``, in that order, read ``_NAMES_PER_QUERY`` at a time (a batch
    of 200 tables is one query, not 200); the first name that is not a table raises
    :class:`UnknownNameError` as :func:`get_table` does."""
    rows: dict[str, Any] = {}
    for start in range(0, len(names), _NAMES_PER_QUERY):
        chunk = list(names[start:start + _NAMES_PER_QUERY])
        rows.update((row.name, row) for row in conn.execute(sa.select(T).where(T.c.name.in_(chunk))))
    return [row_to_table(rows[name] if name in rows else table_row(conn, name))
            for name in names]


def list_tables(conn: sa.Connection) -> list[TableRecord]:
    """Every readable table, by name (see :func:`broken_tables` for the others)."""
    return [t for t in _read_all(conn) if isinstance(t, TableRecord)]


def broken_tables(conn: sa.Connection) -> list[BrokenTable]:
    """Rows that cannot be read as tables, with the reason, by name."""
    return [t for t in _read_all(conn) if isinstance(t, BrokenTable)]


def _read_all(conn: sa.Connection) -> list[TableRecord | BrokenTable]:
    out: list[TableRecord | BrokenTable] = []
    for row in conn.execute(sa.select(T).order_by(T.c.name)):
        try:
            out.append(row_to_table(row))
        except ConfigError as exc:
            out.append(BrokenTable(name=row.name, status=row.status, problem=str(exc)))
    return out
