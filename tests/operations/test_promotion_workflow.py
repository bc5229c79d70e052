"""Promotion dataloader_test → dataloader on SQLite and the test PostgreSQL: each watermark
choice, self-approval, stale and running refusals, audit in both environments, rollback."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.promotion import Promotions
from dataloader_sdk.errors import ChangeConflictError, ConfigError, StateError, ValidationError
from dataloader_sdk.model import TableState, Watermark
from dataloader_sdk.model.changes import WatermarkChoice
from tests.operations.control_envs import ControlEnvs, envs, incremental

__all__ = ["envs"]

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def _run_once(store: ControlStore, name: str, watermark: int, txn: int) -> None:
    """Leave ``name`` with a committed state, the way a run does (claim, save, finish)."""
    claim = store.claim(name, owner="w1", lease_seconds=60, now=T0)
    store.save_state(claim, TableState(watermark=Watermark.of(watermark), txn_version=txn))
    store.finish(claim, status="succeeded", now=T0)


def _same_in_both(envs: ControlEnvs, name: str, **kw: object) -> None:
    for store in (envs.test, envs.prod):
        store.add_table(incremental(name, **kw), actor="setup")  # type: ignore[arg-type]


def _edit_test(envs: ControlEnvs, name: str, **changes: object) -> None:
    record = envs.test.get_table(name)
    envs.test.update_table(replace(record.config, **changes),  # type: ignore[arg-type]
                           expected_version=record.version, actor="dev")


def test_keep_is_default_and_keeps_prod_state(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _run_once(envs.prod, "orders", 500, 7)
    _edit_test(envs, "orders", priority=5)
    with Promotions(envs.test, envs.prod) as promotions:
        diffs = {d.name: d for d in promotions.diff_environments()}
        assert diffs["orders"].kind == "changed"
        assert [(c.field, c.before, c.after) for c in diffs["orders"].changes] == [
            ("priority", 100, 5)]
        incarnation = envs.table_row("dataloader", "orders")["incarnation"]  # type: ignore[index]
        request = promotions.request_promotion(requester="alice")
        assert request.status == "requested" and request.tables == ("orders",)
        assert request.items[0].choice.kind == "keep"
        applied = promotions.approve_promotion(request.id, "bob")
    assert applied.status == "applied" and applied.approved_by == "bob"
    row = envs.table_row("dataloader", "orders")
    assert row is not None
    assert row["priority"] == 5
    assert row["state"]["watermark"] == {"type": "int", "value": "500"}
    assert row["state"]["txn_version"] == 7
    assert row["incarnation"] == incarnation
    prod_audit = envs.audit("dataloader", "promote")
    test_audit = envs.audit("dataloader_test", "promote")
    assert [(r["entity_name"], r["actor"]) for r in prod_audit] == [("orders", "bob")]
    assert [(r["entity_name"], r["actor"]) for r in test_audit] == [("orders", "bob")]
    assert prod_audit[0]["change_set"] == test_audit[0]["change_set"] == applied.change_set
    assert test_audit[0]["environment"] == "dataloader_test"


def test_cursor_change_needs_reset_or_backfill_and_reset_starts_over(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _run_once(envs.prod, "orders", 500, 7)
    old_incarnation = envs.table_row("dataloader", "orders")["incarnation"]  # type: ignore[index]
    _edit_test(envs, "orders", strategy_options={"watermark_column": "modified_at",
                                                 "primary_keys": ["id"]})
    with Promotions(envs.test, envs.prod) as promotions:
        [diff] = promotions.diff_environments(["orders"])
        assert [f.code for f in diff.flags] == ["cursor"]
        assert "the prod watermark no longer applies; choose reset or backfill" in (
            diff.flags[0].message)
        with pytest.raises(ValidationError, match="cursor column changed from updated_at "
                           "to modified_at"):
            promotions.request_promotion(requester="alice")
        assert promotions.list_promotions() == []
        request = promotions.request_promotion(
            ["orders"], requester="alice", choices={"orders": WatermarkChoice("reset")})
        promotions.approve_promotion(request.id, "bob")
    row = envs.table_row("dataloader", "orders")
    assert row is not None
    assert row["strategy_options"]["watermark_column"] == "modified_at"
    assert row["state"] == {"watermark": None, "txn_version": 0, "extra": {}}
    assert row["incarnation"] != old_incarnation


def test_backfill_choice_wraps_the_strategy_in_a_chunked_backfill(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _run_once(envs.prod, "orders", 500, 7)
    incarnation = envs.table_row("dataloader", "orders")["incarnation"]  # type: ignore[index]
    _edit_test(envs, "orders", strategy_options={"watermark_column": "seq",
                                                 "primary_keys": ["id"]})
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice", choices={
            "orders": WatermarkChoice.parse("backfill:1000:250")})
        promotions.approve_promotion(request.id, "bob")
    row = envs.table_row("dataloader", "orders")
    assert row is not None
    assert row["strategy"] == "chunked_backfill"
    assert row["strategy_options"] == {
        "chunk_column": "seq", "chunk_size": 250, "start": 1000, "primary_keys": ["id"],
        "then": "incremental",
        "then_options": {"watermark_column": "seq", "primary_keys": ["id"]}}
    # The ledger starts empty; the step counter and incarnation stay, so the chunks go
    # into prod's target instead of replacing it.
    assert row["state"] == {"watermark": None, "txn_version": 7, "extra": {}}
    assert row["incarnation"] == incarnation


def test_backfill_refused_without_a_single_cursor(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _edit_test(envs, "orders", strategy_options={"watermark_column": ["a", "b"],
                                                 "primary_keys": ["id"]})
    with Promotions(envs.test, envs.prod) as promotions, pytest.raises(
            ValidationError, match="needs one cursor column"):
        promotions.request_promotion(requester="alice", choices={
            "orders": WatermarkChoice("backfill", 1, 10)})


def test_self_approval_refused(envs: ControlEnvs) -> None:
    envs.test.add_table(incremental("new_table"), actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        with pytest.raises(ConfigError, match="cannot approve it too"):
            promotions.approve_promotion(request.id, "alice")
        assert promotions.get_promotion(request.id).status == "requested"
    assert envs.table_row("dataloader", "new_table") is None
    assert envs.audit("dataloader", "promote") == []


def test_stale_promotion_refused_and_nothing_applied(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _same_in_both(envs, "items")
    _edit_test(envs, "orders", priority=1)
    _edit_test(envs, "items", priority=2)
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        record = envs.prod.get_table("items")
        envs.prod.update_table(replace(record.config, interval_seconds=60),
                               expected_version=record.version, actor="oncall")
        with pytest.raises(ChangeConflictError, match="is stale") as err:
            promotions.approve_promotion(request.id, "bob")
        assert err.value.tables == ("items",)
        assert promotions.get_promotion(request.id).status == "requested"
    assert envs.table_row("dataloader", "orders")["priority"] == 100  # type: ignore[index]
    assert envs.audit("dataloader", "promote") == []


def test_running_table_refused_until_its_run_ends(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _edit_test(envs, "orders", priority=3)
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        claim = envs.prod.claim("orders", owner="worker-9", lease_seconds=60, now=T0)
        with pytest.raises(StateError, match=r"orders .*worker-9.* are running in dataloader"):
            promotions.approve_promotion(request.id, "bob")
        assert envs.table_row("dataloader", "orders")["priority"] == 100  # type: ignore[index]
        envs.prod.finish(claim, status="succeeded", now=T0)
        # Finishing bumps no config version, so the request is not stale.
        promotions.approve_promotion(request.id, "bob")
    assert envs.table_row("dataloader", "orders")["priority"] == 3  # type: ignore[index]


def test_rollback_restores_replaced_rows_and_removes_added_ones(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _run_once(envs.prod, "orders", 500, 7)
    before = envs.table_row("dataloader", "orders")
    assert before is not None
    _edit_test(envs, "orders", strategy_options={"watermark_column": "modified_at",
                                                 "primary_keys": ["id"]})
    envs.test.add_table(incremental("brand_new"), actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(
            requester="alice", choices={"orders": WatermarkChoice("reset")})
        promotions.approve_promotion(request.id, "bob")
        assert envs.table_row("dataloader", "brand_new") is not None
        done = promotions.rollback_promotion(request.id, "carol")
        assert done.status == "rolled_back" and done.rolled_back_by == "carol"
        with pytest.raises(StateError, match="only an applied promotion"):
            promotions.rollback_promotion(request.id, "carol")
    after = envs.table_row("dataloader", "orders")
    assert after is not None
    for key in ("strategy_options", "state", "incarnation", "target", "priority"):
        assert after[key] == before[key], key
    assert envs.table_row("dataloader", "brand_new") is None
    rows = envs.audit("dataloader", "promote")
    assert sorted((r["entity_name"], r["actor"]) for r in rows) == [
        ("brand_new", "bob"), ("brand_new", "carol"), ("orders", "bob"), ("orders", "carol")]
    assert len({r["change_set"] for r in rows}) == 2


def test_rollback_refused_after_prod_changed(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    _edit_test(envs, "orders", priority=4)
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        promotions.approve_promotion(request.id, "bob")
        record = envs.prod.get_table("orders")
        envs.prod.update_table(replace(record.config, priority=9),
                               expected_version=record.version, actor="oncall")
        with pytest.raises(ChangeConflictError, match="changed after it was applied"):
            promotions.rollback_promotion(request.id, "carol")
    assert envs.table_row("dataloader", "orders")["priority"] == 9  # type: ignore[index]


def test_removed_tables_only_with_prune_and_missing_source_blocks(envs: ControlEnvs) -> None:
    _same_in_both(envs, "orders")
    envs.prod.add_table(incremental("old_one"), actor="setup")
    _edit_test(envs, "orders", priority=4)
    with Promotions(envs.test, envs.prod) as promotions:
        kinds = {d.name: d.kind for d in promotions.diff_environments()}
        assert kinds == {"orders": "changed", "old_one": "removed"}
        assert promotions.request_promotion(requester="a").tables == ("orders",)
        pruned = promotions.request_promotion(requester="a", prune=True)
        assert pruned.tables == ("old_one", "orders")
        promotions.approve_promotion(pruned.id, "b")
    assert envs.table_row("dataloader", "old_one") is None
    from dataloader_sdk.model import SourceConfig

    envs.test.add_source(SourceConfig("only_test", "sqlite", database="x.db"), actor="dev")
    envs.test.add_table(replace(incremental("t2"), source="only_test"), actor="dev")
    with Promotions(envs.test, envs.prod) as promotions, pytest.raises(
            ValidationError, match="source only_test does not exist in dataloader"):
        promotions.request_promotion(["t2"], requester="a")


def test_watermark_choice_parse() -> None:
    assert WatermarkChoice.parse("keep") == WatermarkChoice("keep")
    assert WatermarkChoice.parse("backfill:2024-01-01T00:00:00:7d") == WatermarkChoice(
        "backfill", "2024-01-01T00:00:00", "7d")
    with pytest.raises(ValueError, match="backfill:START:CHUNK_SIZE"):
        WatermarkChoice.parse("backfill:1")


def test_missing_test_side_audit_is_written_once_by_the_next_call(envs: ControlEnvs) -> None:
    """SQLite writes the dataloader_test audit rows after the prod commit; a process that
    died in between leaves the promotion unstamped, and the next call repairs it."""
    envs.test.add_table(incremental("orders"), actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        applied = promotions.approve_promotion(request.id, "bob")
        stamped = envs.raw("dataloader", "SELECT test_audited_at FROM {t}promotions")
        assert stamped[0]["test_audited_at"] is not None
        # The state a crash between the two transactions leaves behind.
        if envs.backend == "sqlite":
            import sqlite3

            for env, sql in (("dataloader_test", "DELETE FROM table_control_history "
                              "WHERE action = 'promote'"),
                             ("dataloader", "UPDATE promotions SET test_audited_at = NULL")):
                conn = sqlite3.connect(envs.tmp / f"{env}.db")
                with conn:
                    conn.execute(sql)
                conn.close()
            assert envs.audit("dataloader_test", "promote") == []
        promotions.list_promotions()
        promotions.list_promotions()
    rows = envs.audit("dataloader_test", "promote")
    assert [(r["entity_name"], r["change_set"]) for r in rows] == [
        ("orders", applied.change_set)]


def test_approval_refused_when_prod_lost_the_source(envs: ControlEnvs) -> None:
    envs.test.add_table(incremental("orders"), actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice")
        envs.prod.remove_source("src", actor="oncall")
        with pytest.raises(StateError, match=r"no longer has the source of table\(s\) "
                           r"orders \(source src\)"):
            promotions.approve_promotion(request.id, "bob")
        assert promotions.get_promotion(request.id).status == "requested"
    assert envs.table_row("dataloader", "orders") is None


def test_rollback_brings_back_a_table_the_promotion_removed(envs: ControlEnvs) -> None:
    envs.prod.add_table(incremental("old_one"), actor="setup")
    _run_once(envs.prod, "old_one", 42, 3)
    before = envs.table_row("dataloader", "old_one")
    assert before is not None
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(["old_one"], requester="alice")
        assert request.items[0].diff.kind == "removed"
        promotions.approve_promotion(request.id, "bob")
        assert envs.table_row("dataloader", "old_one") is None
        promotions.rollback_promotion(request.id, "carol")
    after = envs.table_row("dataloader", "old_one")
    assert after is not None
    for key in ("strategy_options", "state", "incarnation", "target", "interval_seconds"):
        assert after[key] == before[key], key


def test_approval_refused_when_a_prod_table_holds_the_target(envs: ControlEnvs) -> None:
    """Two prod tables may not share a target: a table promoted onto the target of a
    prod-only table is refused at approval, naming it, and nothing is applied."""
    from dataloader_sdk.control.change_sets import ChangeSetValidationError
    from dataloader_sdk.model import TargetName

    envs.prod.add_table(replace(incremental("legacy"), target=TargetName("bronze", "shared")),
                        actor="setup")
    envs.test.add_table(replace(incremental("orders"), target=TargetName("bronze", "shared")),
                        actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        request = promotions.request_promotion(requester="alice", tables=["orders"])
        with pytest.raises(ChangeSetValidationError, match="also the target of table 'legacy'"):
            promotions.approve_promotion(request.id, "bob")
    assert envs.table_row("dataloader", "orders") is None
    assert envs.audit("dataloader", "promote") == []
