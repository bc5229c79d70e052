"""An in-memory control store: the :class:`ControlStoreProtocol` without a database.

For plugin authors' unit tests of a strategy or connector, and for any test that needs a
store but not SQL. It keeps the SQL store's semantics, and
``tests/unit/test_control_store.py`` runs the same tests against both: leases expire
and are taken over, a claim that lost its lease can neither save state nor finish,
versions are optimistic locks, every status change goes through the state machine
(``control/status.py``), config changes are audited, runs are listed newest first, and
each call (or :meth:`InMemoryControlStore.together` block) is all or nothing.

Example::

    from dataloader_sdk.testing import InMemoryControlStore

    store = InMemoryControlStore()
    store.add_source(SourceConfig("src", "sqlalchemy", options={"url": "sqlite:///x.db"}),
                     actor="test")
    loader = DataLoader(store, engine)  # a DataLoader runs on it as on the SQL store
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from dataloader_sdk.control import history, scheduling
from dataloader_sdk.control._common import check_actor, check_now
from dataloader_sdk.control.owners import owner_is_gone
from dataloader_sdk.control.protocol import FinishStatus
from dataloader_sdk.control.records import AuditEntry, BrokenTable, Claim
from dataloader_sdk.control.rows import row_to_source, row_to_table, run_problems
from dataloader_sdk.control.scheduling import RetryPolicy
from dataloader_sdk.control.status import check_transition
from dataloader_sdk.control.unchanged import UnchangedRun, settled_values
from dataloader_sdk.errors import ConfigError, LeaseError, ValidationError
from dataloader_sdk.model import RunRecord, SourceConfig, TableRecord, TableState, TableStatus, utcnow
from dataloader_sdk.testing.memory_config import ConfigMethods
from dataloader_sdk.testing.memory_data import MemoryData, as_utc, read_run, stored_run

__all__ = ["InMemoryControlStore"]

_T = TypeVar("_T")


class InMemoryControlStore(ConfigMethods):
    """A control store held in this process's memory (see the module docstring).

    Args:
        environment: ``dataloader`` or ``dataloader_test`` (written into audit rows).
        max_retries: Retries after a failure before ``needs_attention``.
        retry_delay_seconds: How long after a failure the retry is due.
        clock: The time of config changes and audit rows.
    """

    def __init__(
        self,
        environment: str = "dataloader",
        *,
        max_retries: int = 3,
        retry_delay_seconds: int = 60,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.environment = environment
        self.retry = RetryPolicy(max_retries=max_retries, delay_seconds=retry_delay_seconds)
        self._clock = clock
        self._control_id = str(uuid.uuid4())
        self._data = MemoryData()
        self._lock = threading.RLock()
        self._depth = 0  # > 0 inside a call: nested calls join its transaction

    def __enter__(self) -> InMemoryControlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<InMemoryControlStore {self.environment}>"

    @property
    def control_id(self) -> str:
        """A UUID made when the store was created (as migration 0002 makes one)."""
        return self._control_id

    def close(self) -> None:
        """Nothing to release; present so the store is used as the SQL one is."""

    # ------------------------------------------------------------------ transactions

    def _run(self, fn: Callable[[MemoryData], _T]) -> _T:
        """Run ``fn`` on the data as one transaction: a failure puts every row back."""
        with self._lock:
            if self._depth:
                return fn(self._data)
            saved = copy.deepcopy(self._data)
            self._depth += 1
            try:
                return fn(self._data)
            except BaseException:
                self._data = saved
                raise
            finally:
                self._depth -= 1

    def together(self, calls: Callable[[], _T], what: str = "complete store calls") -> _T:
        """Run ``calls`` (several calls of this store) all or nothing."""
        return self._run(lambda data: calls())

    # ------------------------------------------------------------------ reading

    def get_source(self, name: str) -> SourceConfig:
        """One source. Raises :class:`UnknownNameError` listing the known sources."""
        return self._run(lambda d: row_to_source(d.source(name)))

    def get_table(self, name: str) -> TableRecord:
        """One table. Raises :class:`UnknownNameError` listing the known tables."""
        return self._run(lambda d: row_to_table(d.table(name)))

    def get_tables(self, names: Sequence[str]) -> list[TableRecord]:
        """The tables ``names``, in that order (the first unknown name raises)."""
        return [self.get_table(name) for name in names]

    def list_tables(self) -> list[TableRecord]:
        """Every readable table, sorted by name."""
        return [t for t in self._read_all() if isinstance(t, TableRecord)]

    def broken_tables(self) -> list[BrokenTable]:
        """Rows that cannot be read as tables (a test may break one by hand), by name."""
        return [t for t in self._read_all() if isinstance(t, BrokenTable)]

    def _read_all(self) -> list[TableRecord | BrokenTable]:
        def read(d: MemoryData) -> list[TableRecord | BrokenTable]:
            out: list[TableRecord | BrokenTable] = []
            for name in sorted(d.tables):
                row = d.tables[name]
                try:
                    out.append(row_to_table(row))
                except ConfigError as exc:
                    out.append(BrokenTable(name=name, status=row.status, problem=str(exc)))
            return out
        return self._run(read)

    # ------------------------------------------------------------------ scheduling

    def enqueue_due(self, *, now: datetime) -> list[str]:
        """Queue every due table and return their names (highest priority first)."""
        check_now(now)
        retry = self.retry

        def due(row: Any) -> bool:
            settled = row.status in ("idle", "succeeded", "skipped", "cancelled")
            retryable = row.status == "failed" and row.retry_count <= retry.max_retries
            when = (row.next_run_at <= now if row.next_run_at is not None
                    else row.interval_seconds is not None)
            return bool(row.enabled) and (settled or retryable) and when

        def enqueue(d: MemoryData) -> list[str]:
            rows = sorted((r for r in d.tables.values() if due(r)),
                          key=lambda r: (r.priority, r.table_id))
            for row in rows:
                row.status = check_transition(row.name, row.status, "queued")
                row.updated_at = as_utc(now)
            return [r.name for r in rows]
        return self._run(enqueue)

    def claim(
        self, name: str, *, owner: str, lease_seconds: int, now: datetime,
        run: Callable[[TableRecord], RunRecord] | None = None,
    ) -> Claim:
        """Claim one table for a manual run, whatever its schedule (see ``ControlStore``).

        Raises:
            UnknownNameError: No such table.
            LeaseError: Another worker holds the lease (named, with its expiry).
        """
        check_now(now)
        check_actor(owner)
        scheduling.check_positive(lease_seconds, "lease_seconds")

        def claim_and_record(d: MemoryData) -> Claim:
            row = d.table(name)
            if scheduling.lease_held(row, now) and row.lease_owner == owner:
                held = Claim(table=row_to_table(row), owner=owner,
                             generation=row.run_generation, expires_at=row.lease_expires_at)
            elif scheduling.lease_held(row, now) and not owner_is_gone(row.lease_owner):
                raise LeaseError(
                    f"table {name!r} is already running: leased by {row.lease_owner!r} "
                    f"until {row.lease_expires_at.isoformat()}; wait for that run to finish "
                    "(or for the lease to expire) and claim it again. If that process is "
                    f"gone, release the lease with `dataloader tables unlock {name}`")
            else:
                path: list[TableStatus] = (
                    ["failed", "queued", "running"] if row.status == "running"
                    else ["running"] if row.status == "queued" else ["queued", "running"])
                current: str = row.status
                for step in path:
                    current = check_transition(name, current, step)
                held = _take_lease(d, row, owner, lease_seconds, now)
            if run is None:
                return held
            record = run(held.table)
            _upsert_run(d, record)
            return replace(held, run=record)
        return self._run(claim_and_record)

    def claim_due(
        self, *, owner: str, limit: int, lease_seconds: int, now: datetime
    ) -> list[Claim]:
        """Claim up to ``limit`` queued tables (lowest ``priority`` number first)."""
        check_now(now)
        check_actor(owner)
        scheduling.check_positive(limit, "limit")
        scheduling.check_positive(lease_seconds, "lease_seconds")

        def claim_rows(d: MemoryData) -> list[Claim]:
            queued = sorted((r for r in d.tables.values()
                             if r.status == "queued" and r.enabled),
                            key=lambda r: (r.priority, r.updated_at, r.table_id))[:limit]
            claims = []
            for row in queued:
                try:
                    row_to_table(row)
                except ConfigError as exc:  # one hand-broken row must not stop the others
                    _park_broken(d, row, str(exc), now, self.environment)
                    continue
                claims.append(_take_lease(d, row, owner, lease_seconds, now))
            return claims
        return self._run(claim_rows)

    def save_state(self, claim: Claim, state: TableState) -> None:
        """Store a claimed table's state (``LeaseError`` if the claim no longer holds)."""
        def save(d: MemoryData) -> None:
            _held_row(d, claim, "cannot save state of").state = state.to_json()
        self._run(save)

    def renew(self, claim: Claim, *, now: datetime, lease_seconds: int) -> Claim:
        """Extend a claim's lease (``LeaseError`` if the claim no longer holds)."""
        check_now(now)
        expires = now + timedelta(seconds=lease_seconds)

        def extend(d: MemoryData) -> Claim:
            _held_row(d, claim, "cannot renew the lease of").lease_expires_at = as_utc(expires)
            return replace(claim, run=None, expires_at=expires)
        return self._run(extend)

    def finish(
        self, claim: Claim, *, status: FinishStatus, now: datetime, permanent: bool = False,
    ) -> TableRecord:
        """End a claimed run: release the lease, record the outcome, schedule the next run."""
        check_now(now)
        retry = self.retry

        def end(d: MemoryData) -> TableRecord:
            done = d.table_by_id(claim.table.table_id)
            if (done is not None and done.run_generation == claim.generation
                    and done.lease_owner is None and done.last_run_at == now):
                return row_to_table(done)  # finished already, at this very ``now``
            row = _held_row(d, claim, "cannot finish")
            final = check_transition(row.name, row.status, status)
            row.lease_owner = row.lease_expires_at = None
            row.last_run_at = row.updated_at = as_utc(now)
            if final == "failed":
                row.retry_count += 1
                if permanent or row.retry_count > retry.max_retries:
                    final = check_transition(row.name, final, "needs_attention")
                    row.next_run_at = None
                else:
                    row.next_run_at = as_utc(now + timedelta(seconds=retry.delay_seconds))
            elif final != "cancelled":  # a cancelled run keeps its schedule and count
                row.retry_count = 0
                row.next_run_at = (as_utc(now + timedelta(seconds=row.interval_seconds))
                                   if row.interval_seconds else None)
            row.status = final
            return row_to_table(row)
        return self._run(end)

    # ------------------------------------------------------------------ history

    def record_run(self, run: RunRecord) -> None:
        """Insert the run, or update it if its ``run_id`` was recorded before."""
        self._run(lambda d: _upsert_run(d, run))

    def settle_unchanged(
        self, runs: Sequence[UnchangedRun], *, now: datetime
    ) -> list[UnchangedRun]:
        """Record runs that committed nothing, each only while its table is as read."""
        check_now(now)

        def settle(d: MemoryData) -> list[UnchangedRun]:
            settled = []
            for item in runs:
                row = d.table_by_id(item.table.table_id)
                values = None if row is None else settled_values(
                    row, item, now, recorded=item.run.run_id in d.runs)
                if values is None:
                    continue
                for name, value in values.items():
                    setattr(row, name, as_utc(value) if isinstance(value, datetime) else value)
                _upsert_run(d, item.run)
                settled.append(item)
            return settled
        return self._run(settle)

    def runs(self, table: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The newest runs (of one table, or of all), newest first."""
        _check_limit(limit)

        def newest(d: MemoryData) -> list[RunRecord]:
            rows = [r for r in d.runs.values() if table is None or r.table_name == table]
            rows.sort(key=lambda r: (r.started_at, r.run_id), reverse=True)
            return [read_run(r) for r in rows[:limit]]
        return self._run(newest)

    def audit_log(self, entity: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest audit entries (of one source/table name, or all), newest first."""
        _check_limit(limit)

        def newest(d: MemoryData) -> list[AuditEntry]:
            rows = [e for e in reversed(d.audit) if entity is None or e.entity == entity]
            return rows[:limit]
        return self._run(newest)


def _check_limit(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")


def _take_lease(d: MemoryData, row: Any, owner: str, lease_seconds: int,
                now: datetime) -> Claim:
    row.run_generation += 1
    row.status = "running"
    row.lease_owner = owner
    row.lease_expires_at = as_utc(now + timedelta(seconds=lease_seconds))
    row.updated_at = as_utc(now)
    _close_abandoned_runs(d, row.table_id, now)
    return Claim(table=row_to_table(row), owner=owner, generation=row.run_generation,
                 expires_at=row.lease_expires_at)


def _park_broken(d: MemoryData, row: Any, problem: str, now: datetime,
                 environment: str) -> None:
    final = check_transition(row.name, check_transition(row.name, row.status, "failed"),
                             "needs_attention")
    before = {"status": row.status}
    row.status, row.next_run_at, row.updated_at = final, None, as_utc(now)
    d.write_audit(kind="table", entity=row.name, action="status", actor="dataloader", at=now,
                  before=before, after={"status": final, "reason": problem},
                  environment=environment)


def _close_abandoned_runs(d: MemoryData, table_id: int, now: datetime) -> None:
    d.close_open_runs(table_id, status="failed", finished_at=as_utc(now),
                      error_class=history.ABANDONED, error_message=history.ABANDONED_MESSAGE)


def _held_row(d: MemoryData, held: Claim, what: str) -> Any:
    row = d.table_by_id(held.table.table_id)
    if (row is None or row.status != "running" or row.lease_owner != held.owner
            or row.run_generation != held.generation):
        raise scheduling.lease_error(held.table.name, row, what)
    return row


def _upsert_run(d: MemoryData, run: RunRecord) -> None:
    problems = run_problems(run)
    if problems:
        raise ValidationError(f"run record {run.run_id!r} of table {run.table!r}", problems)
    d.runs[run.run_id] = stored_run(run)



if TYPE_CHECKING:
    from dataloader_sdk.control.protocol import ControlStoreProtocol
    from dataloader_sdk.control.store import ControlStore

    def _both_keep_the_protocol(
        sql: ControlStore, memory: InMemoryControlStore
    ) -> tuple[ControlStoreProtocol, ControlStoreProtocol]:
        """mypy proves here that both stores implement the protocol."""
        return sql, memory
