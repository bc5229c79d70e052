"""Typed domain objects: watermarks round-trip exactly, validation reports every field."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import (
    CommitInfo,
    SourceConfig,
    TableConfig,
    TableState,
    TargetName,
    Watermark,
)


@pytest.mark.parametrize(
    "value",
    [
        12345678901234567,
        Decimal("12345678901234567890.123456789"),
        datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=timezone.utc),
        datetime(2026, 1, 2, 3, 4, 5, 1),
        date(2026, 2, 28),
        "order-000123",
    ],
)
def test_watermark_json_round_trip_is_exact(value: object) -> None:
    wm = Watermark.of(value)  # type: ignore[arg-type]
    back = Watermark.from_json(wm.to_json())
    assert back == wm
    assert type(back.value) is type(wm.value)


def test_timestamptz_watermarks_are_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    wm = Watermark.of(datetime(2026, 1, 1, 1, 0, 0, 5, tzinfo=cet))
    assert wm.type == "timestamptz"
    assert wm.value == datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)
    assert wm.to_json()["value"] == "2026-01-01T00:00:00.000005+00:00"


def test_commit_info_round_trips_through_string_metadata() -> None:
    state = TableState(watermark=Watermark.of(Decimal("1.50")), txn_version=9, extra={"n": 1})
    info = CommitInfo(app_id="dataloader_sdk:3", txn_version=9, run_id="r", table_id=3,
                      table="a.b", strategy="incremental", state_after=state, rows=12)
    meta = info.to_metadata()
    assert all(isinstance(v, str) for v in meta.values())
    assert CommitInfo.from_metadata(meta) == info
    assert CommitInfo.from_metadata({"other": "x"}) is None


@pytest.mark.parametrize("text", ["orders", "a.b.c.d", "bronze.or ders", "1x.orders", ".x"])
def test_bad_target_names_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="target"):
        TargetName.parse(text)


def test_target_names_parse_two_and_three_parts() -> None:
    assert str(TargetName.parse("bronze.orders")) == "bronze.orders"
    three = TargetName.parse("main.bronze.orders")
    assert (three.catalog, three.schema, three.table) == ("main", "bronze", "orders")


def test_table_config_reports_every_problem() -> None:
    cfg = TableConfig(name="bad name!", source="", target=TargetName("b", "t"),
                      interval_seconds=0, priority="high")  # type: ignore[arg-type]
    fields = {p.field for p in cfg.problems()}
    assert fields == {"name", "source", "source_table", "interval_seconds", "priority"}


def test_source_config_refuses_an_inline_password() -> None:
    cfg = SourceConfig(name="pg", db_type="postgresql", port=70000, secret="hunter2")
    problems = {p.field: p.problem for p in cfg.problems()}
    assert set(problems) == {"port", "secret"}
    assert "hunter2" not in problems["secret"]


# -- the maintenance policy as table config ----------------------------------------------

def _orders(**kw: object) -> TableConfig:
    return TableConfig("orders", "erp", TargetName("bronze", "orders"), source_table="orders",
                       **kw)  # type: ignore[arg-type]


def test_a_table_config_carries_its_maintenance_policy() -> None:
    from dataloader_sdk.control.config_diff import table_from_json, table_json
    from dataloader_sdk.model import MaintenancePolicy
    from dataloader_sdk.model.operations import config_to_json

    plain = _orders()
    assert plain.maintenance == MaintenancePolicy() and plain.maintenance.is_default
    assert "maintenance" not in config_to_json(plain)  # as before the policy was config
    tuned = _orders(maintenance=MaintenancePolicy(compact_min_files=40, enabled=False))
    assert table_json(tuned)["maintenance"] == {"enabled": False, "compact_min_files": 40}
    assert table_from_json("orders", table_json(tuned)) == tuned
    assert table_from_json("orders", table_json(plain)) == plain
    bad = _orders(maintenance=MaintenancePolicy(checkpoint_every=0,
                                                vacuum_retention_hours=12))
    assert {p.field for p in bad.problems()} == {"maintenance.checkpoint_every",
                                                 "maintenance.vacuum_retention_hours"}
    with pytest.raises(ValidationError, match=r"maintenance\.colour"):
        table_from_json("orders", {**table_json(plain), "maintenance": {"colour": 1}})


def test_changes_set_one_maintenance_setting_and_diff_per_setting() -> None:
    from dataloader_sdk.model import MaintenancePolicy
    from dataloader_sdk.model.operations import TableChanges, config_to_json, diff_json

    cfg = _orders(maintenance=MaintenancePolicy(checkpoint_every=50))
    after, problems = TableChanges({"maintenance.compact_min_files": 40}).apply(cfg)
    assert problems == [] and after.maintenance == MaintenancePolicy(
        checkpoint_every=50, compact_min_files=40)
    reset, _ = TableChanges({"maintenance.checkpoint_every": None}).apply(cfg)
    assert reset.maintenance.is_default
    whole, _ = TableChanges({"maintenance": {"enabled": False}}).apply(cfg)
    assert whole.maintenance == MaintenancePolicy(enabled=False)
    kept, problems = TableChanges({"maintenance.small_file_bytes": "big"}).apply(cfg)
    assert problems == [] and [p.field for p in kept.problems()] == [
        "maintenance.small_file_bytes"]  # the validators name it, with the table's others
    assert [p.field for p in TableChanges({"maintenance.colour": 1}).problems()] == [
        "maintenance.colour"]
    assert [(c.field, c.kind, c.before, c.after) for c in diff_json(
        config_to_json(_orders()), config_to_json(after))] == [
        ("maintenance.checkpoint_every", "added", None, 50),
        ("maintenance.compact_min_files", "added", None, 40)]


def test_lowering_retention_with_the_override_is_a_risk() -> None:
    from dataloader_sdk.control.config_diff import diff_table
    from dataloader_sdk.model import MaintenancePolicy

    short = MaintenancePolicy(vacuum_retention_hours=48, allow_short_retention=True)
    diff = diff_table("orders", _orders(), _orders(maintenance=short))
    assert [f.code for f in diff.flags] == ["short_retention"]
    assert not diff.needs_choice
    # Raising it, or a long retention with the override set, is no risk.
    assert diff_table("orders", _orders(maintenance=short), _orders()).flags == ()
    assert diff_table("orders", _orders(), _orders(maintenance=MaintenancePolicy(
        allow_short_retention=True))).flags == ()
