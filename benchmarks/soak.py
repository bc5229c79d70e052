"""Soak: many workers load many tables from changing sources, under faults and kills.

Run from the repository root::

    python -m benchmarks.soak                      # 8 workers, 200 tables, 30 minutes
    python -m benchmarks.soak --minutes 10 --json
    python -m benchmarks.soak --short              # 4 workers, 20 tables, 75 s (CI)

Setup: one throwaway PostgreSQL server (tests/servers/postgres.py) holds the **control
DB** (``ControlStore`` over ``postgresql+psycopg``) and a PostgreSQL source database;
most tables live in SQLite source files (``sqlalchemy`` connector), ~20 % in the
PostgreSQL source (``postgresql`` connector, its own login role). Targets are local
Delta tables (``delta_rs``). Strategies: ``incremental`` (merge on ``id``, 60 s
lookback), ``append_only`` (identity cursor), ``full``, ``rolling`` (7-day window);
intervals of a few seconds.

Processes: ``--workers`` worker processes each loop ``DataLoader.load_due`` (lease
``--lease-seconds``); a change driver (benchmarks/_soak_sources.py) applies random
inserts, updates (the cursor moves forward), late rows inside the lookback and deletes
(``full``, ``rolling``), and makes SQLite sources unavailable; the supervisor
(benchmarks/_soak_faults.py) kills and restarts workers, terminates control DB sessions,
refuses the PostgreSQL source, and runs the monitor.

End: changes and faults stop at ``--minutes``; workers drain until every table has a
succeeded run that started after the last change (deadline ``--drain-seconds``); then
each Delta table is compared with its source read by raw ``sqlite3``/``psycopg``
(benchmarks/_soak_check.py): rows lost, duplicated and stale must all be 0, or the exit
status is 1.

**Staleness.** For every committed source change at wall time ``e``, its staleness is
``f - e``, where ``f`` is the finish time of the first succeeded run of that table that
started after ``e``. That run's probe and read certainly saw the change (an earlier run
whose probe came after ``e`` may have loaded it sooner, so this is an upper bound; the
Delta commit is visible slightly before ``f``). The report gives the worst, median and
95th percentile over all changes, and the table of the worst. It includes waiting for
the table's interval, for a free worker, and for retries after faults.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import _harness as h
from benchmarks import _soak_sources as src
from benchmarks._soak_driver import Driver
from benchmarks._soak_faults import ROOT, Monitor, PgFaults, Workers
from benchmarks._soak_report import build_report, print_report

CONTROL_PASSWORD_ENV = "DATALOADER_CONTROL_PASSWORD"
SOURCE_PASSWORD_ENV = "SOAK_SRC_PASSWORD"
ADMIN_PASSWORD_ENV = "SOAK_ADMIN_PASSWORD"


@dataclass(frozen=True)
class SoakConfig:
    """Everything a soak run depends on (all settable from the command line)."""

    workers: int = 8
    tables: int = 200
    minutes: float = 30.0
    seed: int = 1
    threads: int = 2              # load_due max_workers (and claim limit) per worker
    lease_seconds: int = 20
    interval_min: int = 2
    interval_max: int = 6
    change_rate: float = 20.0     # source changes per second, over all tables
    fault_every: float = 30.0     # mean seconds between two faults of one kind
    pg_share: float = 0.2         # share of tables in the PostgreSQL source
    max_retries: int = 20
    retry_delay: int = 2
    drain_seconds: float = 600.0
    poll_seconds: float = 0.5     # a worker's pause when nothing was due

    @classmethod
    def short(cls, **overrides: Any) -> SoakConfig:
        """The CI configuration: 4 workers, 20 tables, 75 s of changes."""
        base = cls(workers=4, tables=20, minutes=1.25, change_rate=10.0, fault_every=10.0,
                   drain_seconds=240.0)
        return replace(base, **overrides)


# -- children -------------------------------------------------------------------------------


def _worker(args: dict[str, Any]) -> None:
    """Loop ``load_due`` until the stop file appears; log what escapes it."""
    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.control.store import RetryPolicy

    settings = Settings(home=Path(args["home"]), control_url=args["control_url"],
                        delta_root=args["delta_root"])
    stop = Path(args["stop"])
    events = Path(args["events"])
    loader = None
    while not stop.exists():
        loaded = 0
        try:
            if loader is None:
                loader = DataLoader.from_settings(
                    settings, lease_seconds=args["lease_seconds"],
                    worker_id=f"soak-w{args['index']}-{os.getpid()}")
                loader.store.retry = RetryPolicy(max_retries=args["max_retries"],
                                                 delay_seconds=args["retry_delay"])
            loaded = len(loader.load_due(max_workers=args["threads"],
                                         per_source_limit=args["threads"],
                                         limit=args["threads"]))
        except Exception as exc:  # recorded as a finding: nothing should escape load_due
            with events.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"pid": os.getpid(), "class": _qualname(exc),
                                    "message": str(exc)[:500]}) + "\n")
            time.sleep(args["poll_seconds"])
        if not loaded:
            time.sleep(args["poll_seconds"])  # pacing between polls of the control DB


def _driver(args: dict[str, Any]) -> None:
    """Run the change driver until the stop file appears; write its figures as JSON."""
    import threading

    specs = [src.TableSpec(**s) for s in args["specs"]]
    conninfo = args["pg_conninfo"]
    if conninfo:
        conninfo += f" password={os.environ[ADMIN_PASSWORD_ENV]}"
    driver = Driver(specs, conninfo, args["seed"], args["change_rate"],
                        args["fault_every"], Path(args["fault_events"]))
    stop = Path(args["stop"])

    def watch() -> None:
        while not driver.stop.wait(0.2):
            if stop.exists():
                driver.stop.set()

    threading.Thread(target=watch, daemon=True).start()
    result = driver.run()
    Path(args["out"]).write_text(json.dumps(result), encoding="utf-8")


def _retry(config: SoakConfig) -> Any:
    from dataloader_sdk.control.store import RetryPolicy

    return RetryPolicy(max_retries=config.max_retries, delay_seconds=config.retry_delay)


def _without_password(conninfo: str) -> str:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(conninfo)
    parts.pop("password", None)
    return make_conninfo(**parts)  # type: ignore[arg-type]


def _qualname(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


# -- setup ----------------------------------------------------------------------------------


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _admin_factory(dsn: str) -> Callable[[str | None], Any]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    def admin(dbname: str | None) -> Any:
        kw = {"dbname": dbname} if dbname else {}
        return psycopg.connect(make_conninfo(dsn, **kw), autocommit=True)

    return admin


def _create_databases(admin: Callable[[str | None], Any], tag: str, reader_pw: str) -> None:
    from psycopg import sql

    with admin(None) as conn:
        for db in (f"{tag}_control", f"{tag}_src"):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        # CREATE ROLE takes no bind parameters: the password is rendered by psycopg.
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(f"{tag}_reader"), sql.Literal(reader_pw)))


def _drop_databases(admin: Callable[[str | None], Any], tag: str) -> None:
    from psycopg import sql

    with admin(None) as conn:
        for db in (f"{tag}_control", f"{tag}_src"):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(db)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(f"{tag}_reader")))


def _configure(loader: Any, specs: list[src.TableSpec], pg: dict[str, Any], tag: str,
               seed: int, config: SoakConfig) -> None:
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    rng = random.Random(seed + 4)
    added: set[str] = set()
    for spec in specs:
        if spec.source in added:
            continue
        added.add(spec.source)
        if spec.path is not None:
            cfg = SourceConfig(name=spec.source, db_type="sqlalchemy",
                               options={"url": f"sqlite:///{spec.path}"})
        else:
            cfg = SourceConfig(name=spec.source, db_type="postgresql", host=pg["host"],
                               port=int(pg["port"]), database=f"{tag}_src",
                               username=f"{tag}_reader", secret=f"env:{SOURCE_PASSWORD_ENV}",
                               options={"connect_timeout": 5})
        loader.add_source(cfg, actor="soak")
    for spec in specs:
        loader.add_table(TableConfig(
            name=spec.name, source=spec.source, target=TargetName("soak", spec.name),
            source_table=spec.name, source_schema="public" if spec.backend == "pg" else None,
            strategy=spec.strategy, strategy_options=spec.options(),
            interval_seconds=rng.randint(config.interval_min, config.interval_max),
        ), actor="soak")


# -- the run --------------------------------------------------------------------------------


def run_soak(config: SoakConfig, *, pg_dsn: str | None = None,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run one soak; returns the report (see :func:`print_report`).

    Args:
        config: sizes, durations and fault rates.
        pg_dsn: a libpq key/value DSN of an existing server's superuser (e.g. the test
            fixture's); without one a throwaway server is started and stopped.
        log: where progress lines go.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from dataloader_sdk import DataLoader, Settings

    started = time.monotonic()
    with ExitStack() as stack:
        if pg_dsn is None:
            from tests.servers.postgres import start_postgres

            server = start_postgres(max_connections=400)
            stack.callback(server.stop)
            pg_dsn = server.dsn()
        pg = conninfo_to_dict(pg_dsn)
        admin = _admin_factory(pg_dsn)
        tag = f"soak_{secrets.token_hex(4)}"
        reader_pw = secrets.token_hex(16)
        work = Path(tempfile.mkdtemp(prefix="dl-soak-"))
        stack.callback(shutil.rmtree, work, True)
        _create_databases(admin, tag, reader_pw)
        stack.callback(_drop_databases, admin, tag)
        src_conninfo = make_conninfo(pg_dsn, dbname=f"{tag}_src")
        specs = src.plan_tables(config.tables, config.seed, work, config.pg_share)
        src.create_sources(specs, src_conninfo, config.seed)
        with admin(f"{tag}_src") as conn:
            from psycopg import sql

            conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(f"{tag}_reader")))
        env = {CONTROL_PASSWORD_ENV: str(pg["password"]), SOURCE_PASSWORD_ENV: reader_pw,
               ADMIN_PASSWORD_ENV: str(pg["password"])}
        stack.enter_context(_environ(env))
        control_url = f"postgresql+psycopg://{pg['user']}@{pg['host']}:{pg['port']}/{tag}_control"
        settings = Settings(home=work, control_url=control_url, delta_root=str(work / "delta"))
        loader = DataLoader.from_settings(settings)
        stack.callback(loader.close)
        loader.store.retry = _retry(config)
        _configure(loader, specs, pg, tag, config.seed, config)
        log(f"soak: {len(specs)} tables ({dict(Counter(s.strategy for s in specs))}), "
            f"{config.workers} workers, {config.minutes:g} min; work dir {work}")

        child_env = {**os.environ, "PYTHONPATH": str(ROOT)}
        stop_workers, stop_driver = work / "stop-workers", work / "stop-driver"
        events, fault_events = work / "escaped.jsonl", work / "source-faults.jsonl"
        workers = Workers(config.workers, {
            "home": str(work), "control_url": control_url, "delta_root": settings.delta_root,
            "stop": str(stop_workers), "events": str(events), "threads": config.threads,
            "lease_seconds": config.lease_seconds, "max_retries": config.max_retries,
            "retry_delay": config.retry_delay, "poll_seconds": config.poll_seconds,
        }, child_env, work)
        driver_out = work / "driver.json"
        driver_log = (work / "driver.log").open("ab")
        driver = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.soak", "--child", "driver", "--args", json.dumps({
                "specs": [asdict(s) for s in specs],
                "pg_conninfo": _without_password(src_conninfo),
                "seed": config.seed, "change_rate": config.change_rate,
                "fault_every": config.fault_every, "fault_events": str(fault_events),
                "stop": str(stop_driver), "out": str(driver_out)})],
            cwd=ROOT, env=child_env, stdout=driver_log, stderr=subprocess.STDOUT)
        driver_log.close()
        monitor = Monitor(loader.store, fault_events)
        faults = PgFaults(workers, admin, f"{tag}_control", f"{tag}_reader",
                          config.fault_every, config.seed)
        try:
            workers.start()
            monitor.start()
            faults.start()
            end = time.monotonic() + config.minutes * 60
            while time.monotonic() < end and driver.poll() is None:
                time.sleep(min(5.0, max(0.0, end - time.monotonic())))  # wall-clock pacing
                log(f"  {time.monotonic() - started:6.0f}s  faults {faults.counts}  "
                    f"monitor failed {monitor.failed_stuck} requeued {monitor.requeued}  "
                    f"load {os.getloadavg()[0]:.1f}")
            stop_driver.touch()
            driver.wait(timeout=120)
            faults.stop()
            if driver.returncode != 0:
                raise RuntimeError(f"the change driver failed (exit {driver.returncode}); "
                                   f"see {work / 'driver.log'}:\n"
                                   f"{(work / 'driver.log').read_text()[-3000:]}")
            changes_s = time.monotonic() - started
            stop_at = datetime.now(timezone.utc)
            loaded = _drain(loader.store, {s.name for s in specs}, stop_at,
                            config.drain_seconds, log)
            drain_s = time.monotonic() - started - changes_s
        finally:
            if driver.poll() is None:
                driver.kill()
            faults.stop()
            workers.stop(stop_workers)
            monitor.stop()
        driver_result = json.loads(driver_out.read_text(encoding="utf-8"))
        report = build_report(config, loader, specs, src_conninfo, driver_result, faults,
                              workers, monitor, events, loaded, changes_s, drain_s,
                              [str(pg["password"]), reader_pw])
    report["seconds_total"] = round(time.monotonic() - started, 1)
    return report


def _drain(store: Any, names: set[str], stop_at: datetime, deadline_s: float,
           log: Callable[[str], None]) -> set[str]:
    """Poll until every table has a succeeded run started after ``stop_at`` (or deadline)."""
    loaded: set[str] = set()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and loaded != names:
        try:
            for run in store.runs(None, limit=5000):
                if run.status == "succeeded" and run.started_at > stop_at:
                    loaded.add(run.table)
        except Exception as exc:  # the control DB may still be recovering; poll again
            log(f"  drain: {type(exc).__name__}: {exc}")
        if loaded != names:
            time.sleep(1.0)
    log(f"  drain: {len(loaded)}/{len(names)} tables loaded after the last change")
    return loaded


# -- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run a soak (or, as a child, a worker or the driver)."""
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        role = argv[argv.index("--child") + 1]
        args = json.loads(argv[argv.index("--args") + 1])
        {"worker": _worker, "driver": _driver}[role](args)
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true",
                        help="the CI configuration (4 workers, 20 tables, 75 s)")
    for f in fields(SoakConfig):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default),
                            default=None, help=f"default {f.default}")
    parser.add_argument("--pg-dsn", help="use this server (superuser libpq DSN) instead of "
                        "starting one")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f in fields(SoakConfig)
                 if getattr(args, f.name) is not None}
    config = SoakConfig.short(**overrides) if args.short else replace(SoakConfig(), **overrides)
    report = run_soak(config, pg_dsn=args.pg_dsn,
                      log=lambda line: print(line, file=sys.stderr, flush=True))
    path = h.write_results("soak", report)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)
    print(f"results: {path}", file=sys.stderr)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
