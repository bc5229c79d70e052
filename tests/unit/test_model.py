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
