"""Shared parts of the benchmarks: server, table, child processes, statistics, output.

Every measured path runs in its own child process (``python -m benchmarks.<script> --child
MODE ...``). The parent reaps the child with :func:`os.wait4`, whose ``ru_maxrss`` is the
child's own peak resident set (KiB on Linux), so each path's memory is measured alone and
includes everything the process held: interpreter, imports, Arrow buffers, delta-rs.
The child reports its wall time for the measured section only; imports and one-off setup
(a worker pays them once per process, not per load) happen before its clock starts.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASSWORD_ENV = "DL_BENCH_PG_PASSWORD"

#: The benchmark table's columns: bigint id, int, numeric(18,4), double, varchar, text with
#: 20 % NULLs, timestamptz (the incremental cursor), date, boolean, uuid.
SELECT_ROWS = """
SELECT
  g::bigint AS id, (g %% 100000)::int AS qty, (g * 1.2345)::numeric(18, 4) AS amount,
  g * 0.5::double precision AS score, md5(g::text)::varchar(64) AS code,
  CASE WHEN g %% 5 = 0 THEN NULL ELSE 'note ' || g END AS note,
  timestamptz '2020-01-01' + g * interval '1 second' AS updated_at,
  date '2020-01-01' + (g %% 1000)::int AS day, g %% 2 = 0 AS flag, md5(g::text)::uuid AS uid
FROM generate_series(%s::bigint, %s::bigint) AS g
"""
#: How the hand-written baselines read the table through ADBC: numeric and uuid as text,
#: exactly as the connector projects them (see connectors/postgresql/types.py).
BASELINE_SELECT = (
    "SELECT id, qty, amount::text AS amount, score, code, note, updated_at, day, flag, "
    "uid::text AS uid FROM bench"
)


@dataclass(frozen=True)
class Server:
    """Connection facts a child needs (the password travels in the environment)."""

    host: str
    port: int
    user: str

    def conninfo(self) -> str:
        """libpq key/value string, with the password from the environment."""
        return (f"host={self.host} port={self.port} user={self.user} "
                f"password={os.environ[PASSWORD_ENV]} dbname=postgres")


@contextmanager
def postgres() -> Iterator[tuple[Server, str]]:
    """A throwaway PostgreSQL (tests/servers/postgres.py); yields it and its superuser DSN."""
    from tests.servers.postgres import start_postgres

    # SIGTERM (e.g. ``kill``) must still stop the server and remove the temp directories.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = start_postgres()
    os.environ[PASSWORD_ENV] = server.password
    try:
        yield Server(server.host, server.port, server.user), server.dsn()
    finally:
        server.stop()


def generate(dsn: str, rows: int) -> float:
    """(Re)create ``public.bench`` with ``rows`` rows; returns seconds taken."""
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench")
        conn.execute("CREATE TABLE bench AS " + SELECT_ROWS, (1, rows))
        conn.execute("ALTER TABLE bench ADD PRIMARY KEY (id)")
        conn.execute("VACUUM ANALYZE bench")
    return time.perf_counter() - start


def read_conformed(conninfo: str, sql: str) -> Any:
    """The baselines' read: ADBC binary COPY, numeric text cast to ``decimal128(18,4)``.

    The same low-level ADBC calls, batch-size hint and cast the connector uses, without
    the connector: a ``pyarrow.RecordBatchReader``. Closing is left to process exit.
    """
    import adbc_driver_manager as adbc
    import adbc_driver_postgresql
    import pyarrow as pa

    db = adbc_driver_postgresql.connect(conninfo)
    conn = adbc.AdbcConnection(db)
    stmt = adbc.AdbcStatement(conn)
    stmt.set_sql_query(sql)
    # The same batch-size hint as the connector (connectors/postgresql/read.py), for a fair comparison.
    stmt.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(4 << 20)})
    raw = pa.RecordBatchReader.from_stream(stmt.execute_query()[0])
    schema = pa.schema([
        pa.field(f.name, pa.decimal128(18, 4) if f.name == "amount" else f.type)
        for f in raw.schema
    ])

    def batches() -> Iterator[Any]:
        for b in raw:
            yield pa.RecordBatch.from_arrays(
                [c.cast(f.type) for c, f in zip(b.columns, schema, strict=True)], schema=schema
            )
        for res in (raw, stmt, conn, db):
            res.close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def engine_writer_settings() -> dict[str, Any]:
    """The writer settings of the SDK's delta-rs engine, read in the parent process.

    Passed to the baseline children as plain values, so a baseline does not import the
    SDK (whose imports would count against the baseline's peak RSS): the file size, the
    row group size and the codec. Not the column encodings, which the engine chooses
    from each step's rows (a hand-written loop keeps delta-rs's, docs/benchmarks.md).
    """
    from dataloader_sdk.engines.delta_rs import tuning

    return {"target_file_size": tuning.TARGET_FILE_SIZE,
            "max_row_group_size": tuning.MAX_ROW_GROUP_ROWS,
            "compression": tuning.COMPRESSION}


def writer_properties(settings: dict[str, Any]) -> Any:
    """``deltalake.WriterProperties`` as the engine builds them, from the values above."""
    from deltalake import WriterProperties

    return WriterProperties(max_row_group_size=settings["max_row_group_size"],
                            compression=settings["compression"])


def preimport(modules: Sequence[str]) -> None:
    """Import before the clock starts (adbc's dbapi is avoided: it pulls in pandas)."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def child_main(run: Callable[[str, dict[str, Any]], dict[str, Any]], argv: list[str]) -> None:
    """Child side: ``--child MODE --args JSON``; prints one JSON line with the result."""
    mode = argv[argv.index("--child") + 1]
    args = json.loads(argv[argv.index("--args") + 1])
    result = run(mode, args)
    print(json.dumps(result))


def rss_now_mb() -> float:
    """This process's current resident set (VmRSS) in MB."""
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Run:
    """One measured child process."""

    mode: str
    rows: int
    seconds: float
    rss_mb: float
    loadavg: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        """Throughput of the measured section."""
        return self.rows / self.seconds if self.seconds else 0.0


def run_child(module: str, mode: str, args: dict[str, Any]) -> Run:
    """Run one mode in a fresh interpreter; peak RSS from ``wait4`` of that child."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--child", mode, "--args", json.dumps(args)],
            stdout=out, stderr=err, text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} failed (exit {proc.returncode}):\n{stderr[-3000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    table = res.pop("table", None)
    if table is not None:
        # Measured here, after the child has exited: reading the Delta log in the child
        # would add to its peak RSS (pa.table() on deltalake's result even imports pandas).
        layout = delta_layout(table)
        if res.get("rows") is None:
            res["rows"] = layout["rows"]
        res.update(files=layout["files"], bytes=layout["bytes"])
    return Run(
        mode=mode, rows=int(res.pop("rows")), seconds=float(res.pop("seconds")),
        rss_mb=usage.ru_maxrss / 1024, loadavg=load, extra=res,
    )


def summarise(runs: Sequence[Run]) -> dict[str, Any]:
    """Median and min-max of seconds, rows/s and peak RSS over ``runs`` of one mode."""
    def stat(values: list[float]) -> dict[str, float]:
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    return {
        "n": len(runs),
        "rows": runs[-1].rows,
        "seconds": stat([r.seconds for r in runs]),
        "rows_per_s": stat([r.rows_per_s for r in runs]),
        "rss_mb": stat([r.rss_mb for r in runs]),
        "loadavg": stat([r.loadavg for r in runs]),
    }


def print_table(title: str, summary: dict[str, dict[str, Any]]) -> None:
    """Median (min-max) per mode, then the SDK/baseline ratios."""
    print(f"\n{title}")
    head = (f"{'mode':<14} {'n':>2} {'rows':>10} {'seconds (min-max)':>20} "
            f"{'rows/s':>10} {'peak RSS MB (min-max)':>22} {'load':>5}")
    print(head)
    print("-" * len(head))
    for mode, s in summary.items():
        sec, rss = s["seconds"], s["rss_mb"]
        print(f"{mode:<14} {s['n']:>2} {s['rows']:>10,} "
              f"{sec['median']:>7.2f} ({sec['min']:.2f}-{sec['max']:.2f}) "
              f"{s['rows_per_s']['median']:>10,.0f} "
              f"{rss['median']:>9.0f} ({rss['min']:.0f}-{rss['max']:.0f}) "
              f"{s['loadavg']['median']:>5.1f}")


def ratios(baseline: Sequence[Run], sdk: Sequence[Run]) -> dict[str, float]:
    """SDK/baseline wall-time ratio of the medians, and of each alternated pair."""
    med = statistics.median(r.seconds for r in sdk) / statistics.median(
        r.seconds for r in baseline)
    pairs = [s.seconds / b.seconds for b, s in zip(baseline, sdk, strict=False)]
    return {"median_ratio": med, "pair_min": min(pairs), "pair_max": max(pairs),
            "pair_median": statistics.median(pairs)}


def machine() -> dict[str, Any]:
    """CPU count and model, memory, versions; what the figures are conditional on."""
    import importlib.metadata as md

    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kb = int(f.readline().split()[1])
    versions: dict[str, str | None] = {}
    for pkg in ("deltalake", "pyarrow", "adbc-driver-postgresql", "psycopg"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "versions": versions}


def write_results(scenario: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<scenario>-<UTC timestamp>.json`` (gitignored)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{scenario}-{stamp}.json"
    doc = {"scenario": scenario, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": machine(), **payload}
    path.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return path


def _json_default(value: object) -> object:
    if isinstance(value, Run):
        d = asdict(value)
        d["rows_per_s"] = value.rows_per_s
        return d
    raise TypeError(type(value).__name__)


def delta_layout(path: str) -> dict[str, int]:
    """Rows, files and bytes of a Delta table's current version, from its add actions.

    Parent side only (see :func:`run_child`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    actions = pa.table(DeltaTable(path).get_add_actions(flatten=True))
    return {"rows": int(pc.sum(actions["num_records"]).as_py() or 0), "files": actions.num_rows,
            "bytes": int(pc.sum(actions["size_bytes"]).as_py() or 0)}


def fresh_dir(parent: Path, name: str) -> Path:
    """An empty directory ``parent/name`` (removed first if left over)."""
    path = parent / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
