"""Long-run benchmark: one table, many consecutive incremental runs of 0.1 % changes each.

Run from the repository root::

    python -m benchmarks.bench_long_run                     # 1,000 runs, 100,000 rows
    python -m benchmarks.bench_long_run --runs 300 --rows 50000
    python -m benchmarks.bench_long_run --strategy append_only --changed append

1. A SQLite source table of N rows (``id``, ``payload``, ``seq`` as the cursor, indexed),
   loaded with ``incremental`` (``primary_keys: [id]``, ``watermark_column: seq``) into a
   fresh project (SQLite control DB, local Delta through delta-rs). The first load is not
   timed.
2. R runs, each after changing 0.1 % of the rows at the source: half updates, half
   inserts, all with a newer ``seq``. ``--changed recent`` (default) updates rows among
   the newest, as a live source changes (unmaintained, the table is one file, which
   delta-rs's merge rewrites whole on every run; maintenance re-clusters it by ``id``
   into a few files, so a run rewrites the one holding the recent keys:
   docs/maintenance.md);
   ``--changed spread`` updates random rows anywhere; ``--changed append`` only
   inserts; ``--changed update`` only updates, among the newest, so the table keeps its
   size and what remains of any growth is the log's and the files'. ``--strategy
   append_only --changed append``: each run is an Append commit that adds one small
   file, the case compaction is for (an incremental merge rewrites the file holding
   the watermark row, so it keeps the file count low by itself, and pays by rewriting
   that file on every run). Each run is
   ``DataLoader.load_table`` as a user runs it, timed end to end, including the
   maintenance the loader runs after it when due.
3. Twice, on separate copies of the same start: maintenance **on** (the default policy)
   and **off** (the policy disabled: the baseline, what the SDK did before maintenance
   existed), each in its own child process, one after the other (``on`` first). Until
   session 9 both ran in one process, run by run in turn; measured in-process, the
   maintained table's ratio then moved with the other table's (0.94 and 1.14 alone, 1.37
   and 1.12 in turn), since both share the interpreter's heap, garbage collector and
   delta-rs's runtime. ``--in-turn`` still runs that design. Each reports the mean run
   time of the first and the last 100 runs (the target: last <= 1.2x first), the same
   for the process's CPU time (steadier on a shared machine), the mean of each tenth of
   the runs, the Delta file count, the files on disk and in ``_delta_log/`` at the end,
   the time to read the whole table back, and the load average before its child started.

The source is re-read independently with ``sqlite3`` at the end and compared with the
Delta table, so a fast but wrong run cannot pass. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODULE = "benchmarks.bench_long_run"
TARGET_PARTS = ("bronze", "long_run")
WINDOW = 100


def _make_source(db: Path, rows: int) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, payload TEXT NOT NULL,"
                     " seq INTEGER NOT NULL)")
        conn.execute("CREATE INDEX ix_orders_seq ON orders (seq)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         ((i, f"payload-{i:012d}", i) for i in range(1, rows + 1)))


def _change(db: Path, rng: random.Random, changes: int, how: str) -> None:
    with sqlite3.connect(db) as conn:
        top_id, top_seq = conn.execute("SELECT MAX(id), MAX(seq) FROM orders").fetchone()
        seq = int(top_seq)
        inserts = {"append": changes, "update": 0}.get(how, changes // 2)
        # recent (and update): updates among the newest 100x changes rows, as a live
        # source changes; spread: anywhere.
        low = 1 if how == "spread" else max(1, int(top_id) - 100 * changes)
        for key in rng.sample(range(low, int(top_id) + 1), changes - inserts):
            seq += 1
            conn.execute("UPDATE orders SET payload = ?, seq = ? WHERE id = ?",
                         (f"updated-{seq:012d}", seq, key))
        for offset in range(1, inserts + 1):
            seq += 1
            conn.execute("INSERT INTO orders VALUES (?, ?, ?)",
                         (int(top_id) + offset, f"payload-{top_id + offset:012d}", seq))


def _source_rows(db: Path) -> list[tuple[int, str, int]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT id, payload, seq FROM orders").fetchall())


def _project(work: Path, rows: int, strategy: str) -> Path:
    """A project with the source loaded once (copied for each mode)."""
    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    home = work / "seed"
    home.mkdir(parents=True)
    _make_source(home / "source.db", rows)
    loader = DataLoader.from_settings(Settings.default(home))
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{home / 'source.db'}"}),
                      actor="bench")
    loader.add_table(TableConfig(
        name="orders", source="src", source_table="orders",
        target=TargetName(*TARGET_PARTS), strategy=strategy,
        strategy_options={"primary_keys": ["id"], "watermark_column": "seq"}
        if strategy == "incremental" else {"watermark_column": "seq"},
    ), actor="bench")
    loader.load_table("orders")
    loader.close()
    return home


class _Copy:
    """One mode's copy of the seed project: its own source file, control DB and table."""

    def __init__(self, seed: Path, work: Path, mode: str, name: str | None = None) -> None:
        from dataclasses import replace

        from dataloader_sdk import DataLoader, Settings
        from dataloader_sdk.control.maintenance import set_policy
        from dataloader_sdk.model import utcnow
        from dataloader_sdk.model.maintenance import MaintenancePolicy

        self.mode = mode
        home = work / (name or mode)
        shutil.copytree(seed, home)
        # The seed's settings name the seed's paths: point the copy at its own.
        self.db = home / "source.db"
        self.loader = DataLoader.from_settings(Settings.default(home))
        source = self.loader.store.get_source("src")
        self.loader.store.update_source(
            replace(source, options={"url": f"sqlite:///{self.db}"}), actor="bench")
        set_policy(self.loader.store, "orders", MaintenancePolicy(enabled=mode == "on"),
                   actor="bench", now=utcnow())
        self.rng = random.Random(11)  # the same changes in every copy
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run_once(self, changes: int, how: str) -> None:
        _change(self.db, self.rng, changes, how)
        start, cpu = time.perf_counter(), time.process_time()
        record = self.loader.load_table("orders")
        self.wall.append(time.perf_counter() - start)
        # CPU of the whole process (delta-rs's threads too): far less swayed by other
        # work on a shared machine than the wall time.
        self.cpu.append(time.process_time() - cpu)
        assert record.status == "succeeded", record

    def report(self) -> dict[str, Any]:
        from dataloader_sdk.model import TargetName

        loader = self.loader
        target = TargetName(*TARGET_PARTS)
        files = loader.engine.table_files(target, 8 << 20)  # type: ignore[attr-defined]
        start = time.perf_counter()
        table = loader.engine.read(target)
        read_seconds = time.perf_counter() - start
        got = sorted(zip(table["id"].to_pylist(), table["payload"].to_pylist(),
                         table["seq"].to_pylist(), strict=True))
        assert got == _source_rows(self.db), f"{self.mode}: the Delta table differs"
        uri = Path(loader.engine.uri(target))  # type: ignore[attr-defined]
        on_disk = sum(1 for p in uri.rglob("*.parquet") if "_delta_log" not in p.parts)
        # delta-rs lists this directory on every commit: what the log's length costs.
        log_files = sum(1 for _ in (uri / "_delta_log").iterdir())
        loader.close()
        runs = len(self.wall)
        window = min(WINDOW, max(1, runs // 2))

        def ratio(values: list[float]) -> tuple[float, float, float]:
            first, last = statistics.mean(values[:window]), statistics.mean(values[-window:])
            return round(first, 4), round(last, 4), round(last / first, 3)

        first, last, over = ratio(self.wall)
        cpu_first, cpu_last, cpu_over = ratio(self.cpu)
        tenth = max(1, runs // 10)
        return {
            "mode": self.mode, "runs": runs, "window": window,
            "first_mean_s": first, "last_mean_s": last, "last_over_first": over,
            "cpu_first_mean_s": cpu_first, "cpu_last_mean_s": cpu_last,
            "cpu_last_over_first": cpu_over,
            # The mean wall time of each tenth of the runs: the shape of any growth.
            "tenths_s": [round(statistics.mean(self.wall[i:i + tenth]), 4)
                         for i in range(0, runs - tenth + 1, tenth)],
            "delta_files": files.files if files else None,
            "files_on_disk": on_disk, "log_files": log_files,
            "delta_version": files.version if files else None,
            "read_table_s": round(read_seconds, 4),
            "total_s": round(sum(self.wall), 2),
        }


def _in_turn(seed: Path, work: Path, runs: int, changes: int,
             how: str) -> list[dict[str, Any]]:
    """Maintenance off and on in this process, run by run in turn (``--in-turn``)."""
    copies = [_Copy(seed, work, mode) for mode in ("off", "on")]
    for _ in range(runs):
        for copy in copies:
            copy.run_once(changes, how)
    return [copy.report() for copy in copies]


def _child(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    """One mode's runs in this (child) process, on its own copy of the seed."""
    seed, work = Path(args["seed"]), Path(args["work"])
    # One untimed run on a throwaway copy first: a fresh interpreter's first load pays
    # ~1 s of imports and first-use setup, which the in-process design paid in the seed's
    # load, and which would otherwise inflate the first 100 runs' mean.
    warm = _Copy(seed, work, mode, name=f"{mode}-warm-up")
    warm.run_once(args["changes"], args["how"])
    warm.loader.close()
    copy = _Copy(seed, work, mode)
    for _ in range(args["runs"]):
        copy.run_once(args["changes"], args["how"])
    report = copy.report()
    # run_child's required fields: what was measured (runs) and the time it took.
    return {**report, "rows": report["runs"], "seconds": report["total_s"]}


def _in_children(seed: Path, work: Path, runs: int, changes: int,
                 how: str) -> list[dict[str, Any]]:
    """Maintenance on, then off, each alone in a fresh interpreter."""
    from benchmarks import _harness as h

    results = []
    for mode in ("on", "off"):
        run = h.run_child(MODULE, mode, {"seed": str(seed), "work": str(work), "runs": runs,
                                         "changes": changes, "how": how})
        results.append({**run.extra, "loadavg_at_start": round(run.loadavg, 2),
                        "peak_rss_mb": round(run.rss_mb, 1)})
    return results


def main() -> None:
    if "--child" in sys.argv:
        from benchmarks import _harness as h

        h.child_main(_child, sys.argv)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", choices=("recent", "spread", "append", "update"),
                        default="recent", help="where the updated rows are (default: among "
                        "the newest); append: inserts only; update: updates only, among "
                        "the newest (the table keeps its size)")
    parser.add_argument("--strategy", choices=("incremental", "append_only"),
                        default="incremental",
                        help="append_only: one Append commit (and file) per run")
    parser.add_argument("--in-turn", action="store_true",
                        help="run both modes in this process, run by run in turn (the "
                        "design until session 9)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    changes = max(2, args.rows // 1000)  # 0.1 %
    work = Path(tempfile.mkdtemp(prefix="dl-bench-long-"))
    try:
        if args.strategy == "append_only" and args.changed != "append":
            parser.error("--strategy append_only needs --changed append (it never updates)")
        seed = _project(work, args.rows, args.strategy)
        load = os.getloadavg()
        measure = _in_turn if args.in_turn else _in_children
        results = measure(seed, work, args.runs, changes, args.changed)
        report = {"rows": args.rows, "changes_per_run": changes, "changed": args.changed,
                  "strategy": args.strategy,
                  "design": "in turn, one process" if args.in_turn else "a child per mode",
                  "loadavg_at_start": [round(x, 2) for x in load],
                  "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                  "results": results}
        print(json.dumps(report, indent=2))
        if args.out is not None:
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
