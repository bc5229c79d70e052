"""Soak change driver: random source changes, and SQLite source faults (see _soak_sources)."""

# Identifiers are the soak's own fixed names (t000...), quoted; values are bound.
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks._soak_sources import TableSpec, Writer, _PgDb, _SqliteDb

# -- the driver process ---------------------------------------------------------------------


@dataclass
class FaultEvent:
    """One injected source fault (written as a JSON line as soon as it starts)."""

    kind: str
    source: str
    start: float
    end: float | None = None


class Driver:
    """Applies random changes until ``stop`` is set; injects SQLite source faults.

    Records, per table, the wall time of every committed change: used only for the
    staleness figure, never for the correctness check.
    """

    def __init__(self, specs: list[TableSpec], pg_conninfo: str | None, seed: int,
                 rate: float, fault_every: float, events: Path) -> None:
        self.specs = specs
        self.pg_conninfo = pg_conninfo
        self.rng = random.Random(seed + 2)
        self.rate = rate
        self.fault_every = fault_every
        self.events = events
        self.stop = threading.Event()
        self.file_locks = {s.path: threading.Lock() for s in specs if s.path}
        self.changes: dict[str, list[float]] = {s.name: [] for s in specs}
        self.counts: dict[str, int] = {}
        self.faults: dict[str, int] = {"source_missing": 0, "source_locked": 0}
        self.errors: dict[str, int] = {}

    def run(self) -> dict[str, Any]:
        """Run both threads until :attr:`stop`; returns the figures."""
        faults = threading.Thread(target=self._fault_loop, name="soak-sqlite-faults")
        faults.start()
        try:
            self._change_loop()
        finally:
            self.stop.set()
            faults.join()
        return {"changes": self.changes, "counts": self.counts, "faults": self.faults,
                "errors": self.errors, "last_change": max(
                    (t for ts in self.changes.values() for t in ts), default=None)}

    def _change_loop(self) -> None:
        sqlite_conns: dict[str, sqlite3.Connection] = {}
        pg = None
        if self.pg_conninfo and any(s.backend == "pg" for s in self.specs):
            import psycopg

            pg = psycopg.connect(self.pg_conninfo, autocommit=True)
        writers: dict[str, Writer] = {}
        period = 1.0 / self.rate if self.rate > 0 else 1.0
        next_at = time.monotonic()
        try:
            while not self.stop.is_set():
                spec = self.rng.choice(self.specs)
                with self._file_free(spec) as free:
                    if free:
                        self._one_change(spec, writers, sqlite_conns, pg)
                next_at += period
                delay = next_at - time.monotonic()
                if delay > 0:  # pacing, not synchronisation
                    self.stop.wait(delay)
                else:
                    next_at = time.monotonic()
        finally:
            for conn in sqlite_conns.values():
                conn.close()
            if pg is not None:
                pg.close()

    @contextmanager
    def _file_free(self, spec: TableSpec) -> Iterator[bool]:
        lock = self.file_locks.get(spec.path) if spec.path else None
        if lock is None:
            yield True
            return
        if not lock.acquire(blocking=False):
            yield False  # the file is in an outage: change another table
            return
        try:
            yield True
        finally:
            lock.release()

    def _one_change(self, spec: TableSpec, writers: dict[str, Writer],
                    sqlite_conns: dict[str, sqlite3.Connection], pg: Any) -> None:
        writer = writers.get(spec.name)
        if writer is None:
            if spec.path is not None:
                conn = sqlite_conns.get(spec.path)
                if conn is None:
                    conn = sqlite3.connect(spec.path, isolation_level=None, timeout=30)
                    sqlite_conns[spec.path] = conn
                writer = Writer(spec, _SqliteDb(conn), self.rng)
            else:
                writer = Writer(spec, _PgDb(pg), self.rng)
            writers[spec.name] = writer
        try:
            kind = writer.change(datetime.now(timezone.utc))
        except Exception as exc:  # a busy source: count it, change something else
            name = type(exc).__name__
            self.errors[name] = self.errors.get(name, 0) + 1
            return
        self.changes[spec.name].append(time.time())
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _fault_loop(self) -> None:
        paths = sorted(self.file_locks)
        if not paths or self.fault_every <= 0:
            return
        kinds: list[Callable[[str], None]] = [self._missing, self._locked]
        # The first fault of each kind comes early, so even a short run sees every kind.
        for fn in kinds:
            if self.stop.wait(self.rng.uniform(1, min(self.fault_every, 10))):
                return
            fn(self.rng.choice(paths))
        while not self.stop.wait(self.rng.expovariate(len(kinds) / self.fault_every)):
            self.rng.choice(kinds)(self.rng.choice(paths))

    def _log(self, event: FaultEvent) -> None:
        with self.events.open("a", encoding="utf-8") as f:
            f.write(json.dumps(asdict(event)) + "\n")

    def _missing(self, path: str) -> None:
        """Rename the file away for 2-6 s and back (workers meanwhile see no table)."""
        with self.file_locks[path]:
            event = FaultEvent("source_missing", _source_of(self.specs, path), time.time())
            self._log(event)
            away = path + ".away"
            os.replace(path, away)
            self.faults["source_missing"] += 1
            try:
                self.stop.wait(self.rng.uniform(2, 6))
            finally:
                # A reader may have created an empty file at the path meanwhile
                # (see docs/benchmarks.md, Soak): the original replaces it.
                os.replace(away, path)
            event.end = time.time()
            self._log(event)

    def _locked(self, path: str) -> None:
        """Hold an exclusive lock for 6-9 s, longer than a reader's 5 s busy timeout."""
        with self.file_locks[path]:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30)
            try:
                conn.execute("BEGIN EXCLUSIVE")
                event = FaultEvent("source_locked", _source_of(self.specs, path), time.time())
                self._log(event)
                self.faults["source_locked"] += 1
                self.stop.wait(self.rng.uniform(6, 9))
                conn.execute("ROLLBACK")
                event.end = time.time()
                self._log(event)
            finally:
                conn.close()


def _source_of(specs: list[TableSpec], path: str) -> str:
    return next(s.source for s in specs if s.path == path)
