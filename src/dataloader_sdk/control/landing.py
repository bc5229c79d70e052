"""What the control DB knows about freshness: each scheduled table's last success.

One query: the enabled tables that have an interval or a freshness SLA, outer-joined with
the end of their newest succeeded or skipped run (a skip is a successful check that the
source is unchanged, so the target is as fresh as the check).
"""

from __future__ import annotations

import sqlalchemy as sa

from dataloader_sdk.control.findings import LandingRow
from dataloader_sdk.control.schema import historical_metadata as HM
from dataloader_sdk.control.schema import table_control as T

__all__ = ["landing_rows"]


def landing_rows(conn: sa.Connection) -> list[LandingRow]:
    """Every enabled table with an interval or an SLA, by name, with its last success."""
    last = (
        sa.select(HM.c.table_id, sa.func.max(HM.c.finished_at).label("last_success_at"))
        .where(HM.c.status.in_(("succeeded", "skipped")))
        .group_by(HM.c.table_id)
        .subquery()
    )
    query = (
        sa.select(T.c.name, T.c.target, T.c.interval_seconds, T.c.freshness_sla_seconds,
                  T.c.created_at, last.c.last_success_at)
        .select_from(T.outerjoin(last, last.c.table_id == T.c.table_id))
        .where(T.c.enabled.is_(True),
               sa.or_(T.c.interval_seconds.is_not(None),
                      T.c.freshness_sla_seconds.is_not(None)))
        .order_by(T.c.name)
    )
    return [
        LandingRow(name=r.name, target=r.target, interval_seconds=r.interval_seconds,
                   freshness_sla_seconds=r.freshness_sla_seconds, created_at=r.created_at,
                   # max() keeps its argument's type, so this is an aware UTC datetime.
                   last_success_at=r.last_success_at)
        for r in conn.execute(query)
    ]

