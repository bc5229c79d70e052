"""The demo end to end, twice in the same directory, through its Python API."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from dataloader_sdk.cli import main
from dataloader_sdk.demo import DEMO_TABLES, DemoResult, run_demo
from dataloader_sdk.demo.data import TS_FORMAT
from dataloader_sdk.model import Watermark

pytestmark = pytest.mark.integration

ROWS = 5_000


def _naive(watermark: Watermark | None) -> datetime:
    assert watermark is not None
    value = watermark.value
    assert isinstance(value, datetime)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _assert_demo(result: DemoResult) -> None:
    assert result.ok, [(c.table, c.source, c.target) for r in result.rounds for c in r.checks]
    first, second = result.rounds
    changes = result.changes
    assert {t.strategy for t in DEMO_TABLES} == {
        "full", "incremental", "append_only", "rolling", "check_and_load", "chunked_backfill"}
    for rnd in result.rounds:
        assert {r.table for r in rnd.runs} == {t.name for t in DEMO_TABLES}
        assert all(c.matches for c in rnd.checks)
    assert all(r.status == "succeeded" for r in first.runs)
    # The unchanged reference table is verified unchanged and skipped; the rest load.
    assert second.run("countries").status == "skipped"
    assert second.run("countries").note == "verified unchanged"
    assert all(r.status == "succeeded" for r in second.runs if r.table != "countries")

    # First load: everything.
    assert first.check("orders").target.rows == ROWS
    assert first.check("events").target.rows == ROWS // 2
    assert first.run("orders").rows_read == ROWS
    assert first.run("events").rows_read == ROWS // 2

    # Second load: only the changes (plus the lookback window for orders).
    assert second.check("customers").target.rows == (
        result.initial.customers + changes.customers_inserted)
    assert second.check("orders").target.rows == ROWS + changes.orders_inserted
    assert second.check("events").target.rows == ROWS // 2 + changes.events_inserted
    assert second.run("events").rows_read == changes.events_inserted
    orders_read = second.run("orders").rows_read
    assert changes.orders_updated + changes.orders_inserted <= orders_read < ROWS // 2
    # The late-arriving order (older than the watermark, inside the lookback) was loaded,
    # and the watermark moved forward past it.
    late = datetime.strptime(changes.late_order_updated_at, TS_FORMAT)
    assert _naive(second.run("orders").watermark_after) > _naive(
        first.run("orders").watermark_after) > late
    # Contents changed, and still match the source exactly.
    assert second.check("orders").target.checksum != first.check("orders").target.checksum
    # The backfill loaded every chunk at once, then handed over to incremental, which
    # read only the changes (the same rows the incremental table read).
    assert first.run("orders_backfill").steps_committed == -(-ROWS // 20_000)
    assert second.run("orders_backfill").rows_read == orders_read
    assert second.check("orders_backfill").target == second.check("orders").target
    # The rolling window replaced the events with the source's events.
    assert second.check("events_window").target.rows == ROWS // 2 + changes.events_inserted


def test_demo_twice_in_the_same_directory(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    first = run_demo(directory, rows=ROWS)
    assert not first.recreated
    _assert_demo(first)

    second = run_demo(directory, rows=ROWS)
    assert second.recreated
    _assert_demo(second)
    # Same seed, same data: the recreated demo ends in the same state.
    assert [c.target for c in second.rounds[1].checks] == [
        c.target for c in first.rounds[1].checks]


def test_demo_command_reports_matches(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--rows", "1000", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert result.output.count("✔ matches source") == 2 * len(DEMO_TABLES)
    assert "every Delta table matches its source" in result.output
