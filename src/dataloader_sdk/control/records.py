"""Typed values the control store hands out besides the model's own (claims, audit rows)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from dataloader_sdk.model import JSONValue, RunRecord, TableRecord
from dataloader_sdk.model.operations import FieldChange

__all__ = ["AUDIT_ACTIONS", "AuditAction", "AuditEntry", "BrokenTable", "Claim", "EntityKind"]

EntityKind = Literal["source", "table", "audit"]
# ``bulk``: a bulk edit (control/bulk.py); ``promote``/``apply``: a promotion and a
# declarative config apply. The rows of each such change share one change-set id.
AuditAction = Literal[
    "create", "update", "delete", "bulk", "promote", "apply", "state_reset", "status",
    "purge",
]
AUDIT_ACTIONS: tuple[AuditAction, ...] = get_args(AuditAction)


@dataclass(frozen=True)
class Claim:
    """A worker's lease on one table: proof that it may run the table now.

    ``save_state`` and ``finish`` succeed only while the table's lease owner and run
    generation still match the claim, so a worker whose lease was taken over (expired,
    or failed by a monitor) cannot overwrite the newer run's state.

    Attributes:
        table: The table as it was when claimed (status ``running``).
        owner: The worker id that holds the lease.
        generation: The table's run generation for this claim (bumped by every claim).
        expires_at: When the lease expires (UTC); after it another worker may take over.
        run: The run's history row (status ``running``) when it was recorded in the
            claim's own transaction (``ControlStore.claim(..., run=...)``), else ``None``.
    """

    table: TableRecord
    owner: str
    generation: int
    expires_at: datetime
    run: RunRecord | None = None


@dataclass(frozen=True)
class BrokenTable:
    """A ``table_control`` row that cannot be read as a table (edited by hand).

    Attributes:
        name: The row's name.
        status: The row's status as stored.
        problem: What is wrong and how to fix it.
    """

    name: str
    status: str
    problem: str


@dataclass(frozen=True)
class AuditEntry:
    """One ``table_control_history`` row: who changed what, when, from what to what.

    Attributes:
        id: Monotonic row id (insertion order).
        entity_kind: ``source``, ``table`` or ``audit`` (a purge of leaked secrets).
        entity: The source or table name.
        action: What happened (``create``, ``update``, ``delete``, ``state_reset``, ...).
        actor: Who did it (user or process name).
        at: When (UTC).
        before: The entity's JSON before the change (``None`` on create).
        after: The entity's JSON after the change (``None`` on delete).
        environment: ``dataloader`` or ``dataloader_test``.
        change_set: The id shared by every row of one multi-table change (bulk edit,
            promotion, apply); ``None`` for single changes.
        changes: The field-level diff of ``before`` → ``after`` (nested objects such as
            ``strategy_options`` and ``state`` flattened to dotted paths).
    """

    id: int
    entity_kind: EntityKind
    entity: str
    action: AuditAction
    actor: str
    at: datetime
    before: Mapping[str, JSONValue] | None
    after: Mapping[str, JSONValue] | None
    environment: str
    change_set: str | None = None
    changes: tuple[FieldChange, ...] = ()
