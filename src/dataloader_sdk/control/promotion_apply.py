"""Applying a promotion's tables in prod, and its audit rows in dataloader_test.

The helpers of :mod:`dataloader_sdk.control.promotion` that run inside its transactions:
locking the prod rows, the stale and running refusals, one table's watermark choice, and
the dataloader_test side of the audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from dataloader_sdk.control.audit import write_audit
from dataloader_sdk.control.config_diff import table_from_json
from dataloader_sdk.control.config_write import delete_table, put_table
from dataloader_sdk.control.promotion_plan import backfill_config
from dataloader_sdk.control.rows import record_to_json, row_to_table
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_history as H
from dataloader_sdk.errors import ChangeConflictError, StateError
from dataloader_sdk.model import JSONValue, TableRecord, TableState
from dataloader_sdk.model.changes import PromotionItem, PromotionRecord

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["apply_item", "lock_rows", "refuse_running", "refuse_stale", "snapshot",
           "write_test_audit"]


def lock_rows(conn: sa.Connection, names: list[str]) -> dict[str, Any]:
    query = sa.select(T).where(T.c.name.in_(names)).with_for_update()
    return {r.name: r for r in conn.execute(query)}


def refuse_stale(promotion_id: int, items: Iterable[PromotionItem], rows: Mapping[str, Any],
                  ) -> None:
    stale = []
    for item in items:
        now_version = rows[item.name].version if item.name in rows else None
        if now_version != item.prod_version:
            stale.append(f"{item.name} (version {item.prod_version} at the request, now "
                         f"{now_version})")
    if stale:
        raise ChangeConflictError(
            f"promotion {promotion_id} is stale: dataloader table(s) {', '.join(stale)} "
            "changed since it was requested; nothing was applied. Request it again "
            "(dataloader promote request)", [s.split(" ")[0] for s in stale])


def refuse_running(promotion_id: int, rows: Mapping[str, Any], doing: str) -> None:
    running = [f"{r.name} (lease owner {r.lease_owner!r} until {r.lease_expires_at})"
               for r in rows.values() if r.status == "running"]
    if running:
        raise StateError(
            f"promotion {promotion_id}: table(s) {', '.join(running)} are running in "
            f"dataloader; nothing was changed. {doing[0].upper() + doing[1:]} again after "
            "the run ends")


def snapshot(row: Any | None) -> JSONValue:
    return record_to_json(row_to_table(row)) if row is not None else None


def apply_item(
    conn: sa.Connection, item: PromotionItem, row: Any | None, host: PluginHost,
    *, actor: str, now: datetime, environment: str, change_set: str, promotion_id: int,
) -> TableRecord | None:
    extra = {"promotion": promotion_id, "watermark": item.choice.kind}
    if item.config is None:
        if row is not None:
            delete_table(conn, row, action="promote", actor=actor, now=now,
                         environment=environment, change_set=change_set, audit_extra=extra)
        return None
    cfg = table_from_json(item.name, item.config)
    state: TableState | None = None
    fresh = False
    if item.choice.kind == "reset":
        state, fresh = TableState(), True
    elif item.choice.kind == "backfill":
        cfg = backfill_config(cfg, item.choice)
        # Keep the incarnation and the step counter: the chunks append/merge into the
        # target prod already has (a new incarnation would replace it), and no earlier
        # commit is rolled forward over the new ledger.
        old = row_to_table(row).state if row is not None else TableState()
        state = TableState(txn_version=old.txn_version)
    return put_table(conn, cfg, row=row, state=state, fresh_incarnation=fresh,
                     action="promote", actor=actor, now=now, environment=environment,
                     change_set=change_set, audit_extra=extra)


def write_test_audit(
    conn: sa.Connection, record: PromotionRecord, actor: str, at: datetime, change_set: str,
    *, schema: str | None = None,
) -> None:
    """One ``promote`` row per table in dataloader_test (skipped if already written)."""
    if schema is not None:
        # Same PostgreSQL transaction as the prod change: point the statements at the
        # test schema on this connection, and back afterwards.
        previous = conn.get_execution_options().get("schema_translate_map")
        conn.execution_options(schema_translate_map={None: schema})
    try:
        done = conn.scalar(sa.select(sa.func.count()).select_from(H)
                           .where(H.c.change_set == change_set))
        if done:
            return
        for item in record.items:
            write_audit(conn, kind="table", entity=item.name, action="promote", actor=actor,
                        at=at, before=None,
                        after={"promotion": record.id, "promoted_to": "dataloader",
                               "kind": item.diff.kind, "watermark": item.choice.to_json(),
                               "config": dict(item.config) if item.config else None},
                        environment="dataloader_test", change_set=change_set)
    finally:
        if schema is not None:
            conn.execution_options(schema_translate_map=previous)

