"""Reading the audit history: filters, pages and field-level diffs.

:func:`query_audit` answers an :class:`AuditQuery` with one :class:`AuditPage`, newest
entry first. Every :class:`~dataloader_sdk.control.records.AuditEntry` carries its
field-level diff (``changes``) and the change-set id it belongs to. Snapshots hold what
the control tables hold, so secrets appear only as references (``secret_ref``): the
validators refuse an inline credential before anything (or its audit row) is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.control.audit import row_to_audit
from dataloader_sdk.control.records import AUDIT_ACTIONS, AuditAction, AuditEntry
from dataloader_sdk.control.schema import table_control_history as H
from dataloader_sdk.errors import FieldProblem, ValidationError

__all__ = ["MAX_PAGE_SIZE", "AuditPage", "AuditQuery", "query_audit"]

#: The largest page :func:`query_audit` returns.
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class AuditQuery:
    """Which audit entries to read; every filter given must match.

    Attributes:
        table: Entries of this table.
        source: Entries of this source and of every table whose before or after snapshot
            reads it.
        actor: Entries made by this actor (exact, e.g. ``cli:alice``).
        action: Entries with this action (``bulk``, ``update``, ...).
        change_set: Entries of one multi-table change.
        since: Entries at or after this time (timezone-aware).
        until: Entries before this time (timezone-aware).
        limit: Entries per page (1 to :data:`MAX_PAGE_SIZE`).
        page: The page to return, 1 for the newest entries.
    """

    table: str | None = None
    source: str | None = None
    actor: str | None = None
    action: AuditAction | None = None
    change_set: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    page: int = 1

    def problems(self) -> list[FieldProblem]:
        """Every bad field of the query."""
        out: list[FieldProblem] = []
        for name in ("limit", "page"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                out.append(FieldProblem(name, f"must be a positive integer, got {value!r}"))
        if isinstance(self.limit, int) and self.limit > MAX_PAGE_SIZE:
            out.append(FieldProblem("limit", f"must be at most {MAX_PAGE_SIZE}"))
        if self.action is not None and self.action not in AUDIT_ACTIONS:
            out.append(FieldProblem(
                "action", f"{self.action!r} is not one of {', '.join(AUDIT_ACTIONS)}"))
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None
                                      or value.utcoffset() is None):
                out.append(FieldProblem(name, "must be a timezone-aware datetime"))
        return out


@dataclass(frozen=True)
class AuditPage:
    """One page of audit entries, newest first.

    Attributes:
        entries: The entries of this page.
        page: This page's number (1 = newest).
        limit: The page size asked for.
        total: How many entries match the query across all pages.
    """

    entries: tuple[AuditEntry, ...]
    page: int
    limit: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the matching entries fill (at least 1)."""
        return max(1, -(-self.total // self.limit))

    @property
    def has_more(self) -> bool:
        """Whether older entries follow on the next page."""
        return self.page * self.limit < self.total


def _conditions(q: AuditQuery) -> list[Any]:
    where: list[Any] = []
    if q.table is not None:
        where += [H.c.entity_kind == "table", H.c.entity_name == q.table]
    if q.source is not None:
        # The snapshots are JSON; the source of a table is read from them, so a table
        # that moved to another source shows up under both.
        where.append(sa.or_(
            sa.and_(H.c.entity_kind == "source", H.c.entity_name == q.source),
            sa.and_(H.c.entity_kind == "table", sa.or_(
                H.c.before["source"].as_string() == q.source,
                H.c.after["source"].as_string() == q.source)),
        ))
    if q.actor is not None:
        where.append(H.c.actor == q.actor)
    if q.action is not None:
        where.append(H.c.action == q.action)
    if q.change_set is not None:
        where.append(H.c.change_set == q.change_set)
    if q.since is not None:
        where.append(H.c.at >= q.since)
    if q.until is not None:
        where.append(H.c.at < q.until)
    return where


def query_audit(conn: sa.Connection, query: AuditQuery) -> AuditPage:
    """One page of the entries matching ``query``, newest first.

    Raises:
        ValidationError: A bad limit, page, action or naive time (all listed).
    """
    if problems := query.problems():
        raise ValidationError("audit query", problems)
    where = _conditions(query)
    total = conn.scalar(sa.select(sa.func.count()).select_from(H).where(*where)) or 0
    rows = conn.execute(
        sa.select(H).where(*where).order_by(H.c.id.desc())
        .limit(query.limit).offset((query.page - 1) * query.limit))
    return AuditPage(entries=tuple(row_to_audit(r) for r in rows), page=query.page,
                     limit=query.limit, total=int(total))
