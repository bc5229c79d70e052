"""Promotion of table configs from ``dataloader_test`` (pre-prod) to ``dataloader`` (prod).

The workflow: :meth:`Promotions.diff_environments` shows what differs and what is risky;
:meth:`~Promotions.request_promotion` records the diff, the watermark choices and each prod
table's version in ``promotions`` (prod); :meth:`~Promotions.approve_promotion`, by someone
other than the requester, applies every table in **one prod transaction** — refused as
stale when a prod table changed since the request, and refused while a table runs in
prod; :meth:`~Promotions.rollback_promotion` restores the prod rows it replaced.

Audit: every prod change is a ``promote`` row sharing the approval's change-set id; each
promoted table also gets a ``promote`` row in ``dataloader_test`` (same change set). On
PostgreSQL both environments are schemas of one database, so those rows are written in
the same transaction. On SQLite they are two files: the prod transaction commits first
(it is the record of truth: the promotion is ``applied`` with its change set), then the
test rows are written, then ``test_audited_at`` is stamped in prod. If the process dies in
between, the next call of any promotion operation writes the missing test rows (they are
recognised by the change set, so never twice).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from dataloader_sdk.control._common import check_actor
from dataloader_sdk.control.change_sets import (
    ChangeSetValidationError,
    TableWrite,
    new_change_set_id,
    target_clashes,
)
from dataloader_sdk.control.config_diff import table_from_json
from dataloader_sdk.control.config_write import delete_table, put_table
from dataloader_sdk.control.promotion_apply import (
    apply_item,
    lock_rows,
    refuse_running,
    refuse_stale,
    snapshot,
    write_test_audit,
)
from dataloader_sdk.control.promotion_plan import environment_diffs, plan_items, row_to_promotion
from dataloader_sdk.control.rows import row_to_table
from dataloader_sdk.control.schema import promotions as P
from dataloader_sdk.control.schema import table_control as T
from dataloader_sdk.control.schema import table_control_dbconfig as S
from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.errors import ChangeConflictError, ConfigError, DataLoaderError, StateError
from dataloader_sdk.model import JSONValue, TableRecord, TableState
from dataloader_sdk.model.changes import (
    PROMOTION_STATUSES,
    PromotionRecord,
    PromotionStatus,
    TableConfigDiff,
    WatermarkChoice,
)

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["Promotions"]

log = logging.getLogger(__name__)


class Promotions:
    """Promotion between the two environments of one control database.

    Args:
        test: The ``dataloader_test`` store (read).
        prod: The ``dataloader`` store (promotions are recorded and applied here).
        host: Plugin host whose strategies validate promoted options (default: the
            process-wide one).
    """

    def __init__(
        self, test: ControlStore, prod: ControlStore, *, host: PluginHost | None = None
    ) -> None:
        if test.environment != "dataloader_test" or prod.environment != "dataloader":
            raise ConfigError(
                "promotion goes from a dataloader_test store to a dataloader store; got "
                f"{test.environment} → {prod.environment}")
        self.test = test
        self.prod = prod
        self._host = host
        self._owned = False

    @classmethod
    def open(cls, url: str, *, host: PluginHost | None = None) -> Promotions:
        """Open (and migrate) both environments of the control database at ``url``."""
        test = ControlStore.open(url, "dataloader_test")
        try:
            prod = ControlStore.open(url, "dataloader")
        except BaseException:
            test.close()
            raise
        promotions = cls(test, prod, host=host)
        promotions._owned = True
        return promotions

    def close(self) -> None:
        """Close both stores if :meth:`open` opened them."""
        if self._owned:
            self.test.close()
            self.prod.close()

    def __enter__(self) -> Promotions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _plugin_host(self) -> PluginHost:
        if self._host is None:
            from dataloader_sdk.plugins import get_host

            self._host = get_host()
        return self._host

    def _now(self) -> datetime:
        return self.prod._clock()

    # ------------------------------------------------------------------ reading

    def diff_environments(self, tables: Iterable[str] | None = None) -> list[TableConfigDiff]:
        """The semantic diff dataloader → dataloader_test per table, with risk flags.

        Args:
            tables: Names to compare (default: every table of either environment).

        Returns:
            One diff per table, by name; ``kind`` is ``added`` (only in test),
            ``removed`` (only in prod), ``changed`` or ``unchanged``.
        """
        test = {t.name: t for t in self.test.list_tables()}
        prod = {t.name: t for t in self.prod.list_tables()}
        sources = [s.name for s in self.prod.list_sources()]
        return environment_diffs(test, prod, tables, sources)

    def list_promotions(
        self, status: PromotionStatus | None = None, limit: int = 50
    ) -> list[PromotionRecord]:
        """Promotions, newest first (optionally only those in ``status``)."""
        if status is not None and status not in PROMOTION_STATUSES:
            raise ConfigError(f"status must be one of {', '.join(PROMOTION_STATUSES)}")
        self._repair_test_audit()
        query = sa.select(P).order_by(P.c.promotion_id.desc()).limit(limit)
        if status is not None:
            query = query.where(P.c.status == status)
        return self.prod._run(lambda c: [row_to_promotion(r) for r in c.execute(query)],
                              "list promotions")

    def get_promotion(self, promotion_id: int) -> PromotionRecord:
        """One promotion. Raises :class:`ConfigError` if there is none with that id."""
        return row_to_promotion(self.prod._run(lambda c: _promotion_row(c, promotion_id)))

    # ------------------------------------------------------------------ workflow

    def request_promotion(
        self,
        tables: Iterable[str] | None = None,
        *,
        requester: str,
        choices: Mapping[str, WatermarkChoice] | None = None,
        prune: bool = False,
        note: str = "",
    ) -> PromotionRecord:
        """Record a request to promote tables (nothing in prod changes yet).

        Args:
            tables: Tables to promote (default: every added or changed one).
            requester: Who asks (may not approve it).
            choices: Watermark choice per table; default ``keep``, which is refused where
                a flag says the prod watermark no longer applies.
            prune: Also remove prod tables dataloader_test no longer has (a named removed
                table is removed without it).
            note: Free text recorded with the request.

        Raises:
            ValidationError: A refused watermark choice, a source prod lacks, an invalid
                config; every problem listed, nothing recorded.
            ConfigError: Unknown table names, or nothing to promote.
        """
        check_actor(requester)
        names = list(tables) if tables is not None else None
        test = {t.name: t for t in self.test.list_tables()}
        host = self._plugin_host()
        now = self._now()

        def request(conn: sa.Connection) -> PromotionRecord:
            # The prod side is read in the transaction that records the versions.
            prod = {t.name: t for t in _read_tables(conn)}
            sources = list(conn.scalars(sa.select(S.c.name)))
            diffs = environment_diffs(test, prod, names, sources)
            items = plan_items(diffs, test, prod, choices=choices or {},
                               explicit=names is not None, prune=prune, host=host)
            result = conn.execute(sa.insert(P).values(
                status="requested", items=[i.to_json() for i in items],
                requested_by=requester, requested_at=now, note=note))
            key = result.inserted_primary_key
            assert key is not None
            return row_to_promotion(_promotion_row(conn, int(key[0])))

        return self.prod._run(request, "record the promotion request")

    def approve_promotion(self, promotion_id: int, approver: str) -> PromotionRecord:
        """Apply a requested promotion in one prod transaction (audited in both envs).

        Raises:
            ConfigError: No such promotion, or ``approver`` is the requester.
            StateError: Not ``requested`` any more, or a table is running in prod.
            ChangeConflictError: Stale: prod tables changed since the request (named).
        """
        check_actor(approver)
        self._repair_test_audit()
        host = self._plugin_host()
        now = self._now()
        change_set = new_change_set_id()
        one_database = self._one_database()

        def approve(conn: sa.Connection) -> PromotionRecord:
            row = _promotion_row(conn, promotion_id, lock=True)
            record = row_to_promotion(row)
            if record.status != "requested":
                raise StateError(f"promotion {promotion_id} is {record.status}, not requested; "
                                 "only a requested promotion can be approved")
            if approver == record.requested_by:
                raise ConfigError(
                    f"promotion {promotion_id} was requested by {approver!r}, who cannot "
                    "approve it too; ask someone else to approve it")
            rows = lock_rows(conn, [i.name for i in record.items])
            refuse_stale(promotion_id, record.items, rows)
            refuse_running(promotion_id, rows, "approve it")
            sources = set(conn.scalars(sa.select(S.c.name)))
            missing = sorted({f"{i.name} (source {i.config.get('source')})" for i in record.items
                              if i.config is not None and i.config.get("source") not in sources})
            if missing:
                raise StateError(
                    f"promotion {promotion_id}: dataloader no longer has the source of "
                    f"table(s) {', '.join(missing)}; nothing was applied. Add the source "
                    "again, or request a new promotion")
            # Two prod tables may not share a target (a prod-only table may hold it).
            clashes = target_clashes(conn, [
                TableWrite(i.name, table_from_json(i.name, i.config) if i.config else None,
                           expected_version=i.prod_version) for i in record.items])
            if clashes:
                raise ChangeSetValidationError(f"promotion {promotion_id}", clashes)
            replaced: dict[str, JSONValue] = {}
            for item in record.items:
                before = rows.get(item.name)
                after = apply_item(conn, item, before, host, actor=approver, now=now,
                                    environment=self.prod.environment,
                                    change_set=change_set, promotion_id=promotion_id)
                replaced[item.name] = {"before": snapshot(before),
                                       "after_version": after.version if after else None}
            stamped = None
            if one_database:
                write_test_audit(conn, record, approver, now, change_set,
                                  schema=self.test._target.schema)
                stamped = now
            conn.execute(sa.update(P).where(P.c.promotion_id == promotion_id).values(
                status="applied", approved_by=approver, approved_at=now,
                change_set=change_set, replaced=replaced, test_audited_at=stamped))
            return row_to_promotion(_promotion_row(conn, promotion_id))

        result = self.prod._run(approve, f"approve promotion {promotion_id}")
        if not one_database:
            try:
                self._repair_test_audit()
            except DataLoaderError as exc:
                # The promotion is applied (prod committed); the next promotion call
                # writes the dataloader_test rows. Failing here would misreport it.
                log.warning("promotion %s applied; its dataloader_test audit rows are "
                            "written by the next promotion call: %s", promotion_id, exc)
        return result

    def rollback_promotion(self, promotion_id: int, actor: str) -> PromotionRecord:
        """Restore the prod rows an applied promotion replaced (audited, one transaction).

        Tables it added are removed, tables it changed or removed get their config, state
        and incarnation back.

        Raises:
            StateError: The promotion is not ``applied``, or a table is running in prod.
            ChangeConflictError: A prod table changed after the promotion (named).
        """
        check_actor(actor)
        now = self._now()
        change_set = new_change_set_id()

        def rollback(conn: sa.Connection) -> PromotionRecord:
            row = _promotion_row(conn, promotion_id, lock=True)
            if row.status != "applied":
                raise StateError(f"promotion {promotion_id} is {row.status}; only an applied "
                                 "promotion can be rolled back")
            replaced = cast(dict[str, dict[str, Any]], row.replaced or {})
            rows = lock_rows(conn, list(replaced))
            moved = [n for n, r in replaced.items()
                     if (rows[n].version if n in rows else None) != r.get("after_version")]
            if moved:
                raise ChangeConflictError(
                    f"cannot roll back promotion {promotion_id}: dataloader table(s) "
                    f"{', '.join(moved)} changed after it was applied; nothing was restored. "
                    "Restore them by hand (tables update) or promote again", moved)
            refuse_running(promotion_id, rows, "roll it back")
            extra = {"promotion": promotion_id, "rollback": True}
            for name, entry in replaced.items():
                before = entry.get("before")
                current = rows.get(name)
                if before is None:
                    if current is not None:
                        delete_table(conn, current, action="promote", actor=actor, now=now,
                                     environment=self.prod.environment,
                                     change_set=change_set, audit_extra=extra)
                    continue
                put_table(conn, table_from_json(name, before), row=current,
                          state=TableState.from_json(before.get("state")),
                          incarnation=cast(str, before.get("incarnation")),
                          action="promote", actor=actor, now=now,
                          environment=self.prod.environment, change_set=change_set,
                          audit_extra=extra)
            conn.execute(sa.update(P).where(P.c.promotion_id == promotion_id).values(
                status="rolled_back", rolled_back_by=actor, rolled_back_at=now))
            return row_to_promotion(_promotion_row(conn, promotion_id))

        return self.prod._run(rollback, f"roll back promotion {promotion_id}")

    # ------------------------------------------------------------------ test-side audit

    def _one_database(self) -> bool:
        a, b = self.test._target, self.prod._target
        return a.dialect == b.dialect == "postgresql" and (
            a.url.render_as_string(hide_password=True)
            == b.url.render_as_string(hide_password=True))

    def _repair_test_audit(self) -> None:
        """Write the dataloader_test audit rows of applied promotions that lack them."""
        pending = self.prod._run(lambda c: [row_to_promotion(r) for r in c.execute(
            sa.select(P).where(P.c.approved_at.is_not(None), P.c.test_audited_at.is_(None)))],
            "find promotions without dataloader_test audit rows")
        for record in pending:
            self._audit_test_side(record)

    def _audit_test_side(self, record: PromotionRecord) -> None:
        by, at, change_set = record.approved_by, record.approved_at, record.change_set
        assert by is not None and at is not None and change_set is not None
        self.test._run(lambda c: write_test_audit(c, record, by, at, change_set),
                       "write the dataloader_test audit rows of a promotion")
        now = self._now()
        self.prod._run(lambda c: c.execute(sa.update(P).where(
            P.c.promotion_id == record.id).values(test_audited_at=now)))


def _promotion_row(conn: sa.Connection, promotion_id: int, *, lock: bool = False) -> Any:
    query = sa.select(P).where(P.c.promotion_id == promotion_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise ConfigError(f"there is no promotion {promotion_id}; list them with "
                          "`dataloader promote list`")
    return row


def _read_tables(conn: sa.Connection) -> list[TableRecord]:
    return [row_to_table(r) for r in conn.execute(sa.select(T).order_by(T.c.name))]
