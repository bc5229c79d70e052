"""Many small tables: per-table overhead, and unchanged runs that must write nothing.

Run from the repository root::

    python -m benchmarks.bench_many_tables                  # 200 tables x 2,000 rows
    python -m benchmarks.bench_many_tables --tables 20 --rows 500
    python -m benchmarks.bench_many_tables --profile        # one table's run, phase by phase

1. Generate ``public.bench_000`` ... (``--tables`` tables of ``--rows`` rows each, the
   columns of ``_harness.SELECT_ROWS``, primary key ``id``, an index on ``updated_at``).
2. ``baseline`` (a child process): a hand-written loop, ``--workers`` threads, each table
   read through ADBC (the connector's read path, a new ADBC database and connection per
   table) into ``write_deltalake``; then ``baseline-kept``, the same loop with one ADBC
   database and connection kept per thread (as the SDK's batch keeps its connectors).
3. ``sdk`` (a child process): configure the project (not timed), then
   ``load_tables(all, max_workers=--workers, per_source_limit=--workers)`` with
   ``incremental`` on ``updated_at`` (timed: the first load), then the same call again with
   nothing changed at the source (timed: the second run), and once more (the third run:
   an unchanged run in a process that ran them unchanged before, as a long-lived
   scheduler's does, with every statement already compiled; session 12 measured it no
   faster than the second, 1.25 s against 1.26 s).
   The Delta versions of every table are counted after each call: the unchanged runs
   must add none. Since session 13 the unchanged calls are answered by the batch's
   unchanged sweep (``unchanged_sweep.py``): one catalog query and one probe pipeline per
   part of the source, the parts on ``--workers`` pooled connectors at once, and one
   control-DB transaction per part for its unchanged runs; since session 14 a part's
   boundary reads go in one psycopg pipeline per 50 tables too (``ReadsTogether``).

``--profile`` instead times one small table's run by phase (claim, plan with its probes,
read + commit, finish; from the run's progress callbacks) over repeated unchanged and
changed runs through one source pool, as in a batch, and prints a cProfile of an unchanged
batch of up to 20 tables run on one thread. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _harness as h

MODULE = "benchmarks.bench_many_tables"


def _name(i: int) -> str:
    return f"bench_{i:03d}"


def generate_many(dsn: str, tables: int, rows: int) -> float:
    """(Re)create ``tables`` tables of ``rows`` rows; returns seconds taken."""
    import psycopg
    from psycopg import sql

    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(tables):
            name = sql.Identifier(_name(i))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
            conn.execute(sql.SQL("CREATE TABLE {} AS ").format(name)
                         + sql.SQL(h.SELECT_ROWS), (1, rows))
            conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(name))
            conn.execute(sql.SQL("CREATE INDEX ON {} (updated_at)").format(name))
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


# -- child side -----------------------------------------------------------------------


def _kept_reader(conninfo: str) -> tuple[Any, Any]:
    """``read(sql)`` on one ADBC database and connection per thread, and ``close()``."""
    import threading

    import adbc_driver_manager as adbc
    import adbc_driver_postgresql
    import pyarrow as pa

    local = threading.local()
    opened: list[Any] = []
    lock = threading.Lock()

    def read(sql: str) -> Any:
        if not hasattr(local, "conn"):
            local.db = adbc_driver_postgresql.connect(conninfo)
            local.conn = adbc.AdbcConnection(local.db)
            with lock:
                opened.extend((local.conn, local.db))
        stmt = adbc.AdbcStatement(local.conn)
        stmt.set_sql_query(sql)
        stmt.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(4 << 20)})
        raw = pa.RecordBatchReader.from_stream(stmt.execute_query()[0])
        schema = pa.schema([
            pa.field(f.name, pa.decimal128(18, 4) if f.name == "amount" else f.type)
            for f in raw.schema
        ])

        def batches() -> Any:
            for b in raw:
                yield pa.RecordBatch.from_arrays(
                    [c.cast(f.type) for c, f in zip(b.columns, schema, strict=True)],
                    schema=schema)
            raw.close()
            stmt.close()

        return pa.RecordBatchReader.from_batches(schema, batches())

    def close() -> None:
        for res in opened:  # connections first, then their databases
            res.close()

    return read, close


def _baseline(server: h.Server, work: str, tables: int, workers: int,
              writer: dict[str, Any], kept: bool = False) -> dict[str, Any]:
    """Hand-written: per table, ADBC → ``write_deltalake``, ``workers`` threads.

    ``kept``: each thread keeps one ADBC database and connection for all its tables (what
    the SDK's batch pool does) instead of connecting per table.
    """
    from concurrent.futures import ThreadPoolExecutor

    from deltalake import write_deltalake

    wp = h.writer_properties(writer)
    read, close = _kept_reader(server.conninfo())

    def one(i: int) -> int:
        sql = h.BASELINE_SELECT.replace("FROM bench", f"FROM {_name(i)}")
        data = read(sql) if kept else h.read_conformed(server.conninfo(), sql)
        rows = 0

        def counted() -> Any:
            nonlocal rows
            for batch in data:
                rows += batch.num_rows
                yield batch

        import pyarrow as pa

        write_deltalake(str(Path(work) / _name(i)), pa.RecordBatchReader.from_batches(
            data.schema, counted()), mode="overwrite", writer_properties=wp)
        return rows

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        rows = sum(pool.map(one, range(tables)))
    seconds = time.perf_counter() - start
    close()
    return {"rows": rows, "seconds": seconds}


def _configure(server: h.Server, home: str, tables: int) -> Any:
    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    loader = DataLoader.from_settings(Settings.default(Path(home)))
    loader.add_source(SourceConfig(
        name="bench", db_type="postgresql", host=server.host, port=server.port,
        database="postgres", username=server.user, secret=f"env:{h.PASSWORD_ENV}",
    ), actor="bench")
    for i in range(tables):
        loader.add_table(TableConfig(
            name=_name(i), source="bench", target=TargetName("bronze", _name(i)),
            source_table=_name(i), source_schema="public", strategy="incremental",
            strategy_options={"primary_keys": ["id"], "watermark_column": "updated_at"},
        ), actor="bench")
    return loader


def _versions(loader: Any, tables: int) -> int:
    """The sum over the tables of their Delta version (commits since creation)."""
    from deltalake import DeltaTable

    from dataloader_sdk.model import TargetName

    return sum(DeltaTable(loader.engine.uri(TargetName("bronze", _name(i)))).version()
               for i in range(tables))


def _sdk(server: h.Server, home: str, tables: int, workers: int) -> dict[str, Any]:
    loader = _configure(server, home, tables)
    names = [_name(i) for i in range(tables)]
    out: dict[str, Any] = {}
    for run in ("first", "second", "third"):
        before = _versions(loader, tables) if run != "first" else -tables
        start = time.perf_counter()
        records = loader.load_tables(names, max_workers=workers, per_source_limit=workers)
        seconds = time.perf_counter() - start
        failed = [r for r in records if r.status != "succeeded"]
        assert not failed, failed[:3]
        out[run] = {
            "seconds": seconds, "rows_read": sum(r.rows_read for r in records),
            "rows_written": sum(r.rows_written for r in records),
            "steps_committed": sum(r.steps_committed for r in records),
            # Counted from the Delta logs, not from the run records.
            "delta_commits": _versions(loader, tables) - before,
        }
    loader.close()
    return {"rows": out["first"]["rows_written"], "seconds": out["first"]["seconds"], **out}


def _profile(server: h.Server, home: str, repeat: int, tables: int) -> dict[str, Any]:
    """Phase spans of one small table's unchanged and changed runs, and a cProfile of an
    unchanged batch of ``tables`` tables run one after the other on this thread.

    Every run goes through one :class:`SourcePool`, as in a ``load_tables`` batch (the
    first run of each table opens the connector, the rest reuse it).
    """
    import cProfile
    import io
    import pstats

    import psycopg
    from psycopg import sql

    from dataloader_sdk.connectors.pool import SourcePool

    loader = _configure(server, home, tables)
    names = [_name(i) for i in range(tables)]
    assert all(r.status == "succeeded" for r in loader.load_tables(names))
    name = names[0]
    sources = SourcePool(1)

    def timed(change: bool) -> dict[str, float]:
        if change:
            table = sql.Identifier(name)
            with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                conn.execute(sql.SQL("UPDATE {} SET qty = qty + 1, updated_at = now() "
                                     "WHERE id = (SELECT max(id) FROM {})").format(table, table))
        marks: dict[str, float] = {}
        start = time.perf_counter()

        def progress(update: Any) -> None:
            marks.setdefault(update.phase, time.perf_counter())

        record = loader.run_claim(loader._claim(name), progress=progress, sources=sources)
        end = time.perf_counter()
        assert record.status == "succeeded", record
        assert (record.steps_committed > 0) == change, record
        claimed = marks["claimed"]
        planned = marks.get("planned", end)
        read = marks.get("reading", planned)
        committed = marks.get("committed", marks.get("finished", end))
        return {"claim": claimed - start, "plan_and_probes": planned - claimed,
                "read_and_commit": committed - read, "finish": end - committed,
                "total": end - start}

    def median(runs: list[dict[str, float]]) -> dict[str, float]:
        return {k: statistics.median(r[k] for r in runs) for k in runs[0]}

    unchanged = [timed(False) for _ in range(repeat)]
    changed = [timed(True) for _ in range(repeat)]
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for other in names:
        loader.run_claim(loader._claim(other), sources=sources)
    profiler.disable()
    batch = time.perf_counter() - start
    sources.close()
    text = io.StringIO()
    text.write(f"unchanged batch of {tables} tables, one thread, profiled: {batch:.2f} s\n")
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    loader.close()
    return {"rows": 0, "seconds": median(unchanged)["total"],
            "unchanged": median(unchanged), "changed": median(changed),
            "cprofile": text.getvalue()}


def child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one mode in this process."""
    server = h.Server(**args["server"])
    h.preimport(["pyarrow", "deltalake", "adbc_driver_manager", "adbc_driver_postgresql",
                 "psycopg"])
    if mode in ("baseline", "baseline-kept"):
        return _baseline(server, args["work"], args["tables"], args["workers"],
                         args["writer"], kept=mode == "baseline-kept")
    h.preimport(["dataloader_sdk", "dataloader_sdk.connectors.postgresql",
                 "dataloader_sdk.engines.delta_rs", "dataloader_sdk.control.store",
                 "dataloader_sdk.strategies.incremental"])
    if mode == "profile":
        return _profile(server, args["home"], args["repeat"], args["tables"])
    return _sdk(server, args["home"], args["tables"], args["workers"])


# -- parent side ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; as parent start PostgreSQL and measure, as child run one mode."""
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        h.child_main(child, argv)
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--profile", action="store_true",
                        help="time one table's run by phase instead (see the docstring)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per --profile figure")
    args = parser.parse_args(argv)
    tables = min(args.tables, 20) if args.profile else args.tables
    with tempfile.TemporaryDirectory(prefix="dl-bench-many-") as tmp, \
            h.postgres() as (server, dsn):
        work = Path(tmp)
        gen = generate_many(dsn, tables, args.rows)
        print(f"== {tables} tables x {args.rows:,} rows (generated in {gen:.1f}s) ==",
              flush=True)
        if args.profile:
            run = h.run_child(MODULE, "profile", {"server": vars(server),
                                                  "home": str(h.fresh_dir(work, "sdk")),
                                                  "repeat": args.repeat,
                                                  "tables": tables})
            for kind in ("unchanged", "changed"):
                spans = "  ".join(f"{k} {v * 1000:.1f} ms" for k, v in run.extra[kind].items())
                print(f"  {kind:<9} (median of {args.repeat}): {spans}")
            print(run.extra["cprofile"])
            path = h.write_results("many_tables_profile", {
                "rows": args.rows, "repeat": args.repeat, "run": run,
                "loadavg_end": os.getloadavg()})
            print(f"\nresults: {path}")
            return 0
        # Alternate nothing: one round each (the machine is shared; see the load figures).
        base = h.run_child(MODULE, "baseline", {
            "server": vars(server), "work": str(h.fresh_dir(work, "baseline")),
            "tables": tables, "workers": args.workers, "writer": h.engine_writer_settings()})
        print(f"  baseline (ADBC -> write_deltalake, {args.workers} threads): "
              f"{base.seconds:6.2f}s {base.rows:,} rows (load {base.loadavg:.1f})", flush=True)
        kept = h.run_child(MODULE, "baseline-kept", {
            "server": vars(server), "work": str(h.fresh_dir(work, "baseline-kept")),
            "tables": tables, "workers": args.workers, "writer": h.engine_writer_settings()})
        print(f"  baseline, one ADBC connection per thread:  {kept.seconds:6.2f}s "
              f"{kept.rows:,} rows (load {kept.loadavg:.1f})", flush=True)
        sdk = h.run_child(MODULE, "sdk", {
            "server": vars(server), "home": str(h.fresh_dir(work, "sdk")),
            "tables": tables, "workers": args.workers})
        first, second = sdk.extra["first"], sdk.extra["second"]
        print(f"  sdk first load:    {first['seconds']:6.2f}s {first['rows_written']:,} rows, "
              f"{first['delta_commits']} Delta commits (load {sdk.loadavg:.1f})")
        print(f"  sdk unchanged run: {second['seconds']:6.2f}s {second['rows_read']:,} rows "
              f"re-read, {second['rows_written']} written, {second['delta_commits']} Delta "
              "commits")
        third = sdk.extra["third"]
        print(f"  sdk unchanged again: {third['seconds']:6.2f}s, {third['delta_commits']} Delta "
              "commits (statements built before)")
    ratio = first["seconds"] / base.seconds
    kept_ratio = first["seconds"] / kept.seconds
    speedup = first["seconds"] / second["seconds"]
    print(f"\nfirst load / baseline: {ratio:.2f}x (target <= 1.3x); / the baseline with kept "
          f"connections: {kept_ratio:.2f}x; unchanged run "
          f"{speedup:.1f}x faster than the first (target >= 5x) with "
          f"{second['delta_commits']} commits (target 0); unchanged again "
          f"{first['seconds'] / third['seconds']:.1f}x faster")
    path = h.write_results("many_tables", {
        "tables": tables, "rows": args.rows, "workers": args.workers, "generate_seconds": gen,
        "baseline": base, "baseline_kept": kept, "sdk": sdk, "first_vs_baseline": ratio,
        "first_vs_baseline_kept": kept_ratio,
        "unchanged_speedup": speedup, "unchanged_commits": second["delta_commits"],
        "unchanged_again_speedup": first["seconds"] / third["seconds"],
        "loadavg_end": os.getloadavg(),
    })
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
