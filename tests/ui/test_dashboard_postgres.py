"""The dashboard's and table list's store queries on PostgreSQL (``date_trunc`` /
``extract`` there, ``substr`` / ``julianday`` on SQLite): same answers as the data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dataloader_sdk.control.store import ControlStore
from dataloader_sdk.control.table_listing import TableQuery
from dataloader_sdk.model import RunRecord, SourceConfig, TableConfig, TargetName
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)


@pytest.fixture
def store(pg_server: PostgresServer, pg_database: str) -> Iterator[ControlStore]:
    s = ControlStore.open(pg_server.url(pg_database))
    s.add_source(SourceConfig(name="pg", db_type="postgresql", host="h", database="d"),
                 actor="t")
    for i in range(30):
        s.add_table(TableConfig(f"tab_{i:02d}{'_x' if i % 4 == 0 else ''}", "pg",
                                TargetName("bronze", f"t{i}"), source_table="t",
                                priority=i % 3, enabled=i % 2 == 0), actor="t")
    yield s
    s.close()


def test_run_buckets_per_hour(store: ControlStore) -> None:
    table = store.get_table("tab_01")
    runs = []
    for k in range(9):
        started = NOW - timedelta(minutes=25 * k)
        failed = k % 4 == 3
        runs.append((started, failed, 10 * k, 5 + k))
        store.record_run(RunRecord(
            run_id=f"r{k}", table_id=table.table_id, table="tab_01", strategy="full",
            engine="delta_rs", status="failed" if failed else "succeeded", started_at=started,
            finished_at=started + timedelta(seconds=5 + k), rows_written=10 * k))
    expected: dict[datetime, list[tuple[bool, int, int]]] = {}
    for started, failed, rows, seconds in runs:
        expected.setdefault(started.replace(minute=0, second=0, microsecond=0), []).append(
            (failed, rows, seconds))
    buckets = store.run_buckets(now=NOW, hours=6)
    assert [b.hour for b in buckets] == sorted(expected)
    for b in buckets:
        items = expected[b.hour]
        assert b.runs == len(items) and b.failed == sum(f for f, _, _ in items)
        assert b.rows_written == sum(r for _, r, _ in items)
        assert b.mean_seconds == pytest.approx(sum(s for _, _, s in items) / len(items))


def test_table_page_on_postgres(store: ControlStore) -> None:
    every = sorted(f"tab_{i:02d}{'_x' if i % 4 == 0 else ''}" for i in range(30))
    page = store.list_table_page(TableQuery(page=2, page_size=7))
    assert page.total == 30 and [t.name for t in page.tables] == every[7:14]
    hits = store.list_table_page(TableQuery(search="_X", enabled=True, page_size=100))
    assert [t.name for t in hits.tables] == [n for n in every if n.endswith("_x")]
    by_priority = store.list_table_page(TableQuery(sort="priority", descending=True,
                                                   page_size=100))
    assert [t.name for t in by_priority.tables] == sorted(
        every, key=lambda n: (-(int(n[4:6]) % 3), n))
    assert store.status_counts()["idle"] == 30


def test_late_tables_on_postgres(store: ControlStore) -> None:
    from dataloader_sdk.orchestration.freshness import sla_seconds

    now = datetime.now(timezone.utc)
    for name, success_ago, fail_ago in (("ok_one", 1, None), ("old_ok", 20, None),
                                        ("flaky", 20, 1), ("fine_flaky", 1, 0.5)):
        store.add_table(TableConfig(name, "pg", TargetName("bronze", name), source_table="t",
                                    interval_seconds=300), actor="t")
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
        last = row.last_success_at
        if (now - last).total_seconds() > sla if last else now > row.created_at + timedelta(
                seconds=sla):
            reference.append(row.name)
    assert sorted(reference) == ["flaky", "old_ok"]
    assert sorted(f.name for f in store.late_tables(now=now, limit=100)) == reference
