"""Incremental benchmark: 1 % updated + 1 % inserted rows merged into an N-row Delta table.

Run from the repository root::

    python -m benchmarks.bench_incremental                   # 1M rows, 3 rounds
    python -m benchmarks.bench_incremental --rows 200000 --repeat 1
    python -m benchmarks.bench_incremental --changed recent
    python -m benchmarks.bench_incremental --first-load --rows 1000000,5000000
    python -m benchmarks.bench_incremental --first-load --scan-from-middle

1. Generate ``public.bench`` (N rows, ``updated_at timestamptz`` as the cursor).
2. Seed: the SDK loads it with ``incremental`` (``primary_keys: [id]``,
   ``watermark_column: updated_at``) into a fresh project: SQLite control DB + local Delta.
   This first run is measured once and reported separately.
3. At the source, update 1 % of the rows and insert 1 % new ones, all with a newer
   ``updated_at``. ``--changed spread`` (the default, the issue's scenario) updates every
   100th row, so every Delta file holds some; ``--changed recent`` updates the newest 1 %,
   as an incremental source usually changes, so a merge can prune the older files.
4. Rounds, alternating which goes first, each on its own copy of the seed:

   * ``baseline``: ``SELECT ... WHERE updated_at >= W`` (W = the seed's watermark) through
     the same ADBC read path, then a hand-written ``DeltaTable.merge`` on ``id`` with the
     sequence guard ``s.updated_at >= t.updated_at`` and the engine's writer properties;
   * ``sdk``: ``DataLoader.load_table`` on the copied project: probes, plan, read, lineage,
     merge, control-state update, exactly as a user runs it.

``--first-load`` measures the first run instead (the target table does not exist yet),
for each ``--rows`` size, alternating in every round:

* ``first-baseline``: hand-written ADBC read streamed into ``DeltaTable.merge`` on ``id``
  (with the sequence guard) into an empty table created with the read's schema;
* ``first-sdk``: the SDK's first ``incremental`` run into a fresh project;
* ``full-sdk``: the SDK's ``full`` load of the same source table (the memory bound:
  a first incremental load stays within 1.2x of it).

The source table gets the index on ``updated_at`` an incremental source has (as in step 3).
With ``--scan-from-middle`` every mode reads it from its middle, wrapping around, as
PostgreSQL's synchronized scans read a big table once a scan of it stopped part-way or
ran alongside (:func:`scan_from_middle`): the keys then arrive as two increasing runs.

Peak RSS is the child's ``ru_maxrss`` (see ``_harness.py``). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import _harness as h

MODULE = "benchmarks.bench_incremental"
TARGET_PARTS = ("bronze", "bench")
CHANGE_PERCENT = 1


# -- child side -----------------------------------------------------------------------


def _loader(home: str) -> Any:
    from dataloader_sdk import DataLoader, Settings

    return DataLoader.from_settings(Settings.default(Path(home)))


def _seed(server: h.Server, home: str) -> dict[str, Any]:
    """Configure the project and run the first ``incremental`` load (timed)."""
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    loader = _loader(home)
    loader.add_source(SourceConfig(
        name="bench", db_type="postgresql", host=server.host, port=server.port,
        database="postgres", username=server.user, secret=f"env:{h.PASSWORD_ENV}",
    ), actor="bench")
    loader.add_table(TableConfig(
        name="bench", source="bench", target=TargetName(*TARGET_PARTS),
        source_table="bench", source_schema="public", strategy="incremental",
        strategy_options={"primary_keys": ["id"], "watermark_column": "updated_at"},
    ), actor="bench")
    return _load(loader)


def _load(loader: Any) -> dict[str, Any]:
    from dataloader_sdk.model import TargetName

    rss_start = h.rss_now_mb()
    start = time.perf_counter()
    record = loader.load_table("bench")
    seconds = time.perf_counter() - start
    loader.close()
    assert record.status == "succeeded", record
    return {"rows": record.rows_read, "seconds": seconds, "rows_written": record.rows_written,
            "watermark": str(record.watermark_after.value if record.watermark_after else None),
            "rss_start_mb": rss_start, "table": loader.engine.uri(TargetName(*TARGET_PARTS))}


def _baseline(server: h.Server, table: str, since: str, writer: dict[str, Any]) -> dict[str, Any]:
    """Hand-written: the changed rows through ADBC into ``DeltaTable.merge``."""
    import psycopg
    from deltalake import DeltaTable

    wp = h.writer_properties(writer)
    # psycopg renders the bound timestamp as a literal (COPY cannot take parameters).
    with psycopg.connect(server.conninfo()) as conn, psycopg.ClientCursor(conn) as cur:
        sql = cur.mogrify(h.BASELINE_SELECT + " WHERE updated_at >= %s",
                          (datetime.fromisoformat(since),))
    rss_start = h.rss_now_mb()
    start = time.perf_counter()
    rows = h.read_conformed(server.conninfo(), sql).read_all()
    cols = {c: f's."{c}"' for c in rows.column_names}
    metrics = (
        DeltaTable(table)
        .merge(rows, predicate='t."id" = s."id"', source_alias="s", target_alias="t",
               writer_properties=wp)
        .when_matched_update(updates=cols, predicate='s."updated_at" >= t."updated_at"')
        .when_not_matched_insert(updates=cols)
        .execute()
    )
    seconds = time.perf_counter() - start
    written = int(metrics["num_target_rows_inserted"]) + int(metrics["num_target_rows_updated"])
    return {"rows": rows.num_rows, "seconds": seconds, "rows_written": written,
            "rss_start_mb": rss_start, "table": table}


def _first_baseline(server: h.Server, out: str, writer: dict[str, Any]) -> dict[str, Any]:
    """Hand-written merge into an empty table: ADBC stream → ``DeltaTable.merge``."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    wp = h.writer_properties(writer)
    rss_start = h.rss_now_mb()
    start = time.perf_counter()
    reader = h.read_conformed(server.conninfo(), h.BASELINE_SELECT)
    write_deltalake(out, pa.Table.from_batches([], reader.schema), mode="overwrite",
                    target_file_size=writer["target_file_size"], writer_properties=wp)
    cols = {f't."{c}"': f's."{c}"' for c in reader.schema.names}
    metrics = (
        DeltaTable(out)
        .merge(reader, predicate='t."id" = s."id"', source_alias="s", target_alias="t",
               writer_properties=wp)
        .when_matched_update(updates=cols, predicate='s."updated_at" >= t."updated_at"')
        .when_not_matched_insert(updates=cols)
        .execute()
    )
    seconds = time.perf_counter() - start
    return {"rows": int(metrics["num_target_rows_inserted"]), "seconds": seconds,
            "rows_written": int(metrics["num_target_rows_inserted"]),
            "rss_start_mb": rss_start, "table": out}


def child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one mode in this process."""
    server = h.Server(**args["server"])
    if mode == "warm":
        rows = sum(b.num_rows for b in h.read_conformed(server.conninfo(), h.BASELINE_SELECT))
        return {"rows": rows, "seconds": 0.0}
    if mode == "first-baseline":
        h.preimport(["pyarrow", "deltalake", "adbc_driver_manager", "adbc_driver_postgresql"])
        return _first_baseline(server, args["out"], args["writer"])
    if mode == "baseline":
        h.preimport(["pyarrow", "deltalake", "adbc_driver_manager", "adbc_driver_postgresql",
                     "psycopg"])
        return _baseline(server, args["table"], args["since"], args["writer"])
    h.preimport(["pyarrow", "deltalake", "adbc_driver_manager", "adbc_driver_postgresql",
                 "psycopg", "dataloader_sdk", "dataloader_sdk.connectors.postgresql",
                 "dataloader_sdk.engines.delta_rs", "dataloader_sdk.control.store",
                 "dataloader_sdk.strategies.incremental"])
    if mode in ("sdk-seed", "first-sdk"):
        return _seed(server, args["home"])
    if mode == "full-sdk":
        from benchmarks.bench_full_load import _sdk as full_sdk

        h.preimport(["dataloader_sdk.strategies.full"])
        result = full_sdk(server, args["home"])
        result["rows_written"] = result["rows"]
        return result
    return _load(_loader(args["home"]))


# -- parent side ----------------------------------------------------------------------


def change_source(dsn: str, rows: int, changed: str = "spread") -> dict[str, Any]:
    """Update and insert ``CHANGE_PERCENT`` % of ``rows`` with a newer ``updated_at``.

    ``changed``: ``spread`` updates every ``100 // CHANGE_PERCENT``-th row, ``recent`` the
    rows with the highest ids.
    """
    import psycopg

    step = 100 // CHANGE_PERCENT
    new = rows * CHANGE_PERCENT // 100
    with psycopg.connect(dsn, autocommit=True) as conn:
        # An incremental source normally has an index on its cursor; without it both the
        # SDK's upper-bound probe (max(updated_at)) and both reads scan the whole table.
        conn.execute("CREATE INDEX IF NOT EXISTS bench_updated_at ON bench (updated_at)")
        since = conn.execute("SELECT max(updated_at) FROM bench").fetchone()[0]  # type: ignore[index]
        update = ("UPDATE bench SET qty = qty + 1, note = 'changed', "
                  "updated_at = %s + interval '1 hour' + id * interval '1 millisecond' ")
        if changed == "recent":
            updated = conn.execute(update + "WHERE id > %s", (since, rows - new)).rowcount
        else:
            updated = conn.execute(update + "WHERE id %% %s = 7", (since, step)).rowcount
        conn.execute(
            "INSERT INTO bench " + h.SELECT_ROWS.replace(
                "timestamptz '2020-01-01' + g * interval '1 second'",
                "%s + interval '2 hours' + g * interval '1 millisecond'"),
            (since, rows + 1, rows + new),
        )
        conn.execute("VACUUM ANALYZE bench")
    return {"since": since.isoformat(), "updated": updated, "inserted": new, "changed": changed}


FIRST_MODES = ("first-baseline", "first-sdk", "full-sdk")


def scan_from_middle(dsn: str, rows: int) -> int:
    """Make sequential scans of ``bench`` start at its middle; returns their first id.

    PostgreSQL's synchronized scans start a sequential scan of a table bigger than a
    quarter of ``shared_buffers`` at the block the last scan of it reported, and a scan
    that stops part-way leaves that block mid-table. A scan that runs to its end reports
    its own start again, so the start sticks for every later scan.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        for knob in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
            conn.execute(sql.SQL("SET LOCAL {} = off").format(sql.Identifier(knob)))
        conn.execute("DECLARE mid NO SCROLL CURSOR FOR SELECT * FROM bench")
        conn.execute(sql.SQL("MOVE {} IN mid").format(sql.Literal(rows // 2)))
        conn.execute("CLOSE mid")
        first = conn.execute("SELECT id FROM bench LIMIT 1").fetchone()
    assert first is not None
    return int(first[0])


def first_load(server: h.Server, dsn: str, rows: int, repeat: int, work: Path,
               from_middle: bool = False) -> dict[str, Any]:
    """``--first-load``: the three first-run modes, alternated, on one generated table."""
    gen = h.generate(dsn, rows)
    # As in the incremental rounds (change_source): an incremental source has an index on
    # its cursor, which the SDK's probes (max and NULL count of updated_at) use.
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE INDEX IF NOT EXISTS bench_updated_at ON bench (updated_at)")
        conn.execute("VACUUM ANALYZE bench")
    # One untimed read warms PostgreSQL's buffers and the page cache for every mode alike,
    # in a child: the children's ru_maxrss starts from their parent's RSS at the fork.
    h.run_child(MODULE, "warm", {"server": vars(server)})
    print(f"== first load, {rows:,} rows (generated in {gen:.1f}s) ==", flush=True)
    starts_at = scan_from_middle(dsn, rows) if from_middle else None
    if starts_at is not None:
        print(f"  sequential scans start at id {starts_at:,}", flush=True)
        if starts_at == 1:
            raise SystemExit("--scan-from-middle: the scan still starts at id 1 (is the "
                             "table bigger than a quarter of shared_buffers?)")
    runs: dict[str, list[h.Run]] = {m: [] for m in FIRST_MODES}
    for i in range(repeat):
        for mode in (FIRST_MODES if i % 2 == 0 else FIRST_MODES[::-1]):
            out = h.fresh_dir(work, f"{mode}-{i}")
            run = h.run_child(MODULE, mode, {"server": vars(server), "home": str(out),
                                             "out": str(out),
                                             "writer": h.engine_writer_settings()})
            runs[mode].append(run)
            print(f"  round {i + 1} {mode:<14} {run.seconds:6.2f}s {run.rows:>9,} rows "
                  f"{run.rss_mb:5.0f} MB  (load {run.loadavg:.1f})", flush=True)
            shutil.rmtree(out, ignore_errors=True)
    summary = {m: h.summarise(r) for m, r in runs.items()}
    h.print_table(f"first load, {rows:,} rows: median (min-max) of {repeat}", summary)
    time_ratio = h.ratios(runs["first-baseline"], runs["first-sdk"])
    rss = {m: summary[m]["rss_mb"]["median"] for m in FIRST_MODES}
    mem_ratio = rss["first-sdk"] / rss["full-sdk"]
    print(f"first incremental / hand-written merge-into-empty wall time: "
          f"{time_ratio['median_ratio']:.2f}x of medians (per round {time_ratio['pair_min']:.2f}-"
          f"{time_ratio['pair_max']:.2f}x); target <= 1.0x")
    print(f"first incremental / full load peak RSS: {mem_ratio:.2f}x of medians "
          f"({rss['first-sdk']:.0f} / {rss['full-sdk']:.0f} MB); target <= 1.2x")
    return {"rows": rows, "generate_seconds": gen, "scan_starts_at": starts_at,
            "summary": summary,
            "sdk_vs_baseline": time_ratio, "rss_vs_full": mem_ratio, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; as parent start PostgreSQL and measure, as child run one mode."""
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        h.child_main(child, argv)
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", default="1000000",
                        help="table size; with --first-load a comma-separated list")
    parser.add_argument("--first-load", action="store_true",
                        help="measure the first run into a missing table (module docstring)")
    parser.add_argument("--repeat", type=int, default=3, help="alternated rounds")
    parser.add_argument("--scan-from-middle", action="store_true",
                        help="with --first-load: sequential scans start mid-table")
    parser.add_argument("--changed", choices=("spread", "recent"), default="spread",
                        help="which rows the update touches (see the module docstring)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.rows.split(",")]
    if args.first_load:
        with tempfile.TemporaryDirectory(prefix="dl-bench-first-") as tmp, \
                h.postgres() as (server, dsn):
            results = [first_load(server, dsn, n, args.repeat, Path(tmp),
                                  args.scan_from_middle) for n in sizes]
        path = h.write_results("incremental_first_load", {
            "repeat": args.repeat, "writer": h.engine_writer_settings(), "results": results,
            "loadavg_end": os.getloadavg()})
        print(f"\nresults: {path}")
        return 0
    if len(sizes) != 1:
        parser.error("--rows takes one size unless --first-load is given")
    args.rows = sizes[0]
    modes = ["baseline", "sdk"]
    with tempfile.TemporaryDirectory(prefix="dl-bench-inc-") as tmp, \
            h.postgres() as (server, dsn):
        work = Path(tmp)
        gen = h.generate(dsn, args.rows)
        print(f"== {args.rows:,} rows (generated in {gen:.1f}s) ==", flush=True)
        seed_home = h.fresh_dir(work, "seed")
        seed = h.run_child(MODULE, "sdk-seed", {"server": vars(server), "home": str(seed_home)})
        print(f"  seed: first incremental run {seed.seconds:.2f}s {seed.rows_per_s:,.0f} rows/s "
              f"{seed.rss_mb:.0f} MB (load {seed.loadavg:.1f})", flush=True)
        change = change_source(dsn, args.rows, args.changed)
        print(f"  source: {change['updated']:,} rows updated, {change['inserted']:,} inserted "
              f"after {change['since']}", flush=True)
        # The Delta root has a level per project incarnation between it and the schema.
        [seed_table] = seed_home.glob(".dataloader/delta/**/" + "/".join(TARGET_PARTS))
        runs: dict[str, list[h.Run]] = {m: [] for m in modes}
        for i in range(args.repeat):
            for mode in (modes if i % 2 == 0 else modes[::-1]):
                if mode == "sdk":
                    home = work / f"sdk-{i}"
                    shutil.copytree(seed_home, home)
                    run = h.run_child(MODULE, mode, {"server": vars(server), "home": str(home)})
                else:
                    table = work / f"baseline-{i}"
                    shutil.copytree(seed_table, table)
                    run = h.run_child(MODULE, mode, {"server": vars(server), "table": str(table),
                                                     "since": change["since"],
                                                     "writer": h.engine_writer_settings()})
                runs[mode].append(run)
                print(f"  round {i + 1} {mode:<9} {run.seconds:6.2f}s "
                      f"{run.rows:>8,} rows read {run.extra['rows_written']:>8,} written "
                      f"{run.rss_mb:5.0f} MB  (load {run.loadavg:.1f})", flush=True)
                shutil.rmtree(work / f"{mode}-{i}", ignore_errors=True)
    summary = {m: h.summarise(r) for m, r in runs.items()}
    h.print_table(f"incremental, {args.rows:,}-row table, {change['updated']:,} updated "
                  f"({args.changed}) + "
                  f"{change['inserted']:,} inserted: median (min-max) of {args.repeat}", summary)
    ratio = h.ratios(runs["baseline"], runs["sdk"])
    print(f"SDK/baseline wall time: {ratio['median_ratio']:.2f}x of medians "
          f"(per round {ratio['pair_min']:.2f}-{ratio['pair_max']:.2f}x); target <= 1.2x")
    path = h.write_results("incremental", {
        "rows": args.rows, "repeat": args.repeat, "generate_seconds": gen,
        "writer": h.engine_writer_settings(), "change": change, "seed": seed,
        "summary": summary, "sdk_vs_baseline": ratio, "runs": runs,
        "loadavg_end": os.getloadavg(),
    })
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
