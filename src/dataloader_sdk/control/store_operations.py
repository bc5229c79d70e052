"""Control-plane operations of :class:`ControlStore`: bulk edits and the audit history.

Each method is one transaction whose work lives in its own module (``bulk``,
``audit_query``; multi-table writes go through ``change_sets``). Kept apart from
``store.py`` like ``store_orchestration.py``. Front ends (CLI, UI) call these, or the
``DataLoader`` methods of the same names, which add the strategy's option checks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar

import sqlalchemy as sa

from dataloader_sdk.control.audit_query import AuditPage, AuditQuery
from dataloader_sdk.control.change_sets import TableValidator
from dataloader_sdk.model.operations import (
    BulkEditPlan,
    BulkEditResult,
    TableChanges,
    TableSelection,
)

__all__ = ["OperationsOps"]

_T = TypeVar("_T")


class OperationsOps:
    """Bulk edit and audit operations of :class:`~dataloader_sdk.control.store.ControlStore`."""

    environment: str
    _clock: Callable[[], datetime]

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        raise NotImplementedError  # pragma: no cover - ControlStore provides it

    def plan_bulk_edit(
        self,
        selection: TableSelection,
        changes: TableChanges,
        *,
        action: Literal["bulk", "update"] = "bulk",
        validate: TableValidator | None = None,
    ) -> BulkEditPlan:
        """Select tables, apply ``changes`` in memory, validate; nothing is written.

        The plan holds each changed table's before/after config, field diff and version.
        Show it, then :meth:`apply_bulk_plan` it.

        Args:
            selection: Which tables (names and/or filters; an empty selection is refused).
            changes: What to set on each.
            action: The audit action the rows will get (``update`` for a single-table edit).
            validate: Extra checks per resulting config (``DataLoader`` passes the
                strategy's option parser).

        Raises:
            ValidationError: Malformed changes, or any resulting config invalid (a
                ``ChangeSetValidationError`` listing every table's problems).
            UnknownNameError: A named table does not exist.
            ConfigError: Nothing selected or nothing matches.
        """
        from dataloader_sdk.control import bulk
        return self._run(lambda c: bulk.plan_bulk_edit(
            c, selection, changes, action=action, validate=validate), "plan a bulk edit")

    def apply_bulk_plan(
        self, plan: BulkEditPlan, *, actor: str, validate: TableValidator | None = None
    ) -> BulkEditResult:
        """Write a plan in one transaction, audited as one change set.

        Raises:
            ChangeConflictError: A planned table was changed since the plan (all such
                tables named); nothing was written.
            ChangeSetValidationError: A config no longer validates; nothing was written.
        """
        from dataloader_sdk.control import bulk
        now = self._clock()
        return self._run(lambda c: bulk.apply_bulk_plan(
            c, plan, actor=actor, now=now, environment=self.environment, validate=validate),
            "apply a bulk edit")

    def bulk_update(
        self,
        selection: TableSelection,
        changes: TableChanges,
        *,
        actor: str,
        dry_run: bool = False,
        action: Literal["bulk", "update"] = "bulk",
        validate: TableValidator | None = None,
    ) -> BulkEditResult:
        """Plan and (unless ``dry_run``) apply a bulk edit; see :meth:`plan_bulk_edit`.

        Returns:
            The plan with its diffs; on a real run also the change-set id and the stored
            records.

        Raises:
            ChangeConflictError: A selected table changed between plan and apply.
            ValidationError, UnknownNameError, ConfigError: As :meth:`plan_bulk_edit`.
        """
        plan = self.plan_bulk_edit(selection, changes, action=action, validate=validate)
        if dry_run:
            return BulkEditResult(plan=plan, dry_run=True, change_set=None)
        return self.apply_bulk_plan(plan, actor=actor, validate=validate)

    def query_audit(self, query: AuditQuery | None = None) -> AuditPage:
        """One page of the audit history (newest first), filtered, with field diffs.

        Raises:
            ValidationError: A bad page, limit, action or naive time (all listed).
        """
        from dataloader_sdk.control import audit_query
        return self._run(lambda c: audit_query.query_audit(c, query or AuditQuery()),
                         "read the audit history")
