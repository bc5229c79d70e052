"""Bulk edit: change many tables' configs at once, all or nothing.

Two steps, each its own transaction, so a caller (CLI prompt, UI confirmation page) can
show the diff between them:

1. :func:`plan_bulk_edit` selects the tables, applies the changes in memory, validates
   every resulting config (all problems of all tables at once) and returns a
   :class:`~dataloader_sdk.model.operations.BulkEditPlan` with per-table before/after
   diffs and the versions they were computed from. A dry run stops here.
2. :func:`apply_bulk_plan` writes the plan through
   :func:`~dataloader_sdk.control.change_sets.apply_table_writes`: one transaction,
   optimistic locking on each table's version (a table edited since step 1 fails the
   whole edit with a ``ChangeConflictError`` naming it), one change-set id on every
   audit row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from dataloader_sdk.control.change_sets import (
    ChangeSetValidationError,
    TableValidator,
    TableWrite,
    apply_table_writes,
    new_change_set_id,
    table_problems,
)
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.tables import list_tables
from dataloader_sdk.errors import ConfigError, FieldProblem, UnknownNameError, ValidationError
from dataloader_sdk.model import TableRecord
from dataloader_sdk.model.operations import (
    BulkEditPlan,
    BulkEditResult,
    TableChanges,
    TableDiff,
    TableSelection,
    config_to_json,
    diff_json,
)

__all__ = ["apply_bulk_plan", "plan_bulk_edit", "select_tables"]


def select_tables(conn: sa.Connection, selection: TableSelection) -> list[TableRecord]:
    """The tables ``selection`` picks, by name.

    Raises:
        ConfigError: The selection is empty (nothing narrows it: use ``name=*`` to mean
            every table), or no table matches it.
        UnknownNameError: A name given explicitly does not exist (the known ones listed).
    """
    if selection.is_empty:
        raise ConfigError(
            "select the tables to edit by name or by a filter (source, strategy, status, "
            "target_schema, name glob, enabled); to edit every table use the glob name=*")
    records = list_tables(conn)
    known = {r.name for r in records}
    for name in selection.names:
        if name not in known:
            raise UnknownNameError("table", name, sorted(known),
                                   hint="nothing was changed; list them with `tables list`")
    chosen = [r for r in records if selection.matches(r)]
    if not chosen:
        raise ConfigError(
            f"no table matches the selection {selection.describe()}; nothing was changed "
            "(list the tables with `dataloader tables list`)")
    return chosen


def plan_bulk_edit(
    conn: sa.Connection,
    selection: TableSelection,
    changes: TableChanges,
    *,
    action: Literal["bulk", "update"] = "bulk",
    validate: TableValidator | None = None,
) -> BulkEditPlan:
    """Select, change in memory and validate; nothing is written.

    Raises:
        ValidationError: The changes themselves are malformed (unknown field, ...).
        ChangeSetValidationError: A resulting config is invalid; every problem of every
            table is listed.
        ConfigError, UnknownNameError: See :func:`select_tables`.
    """
    if problems := changes.problems():
        raise ValidationError("bulk edit changes (nothing was changed)", problems)
    chosen = select_tables(conn, selection)
    sources = set(conn.scalars(sa.select(S.c.name)))
    invalid: dict[str, list[FieldProblem]] = {}
    diffs: list[TableDiff] = []
    unchanged: list[str] = []
    for record in chosen:
        after, problems = changes.apply(record.config)
        if not problems:
            problems = table_problems(after, sources=sources, validate=validate)
        if problems:
            invalid[record.name] = problems
            continue
        diff = diff_json(config_to_json(record.config), config_to_json(after))
        if diff:
            diffs.append(TableDiff(record.name, record.version, record.config, after, diff))
        else:
            unchanged.append(record.name)
    if invalid:
        raise ChangeSetValidationError("bulk edit", invalid)
    return BulkEditPlan(selection=selection, changes=changes, action=action,
                        tables=tuple(diffs), unchanged=tuple(unchanged))


def apply_bulk_plan(
    conn: sa.Connection,
    plan: BulkEditPlan,
    *,
    actor: str,
    now: datetime,
    environment: str,
    validate: TableValidator | None = None,
) -> BulkEditResult:
    """Write ``plan`` in the caller's transaction (one change set; see the module doc).

    A plan that changes nothing writes nothing and gets no change-set id.

    Raises:
        ChangeConflictError: A planned table changed (or vanished) since the plan.
        ChangeSetValidationError: A config no longer validates (its source was removed).
    """
    if not plan.tables:
        return BulkEditResult(plan=plan, dry_run=False, change_set=None)
    change_set = new_change_set_id()
    records = apply_table_writes(
        conn, [TableWrite(d.table, d.after, d.version) for d in plan.tables],
        action=plan.action, actor=actor, now=now, environment=environment,
        change_set=change_set, validate=validate,
        what="bulk edit" if plan.action == "bulk" else "edit")
    return BulkEditResult(plan=plan, dry_run=False, change_set=change_set,
                          records=tuple(r for r in records if r is not None))
