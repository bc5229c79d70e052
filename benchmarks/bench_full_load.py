"""Full-load benchmark: hand-written ADBC → write_deltalake baseline vs the SDK facade.

Run from the repository root::

    python -m benchmarks.bench_full_load                              # 1M rows, 3 rounds
    python -m benchmarks.bench_full_load --rows 1000000,5000000 --repeat 3
    python -m benchmarks.bench_full_load --rows 200000 --modes baseline,sdk,read-adbc

For each size the table is generated once, then every round runs each mode once in its
own subprocess, alternating which mode goes first. Peak RSS is the child's ``ru_maxrss``
(see ``_harness.py``). Results go to benchmarks/results/ as JSON. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _harness as h

MODULE = "benchmarks.bench_full_load"
MODES = ("baseline", "sdk", "read-adbc", "read-connectorx", "read-psycopg-copy")
DEFAULT_MODES = ("baseline", "sdk")


# -- child side -----------------------------------------------------------------------


def _baseline(server: h.Server, out: str, writer: dict[str, Any]) -> dict[str, Any]:
    """Hand-written: ADBC binary COPY → decimal cast → write_deltalake, engine's settings."""
    from deltalake import write_deltalake

    settings = {"target_file_size": writer["target_file_size"],
                "writer_properties": h.writer_properties(writer)}
    rss_start = h.rss_now_mb()
    start = time.perf_counter()
    reader = h.read_conformed(server.conninfo(), h.BASELINE_SELECT)
    write_deltalake(out, reader, mode="overwrite", **settings)
    seconds = time.perf_counter() - start
    return {"rows": None, "seconds": seconds, "rss_start_mb": rss_start, "table": out}


def _sdk(server: h.Server, home: str) -> dict[str, Any]:
    """Exactly what a user does: settings, source, table, ``load_table``."""
    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    loader = DataLoader.from_settings(Settings.default(Path(home)))
    loader.add_source(SourceConfig(
        name="bench", db_type="postgresql", host=server.host, port=server.port,
        database="postgres", username=server.user, secret=f"env:{h.PASSWORD_ENV}",
    ), actor="bench")
    loader.add_table(TableConfig(
        name="bench", source="bench", target=TargetName("bronze", "bench"),
        source_table="bench", source_schema="public", strategy="full",
    ), actor="bench")
    rss_start = h.rss_now_mb()
    start = time.perf_counter()
    record = loader.load_table("bench")
    seconds = time.perf_counter() - start
    loader.close()
    table = loader.engine.uri(TargetName("bronze", "bench"))  # type: ignore[attr-defined]
    assert record.status == "succeeded", record
    return {"rows": record.rows_written, "seconds": seconds, "rows_read": record.rows_read,
            "rss_start_mb": rss_start, "table": table}


def _read_only(server: h.Server, path: str) -> dict[str, Any]:
    from dataloader_sdk.connectors.postgresql import PostgresConnectorFactory
    from dataloader_sdk.model import Select, SourceConfig, SourceObject
    from dataloader_sdk.secrets import Secret

    cfg = SourceConfig(name="bench", db_type="postgresql", host=server.host, port=server.port,
                       database="postgres", username=server.user, options={"read_path": path})
    conn = PostgresConnectorFactory().open(cfg, Secret(os.environ[h.PASSWORD_ENV]))
    rows = 0
    start = time.perf_counter()
    try:
        for batch in conn.read(Select(SourceObject(table="bench"))):
            rows += batch.num_rows
    finally:
        conn.close()
    return {"rows": rows, "seconds": time.perf_counter() - start}


def _psycopg_copy(server: h.Server) -> dict[str, Any]:
    # psycopg binary COPY parsed in C into Python tuples, then Arrow arrays per batch
    # (a candidate read path measured once; not a connector path).
    import psycopg
    import pyarrow as pa

    names = ["id", "qty", "amount", "score", "code", "note", "updated_at", "day", "flag", "uid"]
    types = ["int8", "int4", "numeric", "float8", "varchar", "text", "timestamptz", "date",
             "bool", "text"]
    sql = ("COPY (SELECT id, qty, amount, score, code, note, updated_at, day, flag, "
           "uid::text FROM bench) TO STDOUT (FORMAT BINARY)")
    rows = 0
    start = time.perf_counter()
    with psycopg.connect(server.conninfo()) as conn, conn.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(types)
        buf: list[tuple[Any, ...]] = []
        for row in copy.rows():
            buf.append(row)
            if len(buf) == 65_536:
                rows += pa.table([list(c) for c in zip(*buf, strict=True)], names=names).num_rows
                buf = []
        if buf:
            rows += pa.table([list(c) for c in zip(*buf, strict=True)], names=names).num_rows
    return {"rows": rows, "seconds": time.perf_counter() - start}


def child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one mode in this process; each imports only what its path uses."""
    h.preimport(["pyarrow", "deltalake", "adbc_driver_manager", "adbc_driver_postgresql"])
    server = h.Server(**args["server"])
    if mode == "baseline":
        return _baseline(server, args["out"], args["writer"])
    h.preimport(["psycopg", "dataloader_sdk", "dataloader_sdk.connectors.postgresql"])
    if mode == "sdk":
        # The facade's own imports (control store, engine, plugins) are paid before the
        # clock starts, as in a long-lived worker.
        h.preimport(["dataloader_sdk.control.store", "dataloader_sdk.engines.delta_rs",
                     "dataloader_sdk.strategies.full", "dataloader_sdk.lineage"])
        return _sdk(server, args["out"])
    if mode == "read-psycopg-copy":
        return _psycopg_copy(server)
    if mode == "read-connectorx":
        h.preimport(["connectorx"])
    return _read_only(server, mode.removeprefix("read-"))


# -- parent side ----------------------------------------------------------------------


def measure(server: h.Server, dsn: str, rows: int, modes: list[str], repeat: int,
            work: Path) -> dict[str, Any]:
    """Generate ``rows`` rows once, then ``repeat`` alternated rounds of every mode."""
    gen = h.generate(dsn, rows)
    print(f"\n== {rows:,} rows (generated in {gen:.1f}s) ==", flush=True)
    # One untimed read warms PostgreSQL's buffers and the page cache for every mode alike.
    h.run_child(MODULE, "read-adbc", {"server": vars(server)})
    runs: dict[str, list[h.Run]] = {m: [] for m in modes}
    for i in range(repeat):
        order = modes if i % 2 == 0 else modes[::-1]
        for mode in order:
            out = h.fresh_dir(work, f"{mode}-{i}")
            run = h.run_child(MODULE, mode, {"server": vars(server), "out": str(out),
                                             "writer": h.engine_writer_settings()})
            runs[mode].append(run)
            print(f"  round {i + 1} {mode:<10} {run.seconds:6.2f}s {run.rows_per_s:>10,.0f} rows/s "
                  f"{run.rss_mb:5.0f} MB  (load {run.loadavg:.1f})", flush=True)
    summary = {m: h.summarise(r) for m, r in runs.items()}
    h.print_table(f"full load, {rows:,} rows: median (min-max) of {repeat}", summary)
    result: dict[str, Any] = {"rows": rows, "generate_seconds": gen, "summary": summary,
                              "runs": runs}
    if "baseline" in runs and "sdk" in runs:
        ratio = h.ratios(runs["baseline"], runs["sdk"])
        result["sdk_vs_baseline"] = ratio
        print(f"SDK/baseline wall time: {ratio['median_ratio']:.2f}x of medians "
              f"(per round {ratio['pair_min']:.2f}-{ratio['pair_max']:.2f}x); target <= 1.2x")
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; as parent start PostgreSQL and measure, as child run one mode."""
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        h.child_main(child, argv)
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", default="1000000",
                        help="comma-separated table sizes, e.g. 1000000,5000000")
    parser.add_argument("--modes", default=",".join(DEFAULT_MODES),
                        help=f"comma-separated subset of {', '.join(MODES)}")
    parser.add_argument("--repeat", type=int, default=3, help="alternated rounds per size")
    args = parser.parse_args(argv)
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    sizes = [int(n) for n in args.rows.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="dl-bench-") as tmp, h.postgres() as (server, dsn):
        for rows in sizes:
            results.append(measure(server, dsn, rows, modes, args.repeat, Path(tmp)))
    path = h.write_results("full_load", {
        "repeat": args.repeat, "modes": modes, "writer": h.engine_writer_settings(),
        "sizes": results, "loadavg_end": os.getloadavg(),
    })
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
