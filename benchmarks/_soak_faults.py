"""Soak supervisor: worker processes (killed and restarted), PostgreSQL faults, the monitor.

Runs in the soak's main process, in threads:

* :class:`Workers` starts ``--child worker`` processes and restarts any that die;
* :class:`PgFaults` injects, at random moments (exponential gaps, mean ``fault_every``
  seconds per kind; the first of each kind early): ``worker_kill`` (SIGKILL),
  ``control_terminate`` (``pg_terminate_backend`` on 1-3 control DB connections) and
  ``source_refused`` (the PostgreSQL source role gets ``CONNECTION LIMIT 0`` and its
  sessions are terminated for 2-6 s: new connections fail with SQLSTATE 53300);
* :class:`Monitor` runs the SDK's stuck-run monitor
  (``dataloader_sdk.orchestration.find_long_running``: a ``running`` table whose lease
  expired is failed, so ``load_due`` retries it; ``load_due`` alone never retakes an
  expired lease), and acts as an operator would: a table sent to ``needs_attention`` by
  a ``source_missing`` fault is requeued once the file is back. Anything else in
  ``needs_attention`` is left there and reported.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Workers:
    """``n`` worker processes, each restarted when it exits before :meth:`stop`."""

    def __init__(self, n: int, args: dict[str, Any], env: dict[str, str], logdir: Path) -> None:
        self.args = args
        self.env = env
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        self.exits: dict[str, int] = {}
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="soak-workers", daemon=True)

    def start(self) -> None:
        """Start every worker and the restart watcher."""
        for i in range(len(self.procs)):
            self._spawn(i)
        self._thread.start()

    def _spawn(self, i: int) -> None:
        log = (self.logdir / f"worker-{i}.log").open("ab")
        self.procs[i] = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.soak", "--child", "worker",
             "--args", json.dumps({**self.args, "index": i})],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            with self._lock:
                for i, proc in enumerate(self.procs):
                    if proc is not None and proc.poll() is not None and \
                            not self._stopping.is_set():
                        key = f"exit {proc.returncode}"
                        self.exits[key] = self.exits.get(key, 0) + 1
                        self.restarts += 1
                        self._spawn(i)

    def kill_one(self, rng: random.Random) -> bool:
        """SIGKILL one running worker (the watcher restarts it)."""
        with self._lock:
            alive = [p for p in self.procs if p is not None and p.poll() is None]
            if not alive:
                return False
            os.kill(rng.choice(alive).pid, signal.SIGKILL)
            return True

    def stop(self, stop_file: Path, timeout: float = 90.0) -> None:
        """Ask workers to stop after their current load; SIGKILL any still running."""
        self._stopping.set()
        self._thread.join()
        stop_file.touch()
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class PgFaults:
    """Worker kills and PostgreSQL-side faults, until :meth:`stop`."""

    def __init__(self, workers: Workers, admin: Callable[[str | None], Any], control_db: str,
                 source_role: str, fault_every: float, seed: int) -> None:
        self.workers = workers
        self.admin = admin  # admin(dbname) -> an autocommit psycopg connection
        self.control_db = control_db
        self.source_role = source_role
        self.fault_every = fault_every
        self.rng = random.Random(seed + 3)
        self.counts = {"worker_kill": 0, "control_terminate": 0, "source_refused": 0}
        self.errors: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-pg-faults", daemon=True)

    def start(self) -> None:
        """Start injecting."""
        self._thread.start()

    def stop(self) -> None:
        """Stop injecting; the source role's connection limit is restored."""
        self._stop.set()
        self._thread.join()
        self._refuse_source(False)

    def _loop(self) -> None:
        if self.fault_every <= 0:
            return
        kinds = {"worker_kill": self._kill, "control_terminate": self._terminate_control,
                 "source_refused": self._source_outage}
        order = list(kinds)
        self.rng.shuffle(order)
        for kind in order:  # one of each early, then at random
            if self._stop.wait(self.rng.uniform(2, min(self.fault_every, 12))):
                return
            self._inject(kind, kinds[kind])
        while not self._stop.wait(self.rng.expovariate(len(kinds) / self.fault_every)):
            kind = self.rng.choice(order)
            self._inject(kind, kinds[kind])

    def _inject(self, kind: str, fn: Callable[[], bool]) -> None:
        try:
            if fn():
                self.counts[kind] += 1
        except Exception as exc:  # the injector itself failed: report it, carry on
            name = f"{kind}: {type(exc).__name__}"
            self.errors[name] = self.errors.get(name, 0) + 1

    def _kill(self) -> bool:
        return self.workers.kill_one(self.rng)

    def _terminate_control(self) -> bool:
        with self.admin(None) as conn:
            pids = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()", (self.control_db,))]
            chosen = self.rng.sample(pids, min(len(pids), self.rng.randint(1, 3)))
            for pid in chosen:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return bool(chosen)

    def _refuse_source(self, refuse: bool) -> None:
        from psycopg import sql

        with self.admin(None) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
                sql.Identifier(self.source_role), sql.Literal(0 if refuse else -1)))
            if refuse:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE usename = %s", (self.source_role,))

    def _source_outage(self) -> bool:
        self._refuse_source(True)
        try:
            self._stop.wait(self.rng.uniform(2, 6))
        finally:
            self._refuse_source(False)
        return True


class Monitor:
    """Fails tables whose lease expired; requeues tables a ``source_missing`` fault parked.

    The store's retry policy must be the workers' (a failed table's next run is due
    ``retry.delay_seconds`` after the monitor failed it).
    """

    def __init__(self, store: Any, fault_events: Path, period: float = 1.0) -> None:
        self.store = store
        self.fault_events = fault_events
        self.period = period
        self.failed_stuck = 0
        self.requeued = 0
        self.errors: dict[str, int] = {}
        self.parked: dict[str, str] = {}  # needs_attention tables left alone: last error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-monitor", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.once()
            except Exception as exc:  # a control DB fault: counted, next round retries
                name = type(exc).__name__
                self.errors[name] = self.errors.get(name, 0) + 1

    def _missing_sources(self) -> dict[str, float]:
        """Source name -> end of its latest finished ``source_missing`` outage."""
        out: dict[str, float] = {}
        if self.fault_events.exists():
            for line in self.fault_events.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event["kind"] == "source_missing" and event["end"] is not None:
                    out[event["source"]] = max(out.get(event["source"], 0.0), event["end"])
        return out

    def once(self) -> None:
        """One round over every table."""
        from dataloader_sdk import DataLoaderError, orchestration
        from dataloader_sdk.model import utcnow

        now = utcnow()
        self.failed_stuck += len(orchestration.find_long_running(self.store, now=now))
        missing: dict[str, float] | None = None
        for table in self.store.list_tables():
            if table.status != "needs_attention":
                continue
            try:
                missing = self._missing_sources() if missing is None else missing
                self._operator(table, missing)
            except DataLoaderError:
                continue  # it changed meanwhile: nothing to do

    def _operator(self, table: Any, missing: dict[str, float]) -> None:
        runs = self.store.runs(table.name, limit=1)
        message = (runs[0].error_message or "") if runs else ""
        ended = missing.get(table.config.source)
        if ended is not None and ("does not exist" in message or "no such table" in message):
            self.store.set_status(table.name, "queued", actor="soak-operator",
                                  reason="source file restored after an injected outage")
            self.requeued += 1
            self.parked.pop(table.name, None)
        else:
            self.parked[table.name] = message[:300]
