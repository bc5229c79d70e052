"""The dashboard: counts by status, what needs attention, recent failures, stuck tables
and the hourly run summary behind the charts, each checked against raw ``sqlite3``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.ui._client import text_of
from tests.ui.conftest import control_db


def test_counts_attention_and_failures(viewer: FlaskClient, ui_home: Path) -> None:
    conn = control_db(ui_home)
    try:
        counts = dict(conn.execute("SELECT status, count(*) FROM table_control "
                                   "GROUP BY status").fetchall())
        attention = [r[0] for r in conn.execute(
            "SELECT name FROM table_control WHERE status='needs_attention' ORDER BY name")]
        failures = conn.execute("SELECT table_name, error_class FROM historical_metadata "
                                "WHERE status='failed'").fetchall()
    finally:
        conn.close()
    body = text_of(viewer.get("/"))
    for status, n in counts.items():
        assert (f'<a href="/tables/?status={status}" class="status-{status}">'
                f'<span class="n">{n}</span>{status}</a>') in body
    assert '<span class="n">0</span>running' in body
    assert attention == ["payments"] and 'href="/tables/payments">payments</a>' in body
    assert failures and all(f"{error}" in body for _, error in failures)
    assert 'id="chart-rows"' in body and "chart.umd.min.js" in body
    assert "js/dashboard.js" in body


def test_chart_data_matches_the_run_history(viewer: FlaskClient, ui_home: Path) -> None:
    data = viewer.get("/dashboard/chart-data").get_json()
    conn = control_db(ui_home)
    try:
        since = (datetime.now(timezone.utc) - timedelta(hours=48)).strftime("%Y-%m-%d %H:%M:%S")
        rows = conn.execute(
            "SELECT substr(started_at, 1, 13), count(*), sum(rows_written), "
            "sum(status = 'failed') FROM historical_metadata WHERE started_at >= ? "
            "GROUP BY 1 ORDER BY 1", (since,)).fetchall()
    finally:
        conn.close()
    assert len(rows) >= 10
    assert data["runs"] == [r[1] for r in rows]
    assert data["rows_written"] == [r[2] for r in rows]
    assert data["failed"] == [r[3] for r in rows]
    assert data["labels"] == [f"{r[0][5:10]} {r[0][11:13]}:00" for r in rows]
    assert all(s is None or s > 0 for s in data["mean_seconds"])


def test_long_queued_tables_are_reported_not_changed(ui_app: Flask, viewer: FlaskClient,
                                                     ui_home: Path) -> None:
    from dataloader_sdk.ui.context import services

    with ui_app.app_context():
        store = services().store("dataloader")
        store.set_status("shipments", "queued", actor="t", reason="test")
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        stuck = store.stuck_tables(now=later, queued_for=timedelta(minutes=30))
        assert [(s.name, s.status) for s in stuck] == [("shipments", "queued")]
        assert store.stuck_tables(now=datetime.now(timezone.utc)) == []
    assert "No table is stuck." in text_of(viewer.get("/"))
    conn = control_db(ui_home)
    try:
        assert conn.execute("SELECT status FROM table_control WHERE name='shipments'"
                            ).fetchone() == ("queued",)
    finally:
        conn.close()


def test_long_running_tables_are_listed_on_the_page(ui_app: Flask, viewer: FlaskClient) -> None:
    from dataloader_sdk.model import RunRecord
    from dataloader_sdk.ui.context import services

    now = datetime.now(timezone.utc)
    with ui_app.app_context():
        store = services().store("dataloader")
        claim = store.claim("customers", owner="w1", lease_seconds=3600, now=now)
        store.record_run(RunRecord(
            run_id="open-run", table_id=claim.table.table_id, table="customers",
            strategy="full", engine="delta_rs", status="running",
            started_at=now - timedelta(hours=3)))
        stuck = store.stuck_tables(now=now, running_for=timedelta(hours=2))
        assert [(s.name, s.status) for s in stuck] == [("customers", "running")]
        assert store.stuck_tables(now=now, running_for=timedelta(hours=4)) == []
    body = text_of(viewer.get("/"))
    assert 'href="/tables/customers">customers</a> — running since' in body


def test_stale_landing_tables_are_listed(ui_app: Flask, viewer: FlaskClient) -> None:
    from dataloader_sdk.model import RunRecord, TableConfig, TargetName
    from dataloader_sdk.ui.context import services

    now = datetime.now(timezone.utc)
    with ui_app.app_context():
        store = services().store("dataloader")
        for name in ("late_one", "new_one"):
            store.add_table(TableConfig(name, "local", TargetName("bronze", name),
                                        source_table="customers", interval_seconds=60),
                            actor="t")
        store.record_run(RunRecord(
            run_id="late-run", table_id=store.get_table("late_one").table_id,
            table="late_one", strategy="full", engine="delta_rs", status="succeeded",
            started_at=now - timedelta(hours=2),
            finished_at=now - timedelta(hours=1, minutes=3)))
    body = text_of(viewer.get("/"))
    section = body.split('id="stale-h"')[1].split("</section>")[0]
    # SLA 3 x 60 s; last success 1 h 3 min ago: 1 h past it. Never loaded but just
    # added: pending, not listed.
    assert 'href="/tables/late_one">late_one</a> — stale, 1.0 h past its SLA' in section
    assert "new_one" not in section


def test_late_tables_agree_with_the_landing_rows(ui_app: Flask) -> None:
    """``late_tables`` reads few run rows; the monitors' landing query reads them all.
    Both must name the same late tables, including one whose last run (recent) failed."""
    from dataloader_sdk.model import RunRecord, TableConfig, TargetName
    from dataloader_sdk.orchestration.freshness import sla_seconds
    from dataloader_sdk.ui.context import services

    now = datetime.now(timezone.utc)
    with ui_app.app_context():
        store = services().store("dataloader")
        for name, success_ago, fail_ago in (("ok_one", 1, None), ("old_ok", 20, None),
                                            ("flaky", 20, 1), ("fine_flaky", 1, 0.5)):
            store.add_table(TableConfig(name, "local", TargetName("bronze", name),
                                        source_table="customers", interval_seconds=300),
                            actor="t")
            for ago, status in ((success_ago, "succeeded"), (fail_ago, "failed")):
                if ago is None:
                    continue
                at = now - timedelta(minutes=ago)
                claim = store.claim(name, owner="w", lease_seconds=60, now=at)
                store.record_run(RunRecord(
                    run_id=f"{name}-{status}", table_id=claim.table.table_id, table=name,
                    strategy="full", engine="delta_rs", status=status,  # type: ignore[arg-type]
                    started_at=at - timedelta(seconds=5), finished_at=at))
                store.finish(claim, status=status, now=at)  # type: ignore[arg-type]
        reference = []
        for row in store.orchestration_landing():
            sla = sla_seconds(row)
            assert sla is not None
            if row.last_success_at is not None:
                late = (now - row.last_success_at).total_seconds() > sla
            else:
                late = now > row.created_at + timedelta(seconds=sla)
            if late:
                reference.append(row.name)
        got = [f.name for f in store.late_tables(now=now, limit=1000)]
    assert "flaky" in reference and "old_ok" in reference and "fine_flaky" not in reference
    assert sorted(got) == sorted(reference)
