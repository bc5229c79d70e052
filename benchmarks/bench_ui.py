"""UI benchmark: the dashboard and the filtered table list over a large control DB (PostgreSQL).

Run from the repository root::

    python -m benchmarks.bench_ui                          # 10,000 tables, 1,000,000 runs
    python -m benchmarks.bench_ui --tables 2000 --runs 100000 --requests 20

1. Start a throwaway PostgreSQL (as the tests do), migrate a control DB and fill it with
   N tables over 20 sources and the six built-in strategies, with a realistic mix of
   statuses (mostly succeeded; some failed, queued, running, needs_attention, disabled),
   and M run-history rows spread over the last 30 days. The tables go in with the
   store's own row mapping; the history rows with ``COPY ... FROM STDIN`` (psycopg),
   because a million ``INSERT``s would take longer than the benchmark itself.
2. In a child process, build the app with ``create_app`` on that database, sign in as a
   viewer, warm each page once (imports, the pool's first connection, template
   compilation — a long-lived server pays them once), then request each page
   ``--requests`` times through the WSGI test client. The time measured is the server's:
   from the request entering the WSGI app to the response body being fully produced,
   with no network in between.

Pages: ``dashboard`` (``/``), ``dashboard_charts`` (the JSON the dashboard's charts
fetch), ``tables_filtered`` (the table list filtered by source and
status, sorted, page 2), ``tables_search`` (a name search).

Target (issue #15): p95 <= 300 ms per page. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from benchmarks import _harness as h

MODULE = "benchmarks.bench_ui"
TARGET_P95_MS = 300.0
STRATEGIES = ("full", "incremental", "append_only", "rolling", "check_and_load",
              "chunked_backfill")
SOURCES = tuple(f"src{i:02d}" for i in range(20))
#: The pages measured: name -> path (query strings use the table list's filters).
PAGES = {
    "dashboard": "/",
    "dashboard_charts": "/dashboard/chart-data",
    "tables_filtered": "/tables/?source=src03&status=succeeded&sort=priority&page=2",
    "tables_search": "/tables/?q=t0042",
}
USER, PASSWORD = "bench-viewer", "bench-viewer-password-1"


def _url(server: h.Server, database: str) -> str:
    password = os.environ[h.PASSWORD_ENV]
    return f"postgresql+psycopg://{server.user}:{password}@{server.host}:{server.port}/{database}"


def _status(i: int) -> tuple[str, dict[str, Any]]:
    """A deterministic status mix: 1 % needs_attention, 3 % failed, 2 % running, 1 % queued."""
    bucket = i % 100
    if bucket < 1:
        return "needs_attention", {"retry_count": 3}
    if bucket < 4:
        return "failed", {"retry_count": 1}
    if bucket < 6:
        return "running", {"lease_owner": "bench-worker", "run_generation": 1}
    if bucket < 7:
        return "queued", {}
    return "succeeded", {}


def fill(url: str, dsn: str, tables: int, runs: int, now: datetime) -> None:
    """Migrate and fill the control DB at ``url`` (bulk, not timed)."""
    import psycopg
    import sqlalchemy as sa

    from dataloader_sdk.control import ControlStore
    from dataloader_sdk.control.rows import table_config_values
    from dataloader_sdk.control.schema import table_control as T
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    store = ControlStore.open(url)
    for name in SOURCES:
        store.add_source(SourceConfig(name=name, db_type="sqlalchemy",
                                      options={"url": "sqlite:///unused.db"}), actor="bench")
    store.close()
    rows: list[dict[str, Any]] = []
    for i in range(1, tables + 1):
        name = f"t{i:05d}"
        strategy = STRATEGIES[i % len(STRATEGIES)]
        options: dict[str, Any] = {}
        if strategy in ("incremental", "append_only", "rolling", "chunked_backfill"):
            options = {"cursor": "updated_at", "primary_keys": ["id"]}
            if strategy == "rolling":
                options["window"] = "7d"
            if strategy == "chunked_backfill":
                options.update(start="2020-01-01", chunk_size="30d")
        if strategy == "check_and_load":
            options = {"check_column": "updated_at"}
        cfg = TableConfig(name=name, source=SOURCES[i % len(SOURCES)], source_table=name,
                          target=TargetName("bronze", name), strategy=strategy,
                          strategy_options=options, interval_seconds=3600,
                          priority=i % 10, enabled=i % 50 != 0,
                          freshness_sla_seconds=7200 if i % 3 == 0 else None)
        status, extra = _status(i)
        last = now - timedelta(minutes=10 + i % 120)
        row = {**table_config_values(cfg), "status": status, "state": {}, "retry_count": 0,
               "run_generation": 0, "version": 1, "created_at": now - timedelta(days=30),
               "updated_at": last, "next_run_at": last + timedelta(hours=1),
               "last_run_at": last, "incarnation": uuid.uuid4().hex}
        if status == "running":
            row["lease_expires_at"] = now + timedelta(minutes=5)
        if status == "queued":
            row["queued_at"] = now - timedelta(hours=2)
        row.update(extra)
        rows.append(row)
    engine = sa.create_engine(url).execution_options(schema_translate_map={None: "dataloader"})
    with engine.begin() as conn:
        conn.execute(sa.insert(T), rows)
        ids = {name: table_id for name, table_id in conn.execute(sa.select(T.c.name, T.c.table_id))}
    engine.dispose()
    _copy_runs(dsn, ids, runs, now)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")


def _copy_runs(dsn: str, ids: dict[str, int], runs: int, now: datetime) -> None:
    """``runs`` history rows over 30 days, round-robin over the tables, by COPY."""
    import psycopg

    names = sorted(ids)
    span = 30 * 86400
    columns = ("run_id", "table_id", "table_name", "strategy", "engine", "status",
               "started_at", "finished_at", "rows_read", "rows_written", "steps_committed",
               "note", "error_class", "error_message")
    sql = ("COPY dataloader.historical_metadata (" + ", ".join(columns) + ") FROM STDIN")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(sql) as copy:
        for k in range(runs):
            name = names[k % len(names)]
            started = now - timedelta(seconds=span * (runs - k) / runs)
            failed = k % 37 == 0
            seconds = 5 + (k * 7919) % 600
            copy.write_row((
                uuid.UUID(int=k + 1).hex, ids[name], name, STRATEGIES[k % 6], "delta_rs",
                "failed" if failed else "succeeded", started,
                started + timedelta(seconds=seconds), 1000 + k % 5000,
                0 if failed else 1000 + k % 5000, 0 if failed else 1, "",
                "SourceTransientError" if failed else None,
                "connection reset by peer" if failed else None))


def _settings(url: str, home: str) -> Any:
    """Project settings for the control DB at ``url`` (its password via the environment)."""
    from pathlib import Path

    from sqlalchemy.engine import URL, make_url

    from dataloader_sdk.config import Settings

    parsed = make_url(url)
    os.environ["DATALOADER_CONTROL_PASSWORD"] = parsed.password or ""
    bare = URL.create(parsed.drivername, username=parsed.username, host=parsed.host,
                      port=parsed.port, database=parsed.database).render_as_string()
    (Path(home) / "dataloader.toml").write_text(f'control_url = "{bare}"\n', encoding="utf-8")
    return Settings.load(home=Path(home), require_file=True)


def add_user(url: str, home: str) -> None:
    """The viewer the child signs in as (hashed password, as ``dataloader ui users add``)."""
    from dataloader_sdk.ui.auth import hash_password

    store = _settings(url, home).open_store()
    try:
        store.add_ui_user(USER, role="viewer", password_hash=hash_password(PASSWORD))
    finally:
        store.close()


def _child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    """Build the app, sign in, warm up, then time ``args['requests']`` requests per page."""
    import re

    from dataloader_sdk.ui import UiConfig, create_app

    app = create_app(_settings(args["url"], args["home"]),
                     UiConfig(secret_key="b" * 64, secure_cookies=False))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token is not None, "no CSRF token on the sign-in page"
    signed = client.post("/login", data={"username": USER, "password": PASSWORD,
                                         "csrf_token": token.group(1)})
    if signed.status_code != 302:
        raise RuntimeError(f"sign-in failed ({signed.status_code})")
    timings: dict[str, list[float]] = {}
    for name, path in PAGES.items():
        _get(client, path)  # warm-up: template compilation, first query plans
        samples = []
        for _ in range(args["requests"]):
            start = time.perf_counter()
            _get(client, path)
            samples.append((time.perf_counter() - start) * 1000)
        timings[name] = samples
    return {"rows": args["tables"], "seconds": 0.0, "timings_ms": timings}


def _get(client: Any, path: str) -> None:
    response = client.get(path)
    body = response.get_data()  # the whole body is produced before the clock stops
    if response.status_code != 200 or not body:
        raise RuntimeError(f"GET {path} answered {response.status_code}")


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def main() -> None:
    """Parent: start PostgreSQL, fill the control DB, measure the pages in a child."""
    if "--child" in sys.argv:
        h.child_main(_child, sys.argv)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1_000_000,
                        help="rows in the run history (historical_metadata)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    opts = parser.parse_args()
    import psycopg

    now = datetime.now(timezone.utc)
    with h.postgres() as (server, dsn), tempfile.TemporaryDirectory() as home:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "bench_ui"')
        began = time.perf_counter()
        url = _url(server, "bench_ui")
        db_dsn = dsn.replace("dbname=postgres", "dbname=bench_ui")
        fill(url, db_dsn, opts.tables, opts.runs, now)
        print(f"filled: {opts.tables} tables, {opts.runs} runs in "
              f"{time.perf_counter() - began:.1f} s")
        add_user(url, home)
        run = h.run_child(MODULE, "pages", {"url": url, "home": home, "tables": opts.tables,
                                            "requests": opts.requests})
    timings: dict[str, list[float]] = run.extra["timings_ms"]
    summary = {page: {"n": len(t), "p50_ms": statistics.median(t), "p95_ms": _p95(t),
                      "max_ms": max(t)} for page, t in timings.items()}
    verdicts = []
    for page, s in summary.items():
        ok = s["p95_ms"] <= TARGET_P95_MS
        verdicts.append(ok)
        print(f"{page:16s} p50 {s['p50_ms']:7.1f} ms  p95 {s['p95_ms']:7.1f} ms  max "
              f"{s['max_ms']:7.1f} ms (target p95 <= {TARGET_P95_MS:.0f}): "
              f"{'ok' if ok else 'MISSED'}")
    path = h.write_results("ui", {"tables": opts.tables, "runs": opts.runs,
                                  "requests": opts.requests, "pages": PAGES,
                                  "peak_rss_mb": run.rss_mb, "summary": summary,
                                  "timings_ms": timings})
    print(f"results: {path}")
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
