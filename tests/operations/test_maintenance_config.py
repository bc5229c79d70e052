"""The maintenance policy as table config, on SQLite and the test PostgreSQL: config as code
(apply, plan, export, line-numbered errors), promotion (diff, risk flag, approval) and the
bulk edit; the bookkeeping (``maintenance_state``) is never config. CLI: test_maintenance_cli."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.maintenance import get_settings, save_state, set_policy
from dataloader_sdk.control.promotion import Promotions
from dataloader_sdk.declarative import (
    ConfigFileError,
    apply_config,
    export_config,
    parse_config,
    plan_config,
)
from dataloader_sdk.errors import StaleVersionError, ValidationError
from dataloader_sdk.model import MaintenancePolicy
from dataloader_sdk.model.maintenance import MaintenanceState
from dataloader_sdk.model.operations import TableChanges, TableSelection
from dataloader_sdk.plugins import get_host
from tests.operations.control_envs import ControlEnvs, envs, incremental

__all__ = ["envs"]

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

FILE = """\
version: 1
tables:
  orders:
    source: src
    source_table: orders
    target: bronze.orders
    strategy: incremental
    strategy_options:
      watermark_column: updated_at
      primary_keys: [id]
    maintenance:
      compact_min_files: 40
      enabled: false
  customers:
    source: src
    source_table: customers
    target: bronze.customers
"""
PLAIN = FILE.replace("    maintenance:\n      compact_min_files: 40\n      enabled: false\n", "")


def _apply(store: ControlStore, text: str) -> str | None:
    wanted = parse_config(text, host=get_host()).for_environment(store.environment)
    return apply_config(store, wanted, actor="ci").change_set


def _stored(envs: ControlEnvs, env: str, name: str) -> Any:
    row = envs.table_row(env, name)
    assert row is not None
    value = row["maintenance"]
    return json.loads(value) if isinstance(value, str) else value


def test_a_file_sets_the_policy_and_export_plan_apply_are_idempotent(envs: ControlEnvs) -> None:
    store = envs.test
    assert _apply(store, FILE) is not None
    assert _stored(envs, "dataloader_test", "orders") == {"compact_min_files": 40,
                                                          "enabled": False}
    assert _stored(envs, "dataloader_test", "customers") is None
    policy = get_settings(store, "orders").policy  # what `dataloader maintain` uses
    assert policy == MaintenancePolicy(compact_min_files=40, enabled=False)
    exported = export_config({"dataloader_test": store})
    assert "maintenance:\n      enabled: false\n      compact_min_files: 40" in exported
    assert exported.count("maintenance:") == 1  # customers is on the defaults
    assert _apply(store, exported) is None
    wanted = parse_config(FILE, host=get_host()).for_environment(store.environment)
    assert not plan_config(store, wanted).has_changes
    # Changing one setting is one field of the plan; dropping the block goes back to
    # the defaults.
    changed = FILE.replace("compact_min_files: 40", "compact_min_files: 60")
    plan = plan_config(store, parse_config(changed, host=get_host())
                       .for_environment(store.environment))
    [orders] = [d for d in plan.tables if d.kind == "changed"]
    assert [(c.field, c.before, c.after) for c in orders.changes] == [
        ("maintenance.compact_min_files", 40, 60)]
    assert _apply(store, PLAIN) is not None
    assert _stored(envs, "dataloader_test", "orders") is None
    assert get_settings(store, "orders").policy == MaintenancePolicy()


def test_tables_without_a_policy_export_and_audit_as_before(envs: ControlEnvs) -> None:
    store = envs.test
    _apply(store, PLAIN)
    exported = export_config({"dataloader_test": store})
    assert "maintenance" not in exported
    rows = envs.raw("dataloader_test", "SELECT after FROM {t}table_control_history "
                    "WHERE entity_name = 'orders'")
    assert rows and all("maintenance" not in str(r["after"]) for r in rows)


def test_bookkeeping_is_not_config(envs: ControlEnvs) -> None:
    store = envs.test
    _apply(store, FILE)
    before = export_config({"dataloader_test": store})
    save_state(store, "orders", MaintenanceState(maintained_at=T0, checkpoint_version=3))
    assert export_config({"dataloader_test": store}) == before
    assert "checkpoint_version" not in before and "maintained_at" not in before
    wanted = parse_config(FILE, host=get_host()).for_environment(store.environment)
    assert not plan_config(store, wanted).has_changes
    assert _apply(store, FILE) is None
    assert get_settings(store, "orders").state.checkpoint_version == 3  # kept by applies


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("compact_min_files: 40", "compact_min_files: 0",
     "line 12: tables.orders.maintenance.compact_min_files: violates minimum 1"),
    ("compact_min_files: 40", "compact_min_fils: 40",
     "line 11: tables.orders.maintenance: unknown field(s) compact_min_fils"),
    ("enabled: false", "enabled: sometimes",
     "line 13: tables.orders.maintenance.enabled: must be boolean"),
    ("compact_min_files: 40", "vacuum_retention_hours: 24",
     "line 12: tables.orders.maintenance.vacuum_retention_hours: 24 is below"),
])
def test_malformed_policies_get_line_numbers_and_nothing_is_applied(
    envs: ControlEnvs, old: str, new: str, expected: str
) -> None:
    with pytest.raises(ConfigFileError) as err:
        _apply(envs.test, FILE.replace(old, new))
    shown = [str(p) for p in err.value.problems]
    assert any(s.startswith(expected) for s in shown), shown
    assert envs.raw("dataloader_test", "SELECT name FROM {t}table_control") == []


def test_promotion_diffs_flags_and_applies_the_policy(envs: ControlEnvs) -> None:
    for store in (envs.test, envs.prod):
        store.add_table(incremental("orders"), actor="setup")
    save_state(envs.test, "orders", MaintenanceState(maintained_at=T0, checkpoint_version=9))
    with Promotions(envs.test, envs.prod) as promotions:
        assert [d.kind for d in promotions.diff_environments()] == ["unchanged"]
    record = envs.test.get_table("orders")
    short = MaintenancePolicy(vacuum_retention_hours=24, allow_short_retention=True,
                              checkpoint_every=10)
    envs.test.update_table(replace(record.config, maintenance=short),
                           expected_version=record.version, actor="dev")
    with Promotions(envs.test, envs.prod) as promotions:
        [diff] = promotions.diff_environments(["orders"])
        assert [(c.field, c.before, c.after) for c in diff.changes] == [
            ("maintenance.allow_short_retention", None, True),
            ("maintenance.checkpoint_every", None, 10),
            ("maintenance.vacuum_retention_hours", None, 24)]
        [flag] = diff.flags
        assert flag.code == "short_retention" and not flag.blocking
        assert "from 168 to 24 hours" in flag.message
        request = promotions.request_promotion(requester="alice")
        promotions.approve_promotion(request.id, "bob")
    assert _stored(envs, "dataloader", "orders") == {
        "vacuum_retention_hours": 24, "allow_short_retention": True, "checkpoint_every": 10}
    prod = get_settings(envs.prod, "orders")
    assert prod.policy == short
    assert prod.state == MaintenanceState()  # bookkeeping is never promoted
    with Promotions(envs.test, envs.prod) as promotions:
        assert [d.kind for d in promotions.diff_environments()] == ["unchanged"]


def test_bulk_edit_sets_one_setting_and_validates(envs: ControlEnvs) -> None:
    store = envs.test
    for name in ("a_orders", "a_items", "b_stock"):
        store.add_table(incremental(name), actor="setup")
    selection = TableSelection(name_glob="a_*")
    plan = store.plan_bulk_edit(selection, TableChanges({"maintenance.enabled": False}))
    assert [(t.table, [(c.field, c.after) for c in t.changes]) for t in plan.tables] == [
        ("a_items", [("maintenance.enabled", False)]),
        ("a_orders", [("maintenance.enabled", False)])]
    store.apply_bulk_plan(plan, actor="ops")
    assert _stored(envs, "dataloader_test", "a_orders") == {"enabled": False}
    assert _stored(envs, "dataloader_test", "b_stock") is None
    # A later single setting merges with what is stored; null puts it back to default.
    plan = store.plan_bulk_edit(selection, TableChanges({
        "maintenance.compact_min_files": 40, "maintenance.enabled": None}))
    store.apply_bulk_plan(plan, actor="ops")
    assert _stored(envs, "dataloader_test", "a_items") == {"compact_min_files": 40}
    with pytest.raises(ValidationError, match=r"maintenance\.colour: unknown maintenance"):
        store.plan_bulk_edit(selection, TableChanges({"maintenance.colour": 1}))
    with pytest.raises(ValidationError) as err:
        store.plan_bulk_edit(selection, TableChanges({"maintenance.vacuum_retention_hours": 1}))
    text = str(err.value)
    for name in ("a_items", "a_orders"):
        assert f"{name}: maintenance.vacuum_retention_hours: 1 is below" in text, text
    assert _stored(envs, "dataloader_test", "a_items") == {"compact_min_files": 40}


def test_set_policy_bumps_the_version_so_older_edits_conflict(envs: ControlEnvs) -> None:
    store = envs.test
    store.add_table(incremental("orders"), actor="setup")
    seen = store.get_table("orders")
    set_policy(store, "orders", MaintenancePolicy(checkpoint_every=7), actor="ops", now=T0)
    after = store.get_table("orders")
    assert after.version == seen.version + 1
    assert after.config.maintenance == MaintenancePolicy(checkpoint_every=7)
    with pytest.raises(StaleVersionError):
        store.update_table(replace(seen.config, priority=5), expected_version=seen.version,
                           actor="form")
    assert store.get_table("orders").config.maintenance.checkpoint_every == 7
