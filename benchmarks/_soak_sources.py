"""Soak sources: the table plan, source DDL, the change driver and SQLite source faults.

Sources are written with raw ``sqlite3`` and ``psycopg`` only, never through the SDK. The
driver is one process with one writer thread (so commit order equals cursor order, which
``append_only`` needs) and one fault thread that makes SQLite sources unavailable:

* ``source_missing``: the file is renamed away for a few seconds and back (the driver
  does this between its own transactions, so no hot journal is ever orphaned);
* ``source_locked``: an exclusive lock is held longer than a reader's busy timeout.

Source files use the rollback journal (``journal_mode=DELETE``), so an exclusive lock
really blocks readers and a renamed file leaves no ``-wal``/``-shm`` behind.
"""

# Identifiers are the soak's own fixed names (t000...), quoted; values are bound.
# ruff: noqa: S608
from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

Strategy = Literal["incremental", "append_only", "full", "rolling"]
Backend = Literal["sqlite", "pg"]
STRATEGY_WEIGHTS: dict[Strategy, int] = {
    "incremental": 50, "append_only": 20, "full": 20, "rolling": 10}
#: ``incremental`` lookback; late rows are written at most half of it in the past.
LOOKBACK_SECONDS = 60
LATE_MAX_SECONDS = LOOKBACK_SECONDS // 2
INITIAL_ROWS = 40
MIN_ROWS = 5  # the driver never deletes below this (rolling's empty-window guard)
TABLES_PER_SQLITE_FILE = 25
PG_SOURCE = "pgsrc"


@dataclass(frozen=True)
class TableSpec:
    """One soak table: its strategy and where its source table lives."""

    name: str
    strategy: Strategy
    backend: Backend
    source: str                  # the control DB source name
    path: str | None = None      # the SQLite file, for sqlite sources

    @property
    def key(self) -> str:
        """The column that identifies a row (``seq`` is also append_only's cursor)."""
        return "seq" if self.strategy == "append_only" else "id"

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns, key first."""
        return {"incremental": ("id", "val", "n", "updated_at"),
                "append_only": ("seq", "val", "n"),
                "full": ("id", "val", "n"),
                "rolling": ("id", "day", "val", "n")}[self.strategy]

    def options(self) -> dict[str, Any]:
        """The table's ``strategy_options``."""
        if self.strategy == "incremental":
            return {"primary_keys": ["id"], "watermark_column": "updated_at",
                    "lookback": f"{LOOKBACK_SECONDS}s"}
        if self.strategy == "append_only":
            return {"watermark_column": "seq"}
        if self.strategy == "rolling":
            return {"window_column": "day", "window": "7d"}
        return {"primary_keys": ["id"]}


def plan_tables(tables: int, seed: int, workdir: Path, pg_share: float) -> list[TableSpec]:
    """A deterministic mix of strategies and sources (``pg_share`` of them on PostgreSQL)."""
    rng = random.Random(seed)
    strategies = list(STRATEGY_WEIGHTS)
    weights = list(STRATEGY_WEIGHTS.values())
    specs: list[TableSpec] = []
    # Every ``stride``-th table (from the second) lives in the PostgreSQL source.
    stride = max(1, round(1 / pg_share)) if pg_share > 0 else 0
    for i in range(tables):
        # Every strategy appears at least once when there are enough tables.
        strategy = strategies[i] if i < len(strategies) else rng.choices(strategies, weights)[0]
        name = f"t{i:03d}"
        if stride and i % stride == 1 % stride:
            specs.append(TableSpec(name, strategy, "pg", PG_SOURCE))
            continue
        file_no = sum(s.backend == "sqlite" for s in specs) // TABLES_PER_SQLITE_FILE
        path = workdir / "sources" / f"src{file_no:02d}.db"
        specs.append(TableSpec(name, strategy, "sqlite", f"sq{file_no:02d}", str(path)))
    return specs


# -- DDL and initial rows ------------------------------------------------------------------

_SQLITE_DDL = {
    "incremental": "(id INTEGER PRIMARY KEY, val TEXT NOT NULL, n INTEGER NOT NULL, "
                   "updated_at TIMESTAMP NOT NULL)",
    "append_only": "(seq INTEGER PRIMARY KEY AUTOINCREMENT, val TEXT NOT NULL, "
                   "n INTEGER NOT NULL)",
    "full": "(id INTEGER PRIMARY KEY, val TEXT NOT NULL, n INTEGER NOT NULL)",
    "rolling": "(id INTEGER PRIMARY KEY, day DATE NOT NULL, val TEXT NOT NULL, "
               "n INTEGER NOT NULL)",
}
_PG_DDL = {
    "incremental": "(id bigint PRIMARY KEY, val text NOT NULL, n bigint NOT NULL, "
                   "updated_at timestamptz NOT NULL)",
    "append_only": "(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, val text NOT NULL, "
                   "n bigint NOT NULL)",
    "full": "(id bigint PRIMARY KEY, val text NOT NULL, n bigint NOT NULL)",
    "rolling": "(id bigint PRIMARY KEY, day date NOT NULL, val text NOT NULL, "
               "n bigint NOT NULL)",
}


def sqlite_ts(value: datetime) -> str:
    """How the sources store a timestamp: naive UTC, Python sqlite3's ``isoformat(" ")``."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ")


def create_sources(specs: list[TableSpec], pg_conninfo: str | None, seed: int) -> None:
    """Create every source table with :data:`INITIAL_ROWS` rows."""
    rng = random.Random(seed + 1)
    now = datetime.now(timezone.utc)
    by_file: dict[str, list[TableSpec]] = {}
    for spec in specs:
        if spec.path is not None:
            by_file.setdefault(spec.path, []).append(spec)
    for path, group in by_file.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=DELETE")
        for spec in group:
            conn.execute(f'CREATE TABLE "{spec.name}" {_SQLITE_DDL[spec.strategy]}')
            w = Writer(spec, _SqliteDb(conn), rng)
            for _ in range(INITIAL_ROWS):
                w.insert(now - timedelta(minutes=5))
        conn.close()
    pg_specs = [s for s in specs if s.backend == "pg"]
    if pg_specs:
        import psycopg
        from psycopg import sql

        assert pg_conninfo is not None
        with psycopg.connect(pg_conninfo, autocommit=True) as pconn:
            for spec in pg_specs:
                pconn.execute(sql.SQL("CREATE TABLE {} " + _PG_DDL[spec.strategy]).format(
                    sql.Identifier(spec.name)))
                w = Writer(spec, _PgDb(pconn), rng)
                for _ in range(INITIAL_ROWS):
                    w.insert(now - timedelta(minutes=5))


# -- one writer per table (raw drivers) ---------------------------------------------------


class _SqliteDb:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.mark = "?"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def ts(self, value: datetime) -> object:
        return sqlite_ts(value)

    def from_ts(self, value: object) -> datetime:
        return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc)

    def day(self, value: date) -> object:
        return value.isoformat()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.execute(sql, params)


class _PgDb:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.mark = "%s"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def ts(self, value: datetime) -> object:
        return value

    def from_ts(self, value: object) -> datetime:
        assert isinstance(value, datetime)
        return value

    def day(self, value: date) -> object:
        return value

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.conn.execute(sql, params)


class Writer:
    """Random changes to one source table; each call is one autocommitted statement.

    Identifiers are the soak's own fixed names (``t000``...), quoted; values are bound.
    """

    def __init__(self, spec: TableSpec, db: _SqliteDb | _PgDb, rng: random.Random) -> None:
        self.spec = spec
        self.db = db
        self.rng = rng
        self.t = db.ident(spec.name)

    def _val(self) -> str:
        # Mostly ASCII, sometimes non-ASCII and quotes, so values are not all alike.
        base = f"{self.rng.getrandbits(32):08x}"
        return base + self.rng.choice(["", "", "", " é", "'q'", "ü\u2603"])

    def _new_id(self) -> int:
        row = self.db.one(f"SELECT max(id) FROM {self.t}")
        return int(row[0] or 0) + 1

    def _pick(self, where: str = "", params: tuple[Any, ...] = ()) -> Any:
        return self.db.one(f"SELECT * FROM {self.t} {where} ORDER BY random() LIMIT 1", params)

    def _count(self, where: str = "", params: tuple[Any, ...] = ()) -> int:
        return int(self.db.one(f"SELECT count(*) FROM {self.t} {where}", params)[0])

    def insert(self, now: datetime, *, late: bool = False) -> str:
        """Insert one row (for incremental, ``late`` puts its cursor inside the lookback)."""
        m, s = self.db.mark, self.spec.strategy
        if s == "append_only":
            self.db.run(f"INSERT INTO {self.t} (val, n) VALUES ({m}, {m})",
                        (self._val(), self.rng.randint(0, 10**6)))
            return "insert"
        if s == "incremental":
            at = now - timedelta(seconds=self.rng.uniform(1, LATE_MAX_SECONDS)) if late else now
            self.db.run(f"INSERT INTO {self.t} (id, val, n, updated_at) VALUES "
                        f"({m}, {m}, {m}, {m})",
                        (self._new_id(), self._val(), self.rng.randint(0, 10**6), self.db.ts(at)))
            return "late_insert" if late else "insert"
        if s == "rolling":
            day = now.date() + timedelta(days=self.rng.randint(-3, 1))
            self.db.run(f"INSERT INTO {self.t} (id, day, val, n) VALUES ({m}, {m}, {m}, {m})",
                        (self._new_id(), self.db.day(day), self._val(),
                         self.rng.randint(0, 10**6)))
            return "insert"
        self.db.run(f"INSERT INTO {self.t} (id, val, n) VALUES ({m}, {m}, {m})",
                    (self._new_id(), self._val(), self.rng.randint(0, 10**6)))
        return "insert"

    def update(self, now: datetime) -> str:
        """Change one row's values (for incremental, the cursor moves forward)."""
        m, s = self.db.mark, self.spec.strategy
        where, params = self._recent(now)
        row = self._pick(where, params)
        if row is None:
            return self.insert(now)
        if s == "incremental":
            # A row's cursor never moves backwards: the merge's sequence guard would
            # rightly keep the newer target row.
            at = max(now, self.db.from_ts(row[3]) + timedelta(microseconds=1))
            self.db.run(f"UPDATE {self.t} SET val = {m}, n = n + 1, updated_at = {m} "
                        f"WHERE id = {m}", (self._val(), self.db.ts(at), row[0]))
        else:
            self.db.run(f"UPDATE {self.t} SET val = {m}, n = n + 1 WHERE id = {m}",
                        (self._val(), row[0]))
        return "update"

    def delete(self, now: datetime) -> str:
        """Delete one row (full and rolling only; never below :data:`MIN_ROWS`)."""
        where, params = self._recent(now)
        if self._count(where, params) <= MIN_ROWS:
            return self.insert(now)
        row = self._pick(where, params)
        self.db.run(f"DELETE FROM {self.t} WHERE id = {self.db.mark}", (row[0],))
        return "delete"

    def _recent(self, now: datetime) -> tuple[str, tuple[Any, ...]]:
        # rolling: only rows well inside the 7-day window change, so a run crossing
        # midnight UTC still sees every changed row inside its window.
        if self.spec.strategy != "rolling":
            return "", ()
        return (f"WHERE day >= {self.db.mark}",
                (self.db.day(now.date() - timedelta(days=3)),))

    def change(self, now: datetime) -> str:
        """One random change appropriate to the strategy; returns its kind."""
        s, r = self.spec.strategy, self.rng.random()
        if s == "append_only":
            return self.insert(now)
        if s == "incremental":
            if r < 0.35:
                return self.insert(now)
            if r < 0.5:
                return self.insert(now, late=True)
            return self.update(now)
        if r < 0.4:
            return self.insert(now)
        if r < 0.8:
            return self.update(now)
        return self.delete(now)
