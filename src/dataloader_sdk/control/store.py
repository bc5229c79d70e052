"""The control store: the typed facade over the control database of one environment.

Each public method is one transaction; the work is done by the small modules next to
this one (``sources``, ``tables``, ``scheduling``, ``history``, ``audit``), and every
status change goes through :mod:`dataloader_sdk.control.status`. This module holds the
lifecycle, the transactions and the history; the other methods come from mixins by job:
``store_config`` (sources, tables), ``store_leases`` (scheduling, claims, leases),
``store_orchestration``, ``store_operations`` (bulk edits, audit queries) and
``store_ui``. What every store promises is :mod:`dataloader_sdk.control.protocol`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal, TypeVar

import sqlalchemy as sa

from dataloader_sdk.control import audit, history, identity, migrate
from dataloader_sdk.control.database import (
    Environment,
    EnvironmentTarget,
    create_control_engine,
    resolve_environment,
)
from dataloader_sdk.control.records import AuditEntry, BrokenTable, Claim
from dataloader_sdk.control.resilience import ControlRetry, run_with_retries
from dataloader_sdk.control.scheduling import RetryPolicy
from dataloader_sdk.control.store_config import ConfigOps
from dataloader_sdk.control.store_leases import LeaseOps
from dataloader_sdk.control.store_operations import OperationsOps
from dataloader_sdk.control.store_orchestration import OrchestrationOps
from dataloader_sdk.control.store_ui import UiOps
from dataloader_sdk.errors import ConfigError, StateError
from dataloader_sdk.model import RunRecord, utcnow

# Claim, AuditEntry and RetryPolicy are re-exported: callers import them from here.
__all__ = ["AuditEntry", "BrokenTable", "Claim", "ControlStore", "RetryPolicy"]

_T = TypeVar("_T")


class ControlStore(ConfigOps, LeaseOps, OrchestrationOps, OperationsOps, UiOps):
    """Sources, tables, schedules, leases, run history and audit of one environment.

    Open with :meth:`open`; close with :meth:`close` (or use it as a context manager).
    A store owns one connection pool and is safe to share between threads; for
    independent workers, open one store per worker.

    Attributes:
        environment: ``dataloader`` (prod) or ``dataloader_test`` (pre-prod).
        retry: The retry policy applied by :meth:`finish`, :meth:`enqueue_due` and
            :meth:`set_status`.
        control_retry: How transient control-database failures are retried (see
            ``control/resilience.py``).
    """

    def __init__(
        self,
        engine: sa.Engine,
        target: EnvironmentTarget,
        environment: Environment,
        *,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        control_retry: ControlRetry | None = None,
    ) -> None:
        """Wrap an engine made by :func:`create_control_engine`; prefer :meth:`open`."""
        self._engine = engine
        self._target = target
        self.environment: str = environment
        self.retry = retry or RetryPolicy()
        self.control_retry = control_retry or ControlRetry()
        self._clock = clock
        self._control_id: str | None = None
        self._local = threading.local()  # the transaction of a together() call, per thread
        # SQLite has one writer at a time and every transaction takes the write lock
        # (BEGIN IMMEDIATE): this process's threads queue on a Python lock, handed over
        # at once, instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10 ... ms
        # between tries (measured: four workers were slower than one on unchanged runs).
        # Other processes still meet the busy handler.
        self._writer: contextlib.AbstractContextManager[object] = (
            threading.RLock() if target.dialect == "sqlite" else contextlib.nullcontext())

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        url: str,
        environment: Literal["dataloader", "dataloader_test"] = "dataloader",
        *,
        upgrade: bool = True,
        max_retries: int = 3,
        retry_delay_seconds: int = 60,
        busy_timeout_seconds: float = 30.0,
        credential_provider: Callable[[], str] | None = None,
    ) -> ControlStore:
        """Connect to ``environment``'s control tables, migrating them to the latest schema.

        Args:
            url: A SQLAlchemy URL. SQLite: ``sqlite:///DIR/dataloader.db`` (each environment
                is its own file in ``DIR``, named after it). PostgreSQL:
                ``postgresql+psycopg://...`` (each environment is a schema named after it).
            environment: ``dataloader`` (prod) or ``dataloader_test`` (pre-prod).
            upgrade: Run the migrations first (creates the database/schema if missing).
                With ``False`` the database must already be at the latest revision.
            max_retries: Retries after a failure before ``needs_attention``.
            retry_delay_seconds: How long after a failure the retry is due.
            busy_timeout_seconds: SQLite only: how long a write waits for another
                process's write lock before failing with ``ControlStoreUnavailableError``.
            credential_provider: PostgreSQL only: called for the password of every new
                connection (a Lakebase control DB, :mod:`dataloader_sdk.control.lakebase`).

        Raises:
            ConfigError: Bad URL or environment.
            StateError: ``upgrade=False`` and the database is not at the latest revision.
        """
        target = resolve_environment(url, environment)
        retry = RetryPolicy(max_retries=max_retries, delay_seconds=retry_delay_seconds)
        engine = create_control_engine(target, busy_timeout=busy_timeout_seconds,
                                       credential_provider=credential_provider)
        store = cls(engine, target, environment, retry=retry)
        try:
            if upgrade:
                store.upgrade()
            else:
                store.check_revision()
        except BaseException:
            engine.dispose()
            raise
        return store

    def upgrade(self) -> None:
        """Migrate the control tables to the latest revision (``alembic upgrade head``).

        Idempotent; creates the PostgreSQL schema when missing.

        Raises:
            ControlStoreUnavailableError: The database cannot be reached.
        """
        run_with_retries(lambda: migrate.upgrade(self._engine, self._target.schema),
                         what="migrate the control tables", where=self._describe(),
                         policy=self.control_retry)

    def revision(self) -> str | None:
        """The migration revision the database is at (``None`` if never migrated)."""
        return run_with_retries(
            lambda: migrate.current_revision(self._engine, self._target.schema),
            what="read the migration revision", where=self._describe(),
            policy=self.control_retry)

    @property
    def control_id(self) -> str:
        """This control database's id: a UUID made when it was created (migration 0002).

        Every Delta commit a run writes carries it, so a run never rolls forward from the
        commit of another control database (or environment) sharing the table.
        """
        if self._control_id is None:
            self._control_id = self._run(identity.control_id, "read the control DB's id")
        return self._control_id

    def check_revision(self) -> None:
        """Raise :class:`StateError` unless the database is at the latest revision."""
        current, head = self.revision(), migrate.head_revision()
        if current != head:
            raise StateError(
                f"control database {self._describe()} is at revision {current!r}, this "
                f"dataloader-sdk needs {head!r}; run the migrations "
                "(ControlStore.open(..., upgrade=True) or `dataloader control upgrade`)"
            )

    def close(self) -> None:
        """Close every pooled connection. The store cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> ControlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ControlStore {self._describe()}>"

    def _describe(self) -> str:
        where = self._target.url.render_as_string(hide_password=True)
        if self._target.schema:
            where += f" schema {self._target.schema}"
        return f"{self.environment} ({where})"

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        with self._writer, self._engine.begin() as conn:
            yield conn

    def _run(self, fn: Callable[[sa.Connection], _T], what: str = "complete a store call") -> _T:
        """Run ``fn`` in one transaction; transient database failures are retried, and
        what is left surfaces as a :class:`ControlStoreUnavailableError`, never raw.

        Inside :meth:`together` on this thread, ``fn`` joins that call's transaction
        (which commits, and retries, as a whole)."""
        joined: sa.Connection | None = getattr(self._local, "conn", None)
        if joined is not None:
            return fn(joined)

        def once() -> _T:
            with self._tx() as conn:
                return fn(conn)

        return run_with_retries(once, what=what, where=self._describe(),
                                policy=self.control_retry)

    def together(self, calls: Callable[[], _T], what: str = "complete store calls") -> _T:
        """Run ``calls`` (several calls of this store, on this thread) in one transaction.

        One commit instead of one per call, and all or nothing: a failure rolls every call
        back. Transient database failures retry ``calls`` as a whole, so each call in it
        must be safe to run again after a rollback (the store's calls are).
        """

        def once() -> _T:
            with self._tx() as conn:
                self._local.conn = conn
                try:
                    return calls()
                finally:
                    self._local.conn = None

        if getattr(self._local, "conn", None) is not None:
            return calls()  # already inside a together() call: part of its transaction
        return run_with_retries(once, what=what, where=self._describe(),
                                policy=self.control_retry)

    # ------------------------------------------------------------------ history

    def record_run(self, run: RunRecord) -> None:
        """Insert the run, or update it if its ``run_id`` was recorded before."""
        self._run(lambda c: history.upsert_run(c, run),
                  f"record run {run.run_id} of table {run.table!r}")

    def runs(self, table: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The newest runs (of one table, or of all), newest first."""
        _check_limit(limit)
        return self._run(lambda c: history.read_runs(c, table, limit))

    def audit_log(self, entity: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest audit entries (of one source/table name, or all), newest first."""
        _check_limit(limit)
        return self._run(lambda c: audit.read_audit(c, entity, limit))

    def purge_secret_from_audit(self, *values: audit.PurgeValue, actor: str) -> int:
        """Mask leaked secret values in the audit history and the stored config (audited).

        For a secret that reached the control DB anyway (stored before validation refused
        inline credentials, or typed into a free-text field): every occurrence, also
        percent-encoded or escaped, in audit ``before``/``after``, source fields and
        options, table queries and options, and run notes and errors becomes ``***``. One
        ``purge`` audit row records the counts and the secrets' references, never a value.
        Rotate the secret as well: it was exposed.

        Args:
            values: the leaked secrets, ideally resolved
                :class:`~dataloader_sdk.secrets.Secret` objects
                (``resolve('env:LEAKED', host)``), so no value is typed anywhere.
            actor: who purges (recorded in the audit row).

        Returns:
            The number of rows rewritten.

        Raises:
            ConfigError: no value, or one shorter than ``MIN_SECRET_LENGTH`` characters.
        """
        now = self._clock()
        return self._run(lambda c: audit.purge_values(
            c, values, actor=actor, at=now, environment=self.environment))


def _check_limit(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")


