"""The control database: sources, tables, schedules, leases, run history and audit.

Open a store with :meth:`ControlStore.open`; the schema is created and upgraded only by
the packaged Alembic migrations. See ``docs/control-database.md``.
"""

from __future__ import annotations

from dataloader_sdk.control.database import ENVIRONMENTS, Environment, resolve_environment
from dataloader_sdk.control.records import AUDIT_ACTIONS, AuditAction, AuditEntry, Claim, EntityKind
from dataloader_sdk.control.scheduling import RetryPolicy
from dataloader_sdk.control.status import TRANSITIONS, check_transition, is_allowed
from dataloader_sdk.control.store import ControlStore

__all__ = [
    "AUDIT_ACTIONS",
    "ENVIRONMENTS",
    "TRANSITIONS",
    "AuditAction",
    "AuditEntry",
    "Claim",
    "ControlStore",
    "EntityKind",
    "Environment",
    "RetryPolicy",
    "check_transition",
    "is_allowed",
    "resolve_environment",
]
