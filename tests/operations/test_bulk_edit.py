"""Bulk edit on SQLite and PostgreSQL: selection, validation of every table, dry runs,
one transaction with optimistic locking, one audited change set. Outcomes are read back
with raw sqlite3 / psycopg, not through the store under test."""

from __future__ import annotations

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.change_sets import ChangeSetValidationError
from dataloader_sdk.errors import (
    ChangeConflictError,
    ConfigError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model.operations import FieldChange, TableChanges, TableSelection
from tests.operations.bulk_support import (  # noqa: F401 - fixtures
    Control,
    bulk_loader_fixture,
    bulk_store_fixture,
    control_fixture,
)

SALES = ["sales_items", "sales_orders", "sales_returns"]


def _snapshot(control: Control) -> tuple[dict[str, dict[str, object]], int]:
    return control.raw.tables(), len(control.raw.audit())


def test_dry_run_returns_diffs_and_writes_nothing(
    bulk_loader: DataLoader, control: Control
) -> None:
    before = _snapshot(control)
    result = bulk_loader.bulk_update(
        TableSelection(name_glob="sales_*"),
        TableChanges({"priority": 5, "interval_seconds": 900, "target_schema": "silver"}),
        actor="alice", dry_run=True)
    assert result.dry_run and result.change_set is None and result.records == ()
    assert [d.table for d in result.plan.tables] == SALES
    diff = result.plan.tables[0]
    assert diff.version == 1
    assert diff.changes == (
        FieldChange("interval_seconds", "changed", 3600, 900),
        FieldChange("priority", "changed", 100, 5),
        FieldChange("target", "changed", "bronze.sales_items", "silver.sales_items"),
    )
    assert _snapshot(control) == before


def test_apply_is_one_change_set_with_versions_bumped(
    bulk_loader: DataLoader, control: Control
) -> None:
    result = bulk_loader.bulk_update(
        TableSelection(source="erp", strategy="full"),
        TableChanges({"priority": 7, "strategy_options.primary_keys": ["id"]}), actor="alice")
    assert result.change_set is not None and len(result.change_set) == 32
    rows = control.raw.tables()
    for name in SALES:
        assert rows[name]["priority"] == 7
        assert rows[name]["strategy_options"] == {"primary_keys": ["id"]}
        assert rows[name]["version"] == 2
    assert rows["stock"]["version"] == 1 and rows["stock"]["priority"] == 100
    bulk_rows = [r for r in control.raw.audit() if r["action"] == "bulk"]
    assert sorted(r["entity_name"] for r in bulk_rows) == SALES
    assert {r["change_set"] for r in bulk_rows} == {result.change_set}
    assert {r["actor"] for r in bulk_rows} == {"alice"}
    assert all(r["before"]["priority"] == 100 and r["after"]["priority"] == 7
               for r in bulk_rows)


def test_one_invalid_table_rejects_all_and_lists_every_problem(
    bulk_loader: DataLoader, control: Control
) -> None:
    before = _snapshot(control)
    # stock (append_only) accepts a lookback; the full-load tables do not know the option.
    with pytest.raises(ChangeSetValidationError) as info:
        bulk_loader.bulk_update(
            TableSelection(source="erp"),
            TableChanges({"strategy_options.lookback": 10, "interval_seconds": -5}),
            actor="alice")
    err = info.value
    assert sorted(err.by_table) == [*SALES, "stock"]
    fields = {p.field for p in err.problems}
    assert "sales_orders: interval_seconds" in fields
    assert "stock: interval_seconds" in fields
    assert "nothing was changed" in str(err)
    assert _snapshot(control) == before


def test_strategy_validators_apply_as_for_a_single_edit(
    bulk_loader: DataLoader, control: Control
) -> None:
    before = _snapshot(control)
    with pytest.raises(ChangeSetValidationError) as info:
        bulk_loader.bulk_update(TableSelection(names=("sales_orders", "leads")),
                                TableChanges({"strategy": "incremental"}), actor="alice")
    fields = {p.field for p in info.value.problems}
    assert {"sales_orders: watermark_column", "leads: primary_keys"} <= fields
    with pytest.raises(ChangeSetValidationError, match="unknown strategy 'nope'"):
        bulk_loader.bulk_update(TableSelection(names=("leads",)),
                                TableChanges({"strategy": "nope"}), actor="alice")
    assert _snapshot(control) == before


def test_bad_changes_and_selections_are_refused(
    bulk_store: ControlStore, control: Control
) -> None:
    before = _snapshot(control)
    everything = TableSelection(name_glob="*")
    with pytest.raises(ValidationError) as info:
        bulk_store.bulk_update(everything, TableChanges({"name": "x", "colour": 1}), actor="a")
    assert {p.field for p in info.value.problems} == {"name", "colour"}
    with pytest.raises(ConfigError, match="name=\\*"):
        bulk_store.bulk_update(TableSelection(), TableChanges({"priority": 1}), actor="a")
    with pytest.raises(UnknownNameError, match="nope"):
        bulk_store.bulk_update(TableSelection(names=("nope",)), TableChanges({"priority": 1}),
                               actor="a")
    with pytest.raises(ConfigError, match="no table matches"):
        bulk_store.bulk_update(TableSelection(source="nowhere"), TableChanges({"priority": 1}),
                               actor="a")
    with pytest.raises(ChangeSetValidationError, match="unknown source 'ghost'"):
        bulk_store.bulk_update(everything, TableChanges({"source": "ghost"}), actor="a")
    with pytest.raises(ChangeSetValidationError, match="target_schema"):
        bulk_store.bulk_update(everything, TableChanges({"target_schema": "no-dash"}),
                               actor="a")
    assert _snapshot(control) == before


def test_filters_select_the_right_tables(bulk_store: ControlStore) -> None:
    def picked(**kw: object) -> list[str]:
        sel = TableSelection(**kw)  # type: ignore[arg-type]
        plan = bulk_store.plan_bulk_edit(sel, TableChanges({"priority": 1}))
        return sorted(d.table for d in plan.tables)

    assert picked(source="crm") == ["contacts", "leads"]
    assert picked(strategy="append_only") == ["stock"]
    assert picked(target_schema="crm_raw", enabled=True) == ["leads"]
    assert picked(enabled=False) == ["contacts"]
    assert picked(status="idle", name_glob="sales_*") == SALES
    assert picked(names=("stock", "leads"), source="crm") == ["leads"]
    sel = TableSelection.from_filters({"source": "crm", "enabled": "no", "name": "c*"})
    assert sel == TableSelection(source="crm", enabled=False, name_glob="c*")
    with pytest.raises(ValidationError) as info:
        TableSelection.from_filters({"colour": "red", "enabled": "maybe", "status": "busy"})
    assert {p.field for p in info.value.problems} == {
        "where.colour", "where.enabled", "where.status"}


def test_unchanged_tables_are_reported_not_written(
    bulk_store: ControlStore, control: Control
) -> None:
    result = bulk_store.bulk_update(TableSelection(source="crm"),
                                    TableChanges({"enabled": True}), actor="a")
    assert [d.table for d in result.plan.tables] == ["contacts"]
    assert result.plan.unchanged == ("leads",)
    assert control.raw.tables()["leads"]["version"] == 1
    again = bulk_store.bulk_update(TableSelection(source="crm"),
                                   TableChanges({"enabled": True}), actor="a")
    assert again.change_set is None and again.plan.tables == ()


def test_option_removal_and_whole_options(bulk_store: ControlStore, control: Control) -> None:
    bulk_store.bulk_update(TableSelection(names=("stock",)),
                           TableChanges({"strategy_options.watermark_column": None}), actor="a")
    assert control.raw.tables()["stock"]["strategy_options"] == {}
    with pytest.raises(ValidationError, match="not both"):
        bulk_store.bulk_update(TableSelection(names=("stock",)), TableChanges(
            {"strategy_options": {}, "strategy_options.x": 1}), actor="a")


def test_a_plan_made_stale_by_a_concurrent_edit_conflicts_and_writes_nothing(
    bulk_store: ControlStore, control: Control
) -> None:
    plan = bulk_store.plan_bulk_edit(TableSelection(name_glob="sales_*"),
                                     TableChanges({"priority": 9}))
    # Someone edits two of the planned tables in between.
    for name in ("sales_orders", "sales_returns"):
        current = bulk_store.get_table(name)
        bulk_store.update_table(current.config, expected_version=current.version, actor="bob")
    before = _snapshot(control)
    with pytest.raises(ChangeConflictError) as info:
        bulk_store.apply_bulk_plan(plan, actor="alice")
    assert info.value.tables == ("sales_orders", "sales_returns")
    assert "sales_orders" in str(info.value) and "nothing was changed" in str(info.value)
    assert _snapshot(control) == before
    assert control.raw.tables()["sales_items"]["priority"] == 100


def test_inline_secrets_are_refused_in_options(
    bulk_store: ControlStore, control: Control
) -> None:
    before = _snapshot(control)
    with pytest.raises(ChangeSetValidationError) as info:
        bulk_store.bulk_update(TableSelection(names=("leads",)),
                               TableChanges({"strategy_options.password": "hunter2-xyz"}),
                               actor="a")
    assert "hunter2" not in str(info.value)
    assert _snapshot(control) == before


def test_targets_follow_the_single_edit_rules(bulk_loader: DataLoader, control: Control) -> None:
    """A bulk edit lower-cases a changed target and refuses one two tables would share,
    whether the other table is in the edit or not (issue #17, item 9)."""
    before = _snapshot(control)
    with pytest.raises(ChangeSetValidationError) as info:
        bulk_loader.bulk_update(TableSelection(names=("sales_items",)),
                                TableChanges({"target": "CRM_RAW.Leads"}), actor="alice")
    assert [p.field for p in info.value.problems] == ["sales_items: target"]
    assert "also the target of table 'leads'" in str(info.value)
    # Two tables of the same edit moved onto one target: both are named.
    with pytest.raises(ChangeSetValidationError) as info:
        bulk_loader.bulk_update(TableSelection(names=("sales_items", "sales_orders")),
                                TableChanges({"target": "bronze.together"}), actor="alice")
    assert sorted(info.value.by_table) == ["sales_items", "sales_orders"]
    assert _snapshot(control) == before

    bulk_loader.bulk_update(TableSelection(names=("sales_items",)),
                            TableChanges({"target": "Silver.Sales_Items"}), actor="alice")
    assert control.raw.tables()["sales_items"]["target"] == "silver.sales_items"
