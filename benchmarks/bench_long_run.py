"""Long-run benchmark: one table, many consecutive incremental runs of 0.1 % changes each.

Run from the repository root::

    python -m benchmarks.bench_long_run                     # 1,000 runs, 100,000 rows
    python -m benchmarks.bench_long_run --runs 300 --rows 50000

1. A SQLite source table of N rows (``id``, ``payload``, ``seq`` as the cursor, indexed),
   loaded with ``incremental`` (``primary_keys: [id]``, ``watermark_column: seq``) into a
   fresh project (SQLite control DB, local Delta through delta-rs). The first load is not
   timed.
2. R runs, each after changing 0.1 % of the rows at the source: half updates, half
   inserts, all with a newer ``seq``. ``--changed recent`` (default) updates rows among
   the newest, as a live source changes, so each merge adds files instead of rewriting
   the whole table; ``--changed spread`` updates random rows anywhere; ``--changed
   append`` only inserts. ``--strategy append_only --changed append``: each run is an
   Append commit that adds one small file, the case compaction is for (an incremental
   merge rewrites the file holding the watermark row, so it keeps the file count low
   by itself, and pays by rewriting that file on every run). Each run is
   ``DataLoader.load_table`` as a user runs it, timed end to end, including the
   maintenance the loader runs after it when due.
3. Twice, on separate copies of the same start: maintenance **off** (the policy disabled:
   the baseline, what the SDK did before maintenance existed) and **on** (the default
   policy). Each reports the mean run time of the first and the last 100 runs (the
   target: last <= 1.2x first), the Delta file count and the files on disk at the end,
   and the time to read the whole table back.

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
import tempfile
import time
from pathlib import Path
from typing import Any

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
        inserts = changes if how == "append" else changes // 2
        # recent: updates among the newest 100x changes rows, as a live source changes
        # (a merge then touches only the newest files); spread: anywhere.
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


def _run_mode(seed: Path, work: Path, mode: str, runs: int, changes: int,
              how: str) -> dict[str, Any]:
    from dataloader_sdk import DataLoader, Settings
    from dataloader_sdk.control.maintenance import set_policy
    from dataloader_sdk.model import TargetName, utcnow
    from dataloader_sdk.model.maintenance import MaintenancePolicy

    home = work / mode
    shutil.copytree(seed, home)
    # The seed's settings name the seed's paths: point the copy at its own.
    settings = Settings.default(home)
    db = home / "source.db"
    loader = DataLoader.from_settings(settings)
    source = loader.store.get_source("src")
    from dataclasses import replace

    loader.store.update_source(replace(source, options={"url": f"sqlite:///{db}"}),
                               actor="bench")
    set_policy(loader.store, "orders", MaintenancePolicy(enabled=mode == "on"),
               actor="bench", now=utcnow())
    rng = random.Random(11)
    times: list[float] = []
    for _ in range(runs):
        _change(db, rng, changes, how)
        start = time.perf_counter()
        record = loader.load_table("orders")
        times.append(time.perf_counter() - start)
        assert record.status == "succeeded", record
    target = TargetName(*TARGET_PARTS)
    files = loader.engine.table_files(target, 8 << 20)  # type: ignore[attr-defined]
    start = time.perf_counter()
    table = loader.engine.read(target)
    read_seconds = time.perf_counter() - start
    got = sorted(zip(table["id"].to_pylist(), table["payload"].to_pylist(),
                     table["seq"].to_pylist(), strict=True))
    assert got == _source_rows(db), f"{mode}: the Delta table differs from the source"
    uri = Path(loader.engine.uri(target))  # type: ignore[attr-defined]
    on_disk = sum(1 for p in uri.rglob("*.parquet") if "_delta_log" not in p.parts)
    loader.close()
    window = min(WINDOW, max(1, runs // 2))
    first = statistics.mean(times[:window])
    last = statistics.mean(times[-window:])
    return {
        "mode": mode, "runs": runs, "window": window,
        "first_mean_s": round(first, 4), "last_mean_s": round(last, 4),
        "last_over_first": round(last / first, 3),
        "delta_files": files.files if files else None,
        "files_on_disk": on_disk, "delta_version": files.version if files else None,
        "read_table_s": round(read_seconds, 4),
        "total_s": round(sum(times), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--changed", choices=("recent", "spread", "append"),
                        default="recent", help="where the updated rows are (default: among "
                        "the newest); append: inserts only")
    parser.add_argument("--strategy", choices=("incremental", "append_only"),
                        default="incremental",
                        help="append_only: one Append commit (and file) per run")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    changes = max(2, args.rows // 1000)  # 0.1 %
    work = Path(tempfile.mkdtemp(prefix="dl-bench-long-"))
    try:
        if args.strategy == "append_only" and args.changed != "append":
            parser.error("--strategy append_only needs --changed append (it never updates)")
        seed = _project(work, args.rows, args.strategy)
        load = os.getloadavg()
        results = [_run_mode(seed, work, mode, args.runs, changes, args.changed)
                   for mode in ("off", "on")]
        report = {"rows": args.rows, "changes_per_run": changes, "changed": args.changed,
                  "strategy": args.strategy,
                  "loadavg_at_start": [round(x, 2) for x in load], "results": results}
        print(json.dumps(report, indent=2))
        if args.out is not None:
            args.out.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
