"""rolling, check_and_load, chunked_backfill and the NULL-cursor policy, as pure planners."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from dataloader_sdk.errors import SourcePermanentError, SourceTransientError, ValidationError
from dataloader_sdk.model import (
    AnyOf,
    Append,
    ChangeSignature,
    Column,
    Compare,
    IsNull,
    LoadPlan,
    MaxOf,
    Merge,
    MinOf,
    Overwrite,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    ReplaceWhere,
    RowCount,
    TableConfig,
    TableRecord,
    TableState,
    TargetName,
    Watermark,
)
from dataloader_sdk.strategies.base import PlanContext, Strategy
from dataloader_sdk.strategies.check_and_load import CheckAndLoadStrategy
from dataloader_sdk.strategies.chunked_backfill import ChunkedBackfillStrategy
from dataloader_sdk.strategies.incremental import IncrementalStrategy
from dataloader_sdk.strategies.rolling import RollingStrategy

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
TABLE = TableRecord(7, TableConfig(name="s.t", source="pg", source_table="t",
                                   target=TargetName("bronze", "t")))


def plan(strategy: Strategy[Any], options: dict[str, Any], state: TableState,
         answers: dict[ProbeRequest, ProbeAnswer], *, now: datetime = NOW,
         fingerprint: str = "fp1") -> LoadPlan:
    opts = strategy.parse_options(options, table="s.t")
    requested = strategy.probes(opts, state)
    missing = [p for p in requested if p not in answers]
    assert not missing, f"test forgot to answer {missing}"
    probes = {p: answers[p] for p in requested}
    return strategy.plan(PlanContext(TABLE, opts, state, probes, now, "r", fingerprint))


# -- rolling --------------------------------------------------------------------------

ROLL = {"window_column": "day", "window": "7d", "empty_window_threshold": 10}


def test_rolling_replaces_exactly_the_window_of_a_date_column() -> None:
    (step,) = plan(RollingStrategy(), ROLL, TableState(),
                   {MaxOf(Column("day")): date(2026, 11, 27)}).steps
    window = (Compare(Column("day"), ">=", date(2026, 11, 20)),)
    assert step.select.where == window
    assert step.write == ReplaceWhere(window)
    assert step.guard is not None and step.guard.max_target_rows == 10
    assert step.guard.where == window


def test_rolling_on_timestamps_keeps_the_columns_timezone_awareness() -> None:
    naive = plan(RollingStrategy(), ROLL, TableState(),
                 {MaxOf(Column("day")): datetime(2026, 1, 1)}).steps[0]
    aware = plan(RollingStrategy(), ROLL, TableState(),
                 {MaxOf(Column("day")): datetime(2026, 1, 1, tzinfo=timezone.utc)}).steps[0]
    assert naive.select.where[0] == Compare(Column("day"), ">=", datetime(2026, 11, 20, 12))
    assert aware.select.where[0] == Compare(Column("day"), ">=", NOW - timedelta(days=7))


def test_rolling_on_an_empty_never_loaded_source_does_nothing() -> None:
    result = plan(RollingStrategy(), ROLL, TableState(), {MaxOf(Column("day")): None})
    assert result.steps == ()


def test_rolling_on_an_emptied_source_still_plans_a_guarded_step() -> None:
    state = TableState(watermark=Watermark.of(date(2026, 11, 19)), txn_version=2)
    (step,) = plan(RollingStrategy(), ROLL, state, {MaxOf(Column("day")): None}).steps
    assert step.guard is not None
    assert step.select.where == (Compare(Column("day"), ">=", date(2026, 11, 20)),)


def test_rolling_refuses_a_non_temporal_column() -> None:
    with pytest.raises(ValidationError, match="date or timestamp"):
        plan(RollingStrategy(), ROLL, TableState(), {MaxOf(Column("day")): 42})


# -- check_and_load ----------------------------------------------------------------------

CAL = {"watermark_column": "updated_at", "max_skip_age": "1d"}
T = datetime(2026, 11, 1, tzinfo=timezone.utc)


def answers(sig: str | None = "rel1:5:0:0", rows: int = 10, top: datetime = T
            ) -> dict[ProbeRequest, ProbeAnswer]:
    return {ChangeSignature(): sig, RowCount(): rows, MaxOf(Column("updated_at")): top}


def loaded_state(**kw: Any) -> TableState:
    first = plan(CheckAndLoadStrategy(), CAL, TableState(), answers(**kw))
    return first.steps[0].state_after


def test_check_and_load_first_run_loads_with_the_inner_full_strategy() -> None:
    result = plan(CheckAndLoadStrategy(), CAL, TableState(), answers())
    (step,) = result.steps
    assert step.write == Overwrite()
    assert step.state_after.extra["signature"] == {
        "schema": "fp1", "change": "rel1:5:0:0", "rows": 10,
        "max": Watermark.of(T).to_json(),
    }


def test_check_and_load_skips_only_when_everything_is_unchanged() -> None:
    state = loaded_state()
    same = plan(CheckAndLoadStrategy(), CAL, state, answers(), now=NOW)
    assert same.skipped and same.steps == () and same.note == "verified unchanged"
    for changed in (answers(sig="rel1:6:0:0"), answers(rows=11),
                    answers(top=T + timedelta(microseconds=1))):
        assert not plan(CheckAndLoadStrategy(), CAL, state, changed).skipped
    other_schema = plan(CheckAndLoadStrategy(), CAL, state, answers(), fingerprint="fp2")
    assert len(other_schema.steps) == 1


def test_check_and_load_loads_when_the_last_check_is_too_old() -> None:
    state = loaded_state()
    late = plan(CheckAndLoadStrategy(), CAL, state, answers(), now=NOW + timedelta(days=2))
    assert len(late.steps) == 1


def test_check_and_load_fails_safe_when_a_probe_fails() -> None:
    state = loaded_state()
    broken = answers()
    broken[ChangeSignature()] = ProbeFailed(SourceTransientError("stats view unavailable"))
    result = plan(CheckAndLoadStrategy(), CAL, state, broken)
    assert len(result.steps) == 1
    assert "probe failed" in result.note


def test_check_and_load_wraps_incremental() -> None:
    options = {"load": "incremental",
               "load_options": {"watermark_column": "updated_at", "primary_keys": ["id"],
                                "null_cursor": "exclude"}}
    (step,) = plan(CheckAndLoadStrategy(), options, TableState(), answers()).steps
    assert isinstance(step.write, Merge)
    assert step.state_after.watermark == Watermark.of(T)


def test_check_and_load_reports_inner_option_problems_under_load_options() -> None:
    with pytest.raises(ValidationError) as info:
        CheckAndLoadStrategy().parse_options(
            {"load": "incremental", "load_options": {"watermark_column": "u"}}, table="s.t")
    assert [p.field for p in info.value.problems] == ["load_options.primary_keys"]


# -- chunked_backfill ----------------------------------------------------------------------

BF = {"chunk_column": "id", "chunk_size": 100, "then": "incremental",
      "then_options": {"watermark_column": "updated_at", "primary_keys": ["id"],
                       "null_cursor": "exclude"}}
BF_FIRST: dict[ProbeRequest, ProbeAnswer] = {
    MinOf(Column("id")): 1, MaxOf(Column("id")): 250, MaxOf(Column("updated_at")): T,
}


def test_backfill_plans_disjoint_chunks_covering_min_to_max() -> None:
    result = plan(ChunkedBackfillStrategy(), BF, TableState(), BF_FIRST)
    wheres = [s.select.where for s in result.steps]
    col = Column("id")
    assert wheres == [
        (Compare(col, ">=", 1), Compare(col, "<", 101)),
        (Compare(col, ">=", 101), Compare(col, "<", 201)),
        (Compare(col, ">=", 201), Compare(col, "<=", 250)),
    ]
    assert [s.txn_version for s in result.steps] == [1, 2, 3]
    assert all(s.write == Append() for s in result.steps)
    # The watermark follows the finished prefix; the last chunk hands over.
    assert [s.state_after.watermark for s in result.steps] == [
        Watermark.of(101), Watermark.of(201), Watermark.of(T)]


def test_backfill_resumes_only_unfinished_chunks_then_hands_over() -> None:
    options = {**BF, "max_chunks_per_run": 2}
    first = plan(ChunkedBackfillStrategy(), options, TableState(), BF_FIRST)
    assert len(first.steps) == 2
    state = first.steps[-1].state_after
    assert state.extra["backfill"]["done"] == [0, 1]  # type: ignore[index]
    second = plan(ChunkedBackfillStrategy(), options, state, {})
    (last,) = second.steps
    assert last.select.where[0] == Compare(Column("id"), ">=", 201)
    steady = plan(ChunkedBackfillStrategy(), options, last.state_after,
                  {MaxOf(Column("updated_at")): T + timedelta(hours=1)})
    (step,) = steady.steps
    assert isinstance(step.write, Merge)
    assert step.select.where[0] == Compare(Column("updated_at"), ">=", T)


def test_backfill_after_a_crash_mid_run_resumes_from_the_recorded_ledger() -> None:
    first = plan(ChunkedBackfillStrategy(), BF, TableState(), BF_FIRST)
    after_one = first.steps[0].state_after  # chunk 0 committed, then the process died
    resumed = plan(ChunkedBackfillStrategy(), BF, after_one, {})
    assert [s.txn_version for s in resumed.steps] == [2, 3]
    assert resumed.steps[0].select.where[0] == Compare(Column("id"), ">=", 101)


def test_backfill_over_dates_with_configured_bounds_and_merge() -> None:
    options = {"chunk_column": "day", "chunk_size": "7d", "start": "2026-01-01",
               "end": "2026-01-20", "primary_keys": ["id"]}
    result = plan(ChunkedBackfillStrategy(), options, TableState(), {})
    assert len(result.steps) == 3
    assert result.steps[-1].select.where == (
        Compare(Column("day"), ">=", date(2026, 1, 15)),
        Compare(Column("day"), "<=", date(2026, 1, 20)),
    )
    assert all(s.write == Merge(("id",)) for s in result.steps)


def test_backfill_size_must_fit_the_column_type() -> None:
    with pytest.raises(ValidationError, match="chunk_size"):
        plan(ChunkedBackfillStrategy(), {"chunk_column": "id", "chunk_size": "7d"},
             TableState(), {MinOf(Column("id")): 1, MaxOf(Column("id")): 10})


# -- NULL cursors and soft deletes ------------------------------------------------------------

INC = {"watermark_column": "u", "primary_keys": ["id"]}


def test_null_cursor_fail_policy_names_the_count() -> None:
    with pytest.raises(SourcePermanentError, match="3 source rows have a NULL cursor"):
        plan(IncrementalStrategy(), INC, TableState(),
             {MaxOf(Column("u")): T, RowCount((IsNull(Column("u")),)): 3})


def test_null_cursor_include_once_reads_nulls_on_the_first_run_only() -> None:
    options = {**INC, "null_cursor": "include_once"}
    first = plan(IncrementalStrategy(), options, TableState(), {MaxOf(Column("u")): T})
    assert first.steps[0].select.where == (
        AnyOf((Compare(Column("u"), "<=", T), IsNull(Column("u")))),)
    later = plan(IncrementalStrategy(), options, first.steps[0].state_after,
                 {MaxOf(Column("u")): T + timedelta(1)})
    assert all(not isinstance(p, AnyOf) for p in later.steps[0].select.where)


def test_soft_delete_options_reach_the_merge() -> None:
    options = {**INC, "null_cursor": "exclude", "delete_column": "is_deleted",
               "delete_mode": "flag"}
    (step,) = plan(IncrementalStrategy(), options, TableState(), {MaxOf(Column("u")): T}).steps
    assert step.write == Merge(("id",), Column("u"), delete_column="is_deleted",
                               delete_mode="flag")
    assert "is_deleted" in IncrementalStrategy().required_columns(
        IncrementalStrategy().parse_options(options, table="s.t"))


def test_delete_mode_without_delete_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="delete_mode"):
        IncrementalStrategy().parse_options({**INC, "delete_mode": "flag"}, table="s.t")


def test_plan_context_answer_reraises_the_probe_error() -> None:
    ctx = PlanContext(TABLE, None, TableState(),
                      {RowCount(): ProbeFailed(SourceTransientError("boom"))}, NOW, "r")
    with pytest.raises(SourceTransientError, match="boom"):
        ctx.answer(RowCount())
    assert replace(ctx, probes={}).answer(RowCount()) is None
