"""Sensor benchmark: one enqueue_due tick and one monitor pass over 10,000 tables (PostgreSQL).

Run from the repository root::

    python -m benchmarks.bench_sensor                      # 10,000 tables, 3 rounds
    python -m benchmarks.bench_sensor --tables 2000 --repeat 1

1. Start a throwaway PostgreSQL (as the tests do), migrate a control DB and fill it with
   N tables (source ``src``, hourly interval) and ``--history`` runs per table, written
   with the store's own row mapping. Three template databases hold the scenarios:

   * ``due``: every table succeeded an hour ago and is due — the worst tick: all N are
     enqueued (each gets a token) and handed out;
   * ``idle``: nothing is due and nothing is queued — the common tick;
   * ``monitor``: 3 % failed (transient), 2 % running with an expired lease, 1 % queued
     for two hours, 1 % loaded five hours ago (stale, so the engine is asked), the rest
     fresh — one :func:`run_monitors` pass fails the stuck ones, decides every retry and
     checks every table's freshness.

2. Each round copies the template (``CREATE DATABASE ... TEMPLATE``) and runs the mode
   in a child process; the child opens the store before its clock starts and reports
   the wall time of the call alone; peak RSS is the child's ``ru_maxrss`` (see
   ``_harness.py``), so it includes the interpreter, SQLAlchemy and psycopg.

Targets (issue #10): a tick or a pass <= 2 s and <= 300 MB; a tick with nothing due
<= 0.2 s. See docs/scheduling.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from benchmarks import _harness as h

MODULE = "benchmarks.bench_sensor"
SCENARIOS = ("due", "idle", "monitor")
TARGET_SECONDS = {"due": 2.0, "idle": 0.2, "monitor": 2.0}
TARGET_MB = 300.0


def _url(server: h.Server, database: str) -> str:
    import os

    password = os.environ[h.PASSWORD_ENV]
    return f"postgresql+psycopg://{server.user}:{password}@{server.host}:{server.port}/{database}"


def _fill(url: str, scenario: str, tables: int, history: int, now: datetime) -> None:
    """Migrate and fill one template database for ``scenario`` (bulk, not timed)."""
    import sqlalchemy as sa

    from dataloader_sdk.control import ControlStore
    from dataloader_sdk.control.rows import table_config_values
    from dataloader_sdk.control.schema import historical_metadata as HM
    from dataloader_sdk.control.schema import table_control as T
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    store = ControlStore.open(url)
    store.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                  options={"url": "sqlite:///unused.db"}), actor="bench")
    store.close()
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for i in range(1, tables + 1):
        name = f"t{i:05d}"
        cfg = TableConfig(name=name, source="src", source_table=name,
                          target=TargetName("bronze", name), interval_seconds=3600,
                          priority=i % 10)
        status, last, next_run = "succeeded", now - timedelta(minutes=10), now + timedelta(
            minutes=50)
        extra: dict[str, Any] = {}
        if scenario == "due":
            last, next_run = now - timedelta(hours=1), now - timedelta(minutes=1)
        elif scenario == "monitor":
            bucket = i % 100
            if bucket < 3:
                status, next_run = "failed", now - timedelta(minutes=5)
                extra = {"retry_count": 1}
            elif bucket < 5:
                status = "running"
                extra = {"lease_owner": "dead-worker", "lease_expires_at":
                         now - timedelta(minutes=5), "run_generation": 1}
            elif bucket < 6:
                status = "queued"
            elif bucket < 7:
                last = now - timedelta(hours=5)
        row = {**table_config_values(cfg), "status": status, "state": {}, "retry_count": 0,
               "run_generation": 0, "version": 1, "created_at": now - timedelta(days=30),
               "updated_at": now - timedelta(hours=2) if status == "queued" else last,
               "next_run_at": next_run, "last_run_at": last}
        if "incarnation" in T.c:
            row["incarnation"] = uuid.uuid4().hex
        row.update(extra)
        rows.append(row)
        for k in range(history):
            finished = last - timedelta(hours=k)
            failed = k == 0 and status == "failed"
            running = k == 0 and status == "running"
            runs.append({
                "run_id": uuid.uuid4().hex, "table_id": i, "table_name": name,
                "strategy": "full", "engine": "delta_rs",
                "status": "failed" if failed else "running" if running else "succeeded",
                "started_at": finished - timedelta(seconds=30),
                "finished_at": None if running else finished, "rows_read": 100,
                "rows_written": 100, "watermark_before": None, "watermark_after": None,
                "steps_committed": 1, "note": "",
                "error_class": "SourceTransientError" if failed else None,
                "error_message": "timeout" if failed else None, "orchestrator_run_id": None,
            })
    engine = sa.create_engine(url).execution_options(
        schema_translate_map={None: "dataloader"})
    with engine.begin() as conn:
        conn.execute(sa.insert(T), rows)
        for start in range(0, len(runs), 20_000):
            conn.execute(sa.insert(HM), runs[start:start + 20_000])
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    engine.dispose()


def _child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    from dataloader_sdk import orchestration as orch
    from dataloader_sdk.control import ControlStore
    from dataloader_sdk.engines.base import EngineSettings
    from dataloader_sdk.plugins import PluginHost

    store = ControlStore.open(args["url"], upgrade=False)
    engine = PluginHost().engine("delta_rs").open(EngineSettings(root=args["delta_root"]))
    store.list_sources()  # the pool's first connection is made before the clock starts
    now = datetime.fromisoformat(args["now"])
    start = time.perf_counter()
    if mode == "monitor":
        report = orch.run_monitors(store, engine, now=now,
                                   queued_older_than=timedelta(minutes=30))
        seconds = time.perf_counter() - start
        found = {"long_queued": len(report.long_queued),
                 "long_running": len(report.long_running),
                 "requeued": sum(d.action == "requeue" for d in report.retries),
                 "checked": len(report.freshness), "late": len(report.late)}
    else:
        handed = orch.enqueue_due(store, now=now)
        seconds = time.perf_counter() - start
        found = {"handed_out": len(handed)}
    store.close()
    return {"rows": args["tables"], "seconds": seconds, **found}


def main() -> None:
    """Parent: start PostgreSQL, build the templates, run each scenario ``--repeat`` times."""
    if "--child" in sys.argv:
        h.child_main(_child, sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=10,
                        help="runs per table in historical_metadata")
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    import psycopg

    now = datetime.now(timezone.utc)
    results: dict[str, list[h.Run]] = {s: [] for s in SCENARIOS}
    with h.postgres() as (server, dsn), tempfile.TemporaryDirectory() as delta_root:
        for scenario in SCENARIOS:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "tpl_{scenario}"')
            began = time.perf_counter()
            _fill(_url(server, f"tpl_{scenario}"), scenario, opts.tables, opts.history, now)
            print(f"template {scenario}: {opts.tables} tables, "
                  f"{opts.tables * opts.history} runs in {time.perf_counter() - began:.1f} s")
        for round_no in range(opts.repeat):
            for scenario in SCENARIOS:
                name = f"r{round_no}_{scenario}"
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "tpl_{scenario}"')
                run = h.run_child(MODULE, scenario, {
                    "url": _url(server, name), "tables": opts.tables,
                    "delta_root": delta_root, "now": now.isoformat()})
                results[scenario].append(run)
                print(f"{scenario:8s} {run.seconds:7.3f} s {run.rss_mb:6.1f} MB {run.extra}")
    summary = {s: h.summarise(runs) for s, runs in results.items()}
    print()
    verdicts = []
    for scenario in SCENARIOS:
        s = summary[scenario]
        ok = (s["seconds"]["max"] <= TARGET_SECONDS[scenario]
              and s["rss_mb"]["max"] <= TARGET_MB)
        verdicts.append(ok)
        print(f"{scenario:8s} median {s['seconds']['median']:.3f} s (max "
              f"{s['seconds']['max']:.3f}, target {TARGET_SECONDS[scenario]} s), peak RSS "
              f"{s['rss_mb']['max']:.0f} MB (target {TARGET_MB:.0f}): "
              f"{'ok' if ok else 'MISSED'}")
    path = h.write_results("sensor", {"tables": opts.tables, "history": opts.history,
                                      "summary": summary, "runs": results})
    print(f"results: {path}")
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
