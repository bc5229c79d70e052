"""Full-load benchmark: hand-written ADBC → Delta baseline vs the SDK, plus raw read paths.

Run from the repository root::

    python -m benchmarks.bench_full_load --rows 1000000
    python -m benchmarks.bench_full_load --rows 200000 --modes baseline,sdk

Each mode runs in its own subprocess, which reports its wall time and its own peak RSS
(``ru_maxrss`` of the child itself), so memory is measured per path. See README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODES = ("baseline", "sdk", "read-adbc", "read-connectorx", "read-psycopg-copy")
TABLE_SQL = """
CREATE TABLE bench AS SELECT
  g::bigint AS id, (g %% 100000)::int AS qty, (g * 1.2345)::numeric(18, 4) AS amount,
  g * 0.5::double precision AS score, md5(g::text)::varchar(64) AS code,
  CASE WHEN g %% 5 = 0 THEN NULL ELSE 'note ' || g END AS note,
  timestamptz '2020-01-01' + g * interval '1 second' AS updated_at,
  date '2020-01-01' + (g %% 1000) AS day, g %% 2 = 0 AS flag, md5(g::text)::uuid AS uid
FROM generate_series(1, %s) AS g
"""
COLUMNS = "id, qty, amount, score, code, note, updated_at, day, flag, uid"


def _baseline(conninfo: str, out: str) -> int:
    # The hand-written reference: ADBC binary COPY straight into write_deltalake.
    import adbc_driver_manager as adbc
    import adbc_driver_postgresql
    import pyarrow as pa
    from deltalake import write_deltalake

    db = adbc_driver_postgresql.connect(conninfo)
    conn = adbc.AdbcConnection(db)
    stmt = adbc.AdbcStatement(conn)
    stmt.set_sql_query("SELECT id, qty, amount::text AS amount, score, code, note, updated_at, "
                       "day, flag, uid::text AS uid FROM bench")
    raw = pa.RecordBatchReader.from_stream(stmt.execute_query()[0])
    fields = [pa.field(f.name, pa.decimal128(18, 4) if f.name == "amount" else f.type)
              for f in raw.schema]
    schema = pa.schema(fields)
    batches = (pa.RecordBatch.from_arrays(
        [c.cast(f.type) for c, f in zip(b.columns, fields, strict=True)], schema=schema)
        for b in raw)
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    write_deltalake(out, reader, mode="overwrite")
    for res in (raw, stmt, conn, db):
        res.close()
    return -1


def _sdk(server: dict[str, Any], out: str) -> int:
    from datetime import datetime, timezone

    from deltalake import write_deltalake

    from dataloader_sdk.lineage import with_lineage
    from dataloader_sdk.model import Select, SourceObject

    # TODO(facade): replace this block with the facade call once the benchmark wires a
    # control store: DataLoader(store, engine).load_table("bench") with a "full" table.
    conn = _connector(server, "adbc")
    try:
        reader = conn.read(Select(SourceObject(table="bench", schema="public")))
        counted = with_lineage(reader, run_id="bench", loaded_at=datetime.now(timezone.utc),
                               source="bench:public.bench")
        write_deltalake(out, counted.reader, mode="overwrite")
    finally:
        conn.close()
    return -1


def _read_only(server: dict[str, Any], path: str) -> int:
    from dataloader_sdk.model import Select, SourceObject

    conn = _connector(server, path)
    rows = 0
    try:
        for batch in conn.read(Select(SourceObject(table="bench"))):
            rows += batch.num_rows
    finally:
        conn.close()
    return rows


def _psycopg_copy(conninfo: str) -> int:
    # psycopg binary COPY parsed in C into Python tuples, then Arrow arrays per batch.
    import psycopg
    import pyarrow as pa

    rows = 0
    names = COLUMNS.split(", ")
    types = ["int8", "int4", "numeric", "float8", "varchar", "text", "timestamptz", "date",
             "bool", "text"]
    sql = ("COPY (SELECT id, qty, amount, score, code, note, updated_at, day, flag, "
           "uid::text FROM bench) TO STDOUT ")
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur, \
            cur.copy(sql + "(FORMAT BINARY)") as copy:
        copy.set_types(types)
        buf: list[tuple[Any, ...]] = []
        for row in copy.rows():
            buf.append(row)
            if len(buf) == 65_536:
                rows += pa.table([list(c) for c in zip(*buf, strict=True)], names=names).num_rows
                buf = []
        if buf:
            rows += pa.table([list(c) for c in zip(*buf, strict=True)], names=names).num_rows
    return rows


def _connector(server: dict[str, Any], path: str) -> Any:
    from dataloader_sdk.connectors.postgresql import PostgresConnectorFactory
    from dataloader_sdk.model import SourceConfig
    from dataloader_sdk.secrets import Secret

    cfg = SourceConfig(name="bench", db_type="postgresql", host=server["host"],
                       port=server["port"], database="postgres", username=server["user"],
                       options={"read_path": path})
    return PostgresConnectorFactory().open(cfg, Secret(server["password"]))


def _delta_rows(out: str) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(out).get_add_actions(flatten=True))
    return int(pc.sum(actions["num_records"]).as_py())


def child(mode: str, server: dict[str, Any], out: str) -> None:
    """Run one mode in this process and print ``{"rows", "seconds", "rss_mb"}``."""
    # Import everything before the clock starts: a worker pays imports once per process,
    # not per load. (adbc_driver_manager.dbapi is avoided: it pulls in pandas, ~1.5 s.)
    import importlib

    for module in ("pyarrow", "deltalake", "psycopg", "adbc_driver_manager",
                   "adbc_driver_postgresql", "dataloader_sdk.connectors.postgresql",
                   "dataloader_sdk.lineage"):
        importlib.import_module(module)
    if mode == "read-connectorx":
        importlib.import_module("connectorx")

    conninfo = (f"host={server['host']} port={server['port']} user={server['user']} "
                f"password={server['password']} dbname=postgres")
    start = time.perf_counter()
    if mode == "baseline":
        rows = _baseline(conninfo, out)
    elif mode == "sdk":
        rows = _sdk(server, out)
    elif mode == "read-psycopg-copy":
        rows = _psycopg_copy(conninfo)
    else:
        rows = _read_only(server, mode.removeprefix("read-"))
    seconds = time.perf_counter() - start
    if rows < 0:  # a write mode: count what landed in the Delta table (outside the timing)
        rows = _delta_rows(out)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "rss_mb": rss_mb}))


def main(argv: list[str] | None = None) -> int:
    """Start PostgreSQL, build the table, run every mode in a subprocess, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated subset of {', '.join(MODES)}")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; best is kept")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--server", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, json.loads(args.server), args.out)
        return 0

    import psycopg

    from tests.servers.postgres import start_postgres

    server = start_postgres()
    work = Path(tempfile.mkdtemp(prefix="dl-bench-"))
    try:
        info = {"host": server.host, "port": server.port, "user": server.user,
                "password": server.password}
        t0 = time.perf_counter()
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(TABLE_SQL, (args.rows,))
            conn.execute("ALTER TABLE bench ADD PRIMARY KEY (id)")
            conn.execute("VACUUM ANALYZE bench")
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)
        results: dict[str, dict[str, float]] = {}
        for mode in args.modes.split(","):
            for i in range(args.repeat):
                out = work / f"{mode}-{i}"
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.bench_full_load", "--child", mode,
                     "--server", json.dumps(info), "--out", str(out)],
                    capture_output=True, text=True, check=False,
                )
                if proc.returncode != 0:
                    print(f"{mode}: FAILED\n{proc.stderr[-2000:]}", flush=True)
                    break
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                best = results.get(mode)
                if best is None or res["seconds"] < best["seconds"]:
                    results[mode] = res
                shutil.rmtree(out, ignore_errors=True)
            if mode in results:
                r = results[mode]
                print(f"  {mode:<18} {r['seconds']:.2f}s  {r['rss_mb']:.0f} MB", flush=True)
        _report(results)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _report(results: dict[str, dict[str, float]]) -> None:
    print(f"\n{'mode':<18} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    for mode, r in results.items():
        print(f"{mode:<18} {int(r['rows']):>10,} {r['seconds']:>8.2f} "
              f"{r['rows'] / r['seconds']:>10,.0f} {r['rss_mb']:>12.0f}")
    if "baseline" in results and "sdk" in results:
        ratio = results["sdk"]["seconds"] / results["baseline"]["seconds"]
        print(f"\nSDK/baseline wall-time ratio: {ratio:.2f}x (target <= 1.2x); "
              f"SDK peak RSS {results['sdk']['rss_mb']:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
