"""The append-only audit log (``table_control_history``): write one entry, read entries.

Entries are written inside the same transaction as the change they describe, so a change
without its audit row (or the reverse) cannot exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from dataloader_sdk.control.records import AuditAction, AuditEntry, EntityKind
from dataloader_sdk.control.schema import table_control_history as H
from dataloader_sdk.model import JSONValue

__all__ = ["read_audit", "write_audit"]


def write_audit(
    conn: sa.Connection,
    *,
    kind: EntityKind,
    entity: str,
    action: AuditAction,
    actor: str,
    at: datetime,
    before: Mapping[str, JSONValue] | None,
    after: Mapping[str, JSONValue] | None,
    environment: str,
) -> None:
    """Append one audit entry on ``conn`` (in the caller's transaction)."""
    conn.execute(
        sa.insert(H).values(
            entity_kind=kind,
            entity_name=entity,
            action=action,
            actor=actor,
            at=at,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
            environment=environment,
        )
    )


def read_audit(conn: sa.Connection, entity: str | None, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` audit entries, optionally only for one entity name."""
    query = sa.select(H).order_by(H.c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(H.c.entity_name == entity)
    return [
        AuditEntry(
            id=row.id,
            entity_kind=cast(EntityKind, row.entity_kind),
            entity=row.entity_name,
            action=cast(AuditAction, row.action),
            actor=row.actor,
            at=row.at,
            before=cast("Mapping[str, JSONValue] | None", row.before),
            after=cast("Mapping[str, JSONValue] | None", row.after),
            environment=row.environment,
        )
        for row in conn.execute(query)
    ]
