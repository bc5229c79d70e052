"""The built-in strategies are pure planners: exhaustive tests with no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import (
    Append,
    Coalesce,
    Column,
    Compare,
    Merge,
    Overwrite,
    RowCount,
    ScalarValue,
    TableConfig,
    TableRecord,
    TableState,
    TargetName,
    Watermark,
)
from dataloader_sdk.strategies.append_only import AppendOnlyStrategy
from dataloader_sdk.strategies.base import PlanContext, Strategy, parse_duration
from dataloader_sdk.strategies.full import FullStrategy
from dataloader_sdk.strategies.incremental import IncrementalStrategy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
T0 = datetime(2026, 11, 1, 8, 30, 15, 123456, tzinfo=timezone.utc)


def record(strategy: str, options: dict[str, Any]) -> TableRecord:
    cfg = TableConfig(name="sales.orders", source="pg", source_table="orders",
                      source_schema="public", target=TargetName("bronze", "orders"),
                      strategy=strategy, strategy_options=options)
    return TableRecord(table_id=7, config=cfg)


def plan(strategy: Strategy[Any], options: dict[str, Any], state: TableState,
         upper: ScalarValue | None = None) -> Any:
    rec = record("x", options)
    opts = strategy.parse_options(options, table=rec.name)
    probes = {p: 0 if isinstance(p, RowCount) else upper for p in strategy.probes(opts, state)}
    return strategy.plan(PlanContext(rec, opts, state, probes, NOW, "run1"))


def test_full_plans_one_overwrite_of_everything_and_bumps_the_version() -> None:
    result = plan(FullStrategy(), {}, TableState(txn_version=4))
    (step,) = result.steps
    assert step.write == Overwrite()
    assert step.select.where == ()
    assert step.select.source.table == "orders"
    assert step.txn_version == 5
    assert step.state_after.txn_version == 5
    assert step.loaded_at == NOW


def test_incremental_first_run_reads_up_to_the_frozen_upper_bound() -> None:
    opts = {"watermark_column": "updated_at", "primary_keys": ["id"]}
    (step,) = plan(IncrementalStrategy(), opts, TableState(), upper=T0).steps
    assert step.select.where == (Compare(Column("updated_at"), "<=", T0),)
    assert step.write == Merge(keys=("id",), sequence=Column("updated_at"))
    assert step.state_after.watermark == Watermark("timestamptz", T0)


def test_incremental_reads_from_watermark_minus_lookback_inclusive() -> None:
    opts = {"watermark_column": "updated_at", "primary_keys": ["id"], "lookback": "2h"}
    state = TableState(watermark=Watermark.of(T0), txn_version=3)
    high = T0 + timedelta(days=1)
    (step,) = plan(IncrementalStrategy(), opts, state, upper=high).steps
    assert step.select.where == (
        Compare(Column("updated_at"), ">=", T0 - timedelta(hours=2)),
        Compare(Column("updated_at"), "<=", high),
    )
    assert step.state_after.watermark == Watermark.of(high)
    assert step.txn_version == 4


def test_incremental_with_integer_cursor_and_numeric_lookback() -> None:
    opts = {"watermark_column": "version", "primary_keys": ["id"], "lookback": 10}
    state = TableState(watermark=Watermark.of(100))
    (step,) = plan(IncrementalStrategy(), opts, state, upper=150).steps
    assert step.select.where[0] == Compare(Column("version"), ">=", 90)


def test_incremental_coalesce_cursor() -> None:
    opts = {"watermark_column": ["updated_at", "created_at"], "primary_keys": ["id"]}
    (step,) = plan(IncrementalStrategy(), opts, TableState(), upper=T0).steps
    cursor = Coalesce(("updated_at", "created_at"))
    assert step.select.where == (Compare(cursor, "<=", T0),)
    assert step.write == Merge(keys=("id",), sequence=cursor)


def test_incremental_empty_source_plans_nothing_and_keeps_state() -> None:
    result = plan(IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id"]},
                  TableState(watermark=Watermark.of(5)), upper=None)
    assert result.steps == ()
    assert "no rows" in result.note


def test_watermark_never_moves_backwards() -> None:
    state = TableState(watermark=Watermark.of(T0))
    result = plan(IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id"]},
                  state, upper=T0 - timedelta(days=3))
    assert result.steps == ()


def test_cursor_type_change_is_a_clear_error() -> None:
    state = TableState(watermark=Watermark.of(T0))
    with pytest.raises(ValidationError, match="column's type changed"):
        plan(IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id"]},
             state, upper=42)


def test_time_lookback_on_integer_cursor_is_refused() -> None:
    state = TableState(watermark=Watermark.of(10))
    with pytest.raises(ValidationError, match="lookback"):
        plan(IncrementalStrategy(),
             {"watermark_column": "u", "primary_keys": ["id"], "lookback": "1h"},
             state, upper=20)


def test_append_only_reads_strictly_above_the_watermark() -> None:
    state = TableState(watermark=Watermark.of(Decimal("10.5")), txn_version=1)
    (step,) = plan(AppendOnlyStrategy(), {"watermark_column": "id"}, state,
                   upper=Decimal("99.25")).steps
    assert step.select.where == (
        Compare(Column("id"), ">", Decimal("10.5")),
        Compare(Column("id"), "<=", Decimal("99.25")),
    )
    assert step.write == Append()
    assert step.state_after.watermark == Watermark("decimal", Decimal("99.25"))


def test_append_only_plans_nothing_when_upper_equals_watermark() -> None:
    state = TableState(watermark=Watermark.of(7))
    assert plan(AppendOnlyStrategy(), {"watermark_column": "id"}, state, upper=7).steps == ()


@pytest.mark.parametrize(
    ("strategy", "options", "field"),
    [
        (IncrementalStrategy(), {"primary_keys": ["id"]}, "watermark_column"),
        (IncrementalStrategy(), {"watermark_column": "u"}, "primary_keys"),
        (IncrementalStrategy(), {"watermark_column": "u", "primary_keys": "id", "lookbak": 1},
         "lookbak"),
        (IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id"],
                                 "lookback": "soon"}, "lookback"),
        (IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id"],
                                 "lookback": -5}, "lookback"),
        (IncrementalStrategy(), {"watermark_column": 3, "primary_keys": ["id"]},
         "watermark_column"),
        (IncrementalStrategy(), {"watermark_column": "u", "primary_keys": ["id", "id"]},
         "primary_keys"),
        (AppendOnlyStrategy(), {}, "watermark_column"),
        (AppendOnlyStrategy(), {"watermark_column": "id", "lookback": 5}, "lookback"),
        (FullStrategy(), {"watermark_column": "id"}, "watermark_column"),
        (FullStrategy(), {"primary_keys": [1]}, "primary_keys"),
    ],
)
def test_bad_options_are_refused_naming_the_field_and_table(
    strategy: Strategy[Any], options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        strategy.parse_options(options, table="sales.orders")
    message = str(info.value)
    assert "sales.orders" in message
    assert any(p.field == field for p in info.value.problems), message


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        IncrementalStrategy().parse_options({"bogus": 1}, table="t")
    fields = {p.field for p in info.value.problems}
    assert fields == {"watermark_column", "primary_keys", "bogus"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)), ("2h", timedelta(hours=2)),
     ("1d", timedelta(days=1)), ("2 weeks", timedelta(weeks=2)), ("3 mins", timedelta(minutes=3)),
     ("soon", None), ("-1h", None)],
)
def test_parse_duration(text: str, expected: timedelta | None) -> None:
    assert parse_duration(text) == expected
