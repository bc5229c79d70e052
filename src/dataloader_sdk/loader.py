"""The :class:`DataLoader` facade: load one table, many tables, or whatever is due.

Notebook use::

    from dataloader_sdk import DataLoader, Settings

    loader = DataLoader.from_settings(Settings.load())
    record = loader.load_table("sales.orders")
    print(record.rows_written, record.watermark_after)

Orchestrators call :meth:`DataLoader.load_due` (or the functions in
``dataloader_sdk.orchestration``) on their own schedule.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk._loader_ops import ControlPlaneOps
from dataloader_sdk._run_endings import unclaimed
from dataloader_sdk.cancel import CancelToken, interruptible
from dataloader_sdk.connectors.pool import SourcePool
from dataloader_sdk.control.owners import local_host
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.errors import FieldProblem, LeaseError, ValidationError
from dataloader_sdk.maintenance import maintain_after_load
from dataloader_sdk.model import RunRecord, SourceConfig, TableConfig, TableRecord, utcnow
from dataloader_sdk.plugins import PluginHost, get_host
from dataloader_sdk.runner import ProgressCallback, ProgressUpdate, TableRunner
from dataloader_sdk.source_open import open_source
from dataloader_sdk.unchanged_sweep import SweptTable, UnchangedSweep

if TYPE_CHECKING:
    from dataloader_sdk.config import Settings
    from dataloader_sdk.control.store import Claim, ControlStore
    from dataloader_sdk.engines.base import Engine

__all__ = ["DataLoader", "ProgressCallback", "ProgressUpdate"]

log = logging.getLogger(__name__)

#: Seconds the main thread blocks at a time while the pool works (see ``_run_pool``).
_WAIT_SLICE = 0.2


class DataLoader(ControlPlaneOps):
    """Loads tables configured in a control store into Delta tables.

    Args:
        store: the control store (``ControlStore.open(...)`` or ``Settings.open_store()``).
        engine: the Delta engine to write with.
        host: plugin host; defaults to the process-wide one (entry points).
        worker_id: lease owner name; defaults to ``host:pid:thread``.
        lease_seconds: how long a claim is valid before monitors may consider it stuck.
        clock: returns "now" (UTC); injectable for tests.
    """

    def __init__(
        self,
        store: ControlStore,
        engine: Engine,
        *,
        host: PluginHost | None = None,
        worker_id: str | None = None,
        lease_seconds: int = 3600,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.engine = engine
        self.host = host or get_host()
        self.worker_id = worker_id or f"{local_host()}:{os.getpid()}"
        self.lease_seconds = lease_seconds
        self._clock = clock
        self._runner = TableRunner(store, engine, self.host, clock=clock,
                                   lease_seconds=lease_seconds)
        self._sweep = UnchangedSweep(store, engine, self.host, self._runner, clock=clock)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, host: PluginHost | None = None, **kwargs: object
    ) -> DataLoader:
        """Open the store and the engine that ``settings`` describe.

        With ``settings.openlineage`` the loader's runs send OpenLineage events
        (docs/openlineage.md).

        Raises:
            ConfigError: ``settings.openlineage`` without the ``openlineage`` extra
                (checked before anything is opened).
        """
        if settings.openlineage:
            from dataloader_sdk.integrations.openlineage import observe_settings, require_client

            require_client()
        host = host or get_host()
        engine = host.engine(settings.engine).open(EngineSettings(root=settings.delta_root))
        loader = cls(settings.open_store(secrets=host), engine, host=host,
                     **kwargs)  # type: ignore[arg-type]
        if settings.openlineage:
            observe_settings(loader, settings)
        return loader

    # -- running ------------------------------------------------------------------

    def load_table(
        self,
        name: str,
        *,
        progress: ProgressCallback | None = None,
        raise_on_error: bool = True,
        orchestrator_run_id: str | None = None,
        cancel: CancelToken | None = None,
    ) -> RunRecord:
        """Claim and load one table now, whatever its schedule.

        Ctrl-C (a notebook's "interrupt") cancels the run at the next batch: nothing of
        the running step is committed, the run is recorded as ``cancelled``, the lease is
        released and :class:`~dataloader_sdk.cancel.LoadCancelledError` is raised. Pass
        ``cancel`` to cancel from elsewhere (then no signal handler is installed).

        Raises:
            UnknownNameError: no such table (nothing is recorded).
            LeaseError: another worker is running it (nothing is recorded).
            LoadCancelledError: the run was cancelled and ``raise_on_error``.
            DataLoaderError: the run failed (recorded in history) and ``raise_on_error``.
        """
        with interruptible(cancel) as token:
            return self._run_claim(self._claim(name, orchestrator_run_id), progress,
                                   raise_on_error, orchestrator_run_id, token)

    def run_claim(
        self,
        claim: Claim,
        *,
        progress: ProgressCallback | None = None,
        raise_on_error: bool = True,
        orchestrator_run_id: str | None = None,
        cancel: CancelToken | None = None,
        sources: SourcePool | None = None,
    ) -> RunRecord:
        """Load a table already claimed (``orchestration.run_table`` claims by queue token).

        Pass ``sources`` (a :class:`~dataloader_sdk.connectors.pool.SourcePool`, closed by
        the caller) to reuse source connections across the claims one caller runs.

        Raises:
            DataLoaderError: the run failed or was cancelled (recorded in history) and
                ``raise_on_error``.
        """
        return self._run_claim(claim, progress, raise_on_error, orchestrator_run_id, cancel,
                               sources)

    def load_tables(
        self,
        names: Sequence[str],
        *,
        max_workers: int = 4,
        per_source_limit: int = 2,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[RunRecord]:
        """Load several tables in a thread pool; failures are returned, not raised.

        Cancelling (``cancel``, or Ctrl-C when no token is given) stops every run at its
        next batch (recorded as ``cancelled``) and starts no further table.

        At most ``per_source_limit`` tables of one source run at once, so a big batch does
        not exhaust a source's connection slots. A name given twice is loaded once. A table
        that could not be claimed (another worker is running it) comes back as a record
        with status ``failed``, ``steps_committed`` 0 and the reason; since nothing ran, it
        is not written to the run history.
        """
        unique = list(dict.fromkeys(names))
        records = self.store.get_tables(unique)  # unknown names fail first, in one read
        jobs = [(record, functools.partial(self._claim, record.name)) for record in records]
        with interruptible(cancel) as token:
            return self._run_pool(jobs, max_workers, per_source_limit, progress, token)

    def load_due(
        self,
        *,
        max_workers: int = 4,
        per_source_limit: int = 2,
        progress: ProgressCallback | None = None,
        limit: int = 1000,
        cancel: CancelToken | None = None,
    ) -> list[RunRecord]:
        """Enqueue the tables whose schedule is due, claim up to ``limit`` and load them.

        Every claim is taken up front and a claim waiting for a free worker thread gets no
        lease heartbeat: with leases shorter than the wait (many tables, few workers), pass
        a ``limit`` near ``max_workers`` and call again, or a monitor may fail the waiting
        tables as stuck. Cancelling works as in :meth:`load_tables`; claims not started by
        then are released as ``cancelled``.
        """
        now = self._clock()
        self.store.enqueue_due(now=now)
        claims = self.store.claim_due(
            owner=self._owner(), limit=limit, lease_seconds=self.lease_seconds, now=now
        )
        jobs = [(c.table, functools.partial(_given, c)) for c in claims]
        with interruptible(cancel) as token:
            return self._run_pool(jobs, max_workers, per_source_limit, progress, token,
                                  claimed=True)

    def _run_pool(
        self,
        jobs: Sequence[tuple[TableRecord, Callable[[], Claim]]],
        max_workers: int,
        per_source_limit: int,
        progress: ProgressCallback | None,
        token: CancelToken,
        *,
        claimed: bool = False,
    ) -> list[RunRecord]:
        problems = [
            FieldProblem(field, f"must be at least 1, got {value}")
            for field, value in (("max_workers", max_workers), ("per_source_limit", per_source_limit))
            if value < 1
        ]
        if problems:
            raise ValidationError("load options", problems)
        limits = {
            table.config.source: threading.BoundedSemaphore(per_source_limit)
            for table, _ in jobs
        }

        sources = SourcePool(per_source_limit)  # connectors kept for the batch

        def work(table: TableRecord, claimer: Callable[[], Claim]) -> RunRecord | None:
            with limits[table.config.source]:
                if token.cancelled and not claimed:
                    return None  # not claimed yet: nothing to start, nothing to record
                try:
                    claim = claimer()
                except LeaseError as exc:
                    log.info("could not claim: %s", exc)  # returned in the record
                    return unclaimed(exc, table, self.engine.name, self._clock())
                # A claim taken up front (load_due) runs only to be recorded as cancelled.
                return self._run_claim(claim, progress, False, None, token, sources)

        with sources, ThreadPoolExecutor(max_workers=max_workers,
                                         thread_name_prefix="dataloader") as pool:
            # The tables whose run would commit nothing are found and recorded together.
            swept = {} if token.cancelled else self._sweep.sweep(
                [SweptTable(table, claimer() if claimed else None) for table, claimer in jobs],
                sources, token, progress, workers=pool,
                per_source=min(per_source_limit, max_workers))
            futures = {table.table_id: pool.submit(work, table, claimer)
                       for table, claimer in jobs if table.table_id not in swept}
            # Wait in short slices: Python runs a signal handler only when the main thread
            # runs Python code, and a SIGINT the kernel delivers to another thread does not
            # wake a main thread blocked on a lock. Without the slices a Ctrl-C could wait
            # until every table was loaded.
            pending = set(futures.values())
            while pending:
                _, pending = wait(pending, timeout=_WAIT_SLICE)
            results = [swept[table.table_id] if table.table_id in swept
                       else futures[table.table_id].result() for table, _ in jobs]
        return [r for r in results if r is not None]

    def _run_claim(
        self,
        claim: Claim,
        progress: ProgressCallback | None,
        raise_on_error: bool,
        orchestrator_run_id: str | None,
        cancel: CancelToken | None = None,
        sources: SourcePool | None = None,
    ) -> RunRecord:
        outcome = self._runner.run(claim, progress=progress, sources=sources,
                                   orchestrator_run_id=orchestrator_run_id, cancel=cancel)
        # After the run finished and released its lease; never fails the load.
        maintain_after_load(self.store, self.engine, outcome.record, clock=self._clock)
        if outcome.error is not None and raise_on_error:
            raise outcome.error
        return outcome.record

    def abort_active(self, reason: str) -> int:
        """Record the runs in progress as cancelled and release their leases, at once.

        For a process about to exit without waiting for its runs (a second Ctrl-C);
        best effort. Returns how many leases were released.
        """
        return self._runner.abort_active(reason)

    @staticmethod
    def discard_inflight_writes() -> int:
        """Remove the files of this process's in-flight Delta writes (before exiting at once)."""
        from dataloader_sdk.engines.delta_rs.orphans import remove_inflight

        return remove_inflight()

    def reset_table(self, name: str, *, actor: str, drop_target: bool = False) -> TableRecord:
        """Start a table over: forget its state and give it a new incarnation (audited).

        The next run ignores the Delta commits the table made before and its first step
        replaces what the target holds (never merges into it). With ``drop_target`` the
        Delta table is deleted too, after the state was reset (so a failure in between
        never leaves an old watermark over a missing table).

        Raises:
            UnknownNameError: No such table.
            StateError: It is running.
            ConfigError: ``drop_target`` on a location the engine cannot drop.
        """
        record = self.store.reset_state(name, actor=actor)
        if drop_target:
            self.engine.drop(record.config.target)
        return record

    def _claim(self, name: str, orchestrator_run_id: str | None = None) -> Claim:
        # The run's history row goes in with the claim: one control-DB commit, not two.
        start = functools.partial(self._runner.new_run, run_id=uuid.uuid4().hex,
                                  orchestrator_run_id=orchestrator_run_id)
        return self.store.claim(name, owner=self._owner(), lease_seconds=self.lease_seconds,
                                now=self._clock(), run=start)

    def _owner(self) -> str:
        return f"{self.worker_id}:{threading.get_ident()}"

    # -- configuration (validated with the plugins, then stored) ----------------------

    def add_source(self, config: SourceConfig, *, actor: str) -> SourceConfig:
        """Validate a source against its connector and store it.

        Raises:
            UnknownNameError: unknown ``db_type`` (lists the registered ones).
            ValidationError: every bad field, from the model and the connector.
        """
        self._validate_source(config)
        return self.store.add_source(config, actor=actor)

    def update_source(self, config: SourceConfig, *, actor: str) -> SourceConfig:
        """Validate and store a changed source."""
        self._validate_source(config)
        return self.store.update_source(config, actor=actor)

    def add_table(self, config: TableConfig, *, actor: str) -> TableRecord:
        """Validate a table's strategy options and store it.

        Raises:
            UnknownNameError: unknown strategy or source.
            ValidationError: every bad field, from the model and the strategy.
        """
        self._validate_table(config)
        return self.store.add_table(config, actor=actor)

    def update_table(
        self, config: TableConfig, *, expected_version: int, actor: str
    ) -> TableRecord:
        """Validate and store a changed table (optimistic locking on ``expected_version``)."""
        self._validate_table(config)
        return self.store.update_table(config, expected_version=expected_version, actor=actor)

    def _validate_source(self, config: SourceConfig) -> None:
        problems = config.problems()
        if not problems:
            problems = self.host.connector(config.db_type).validate(config)
        if problems:
            raise ValidationError(f"source {config.name!r}", problems)

    def _validate_table(self, config: TableConfig) -> None:
        problems = config.problems()
        if problems:
            raise ValidationError(f"table {config.name!r}", problems)
        self.store.get_source(config.source)
        self.host.strategy(config.strategy).parse_options(
            config.strategy_options, table=config.name
        )

    # -- sources --------------------------------------------------------------------

    def check_source(self, name: str) -> None:
        """Connect to a source and run a trivial query.

        Raises:
            UnknownNameError, ValidationError, SecretError, SourceError: what is wrong,
                naming the source; never the secret.
        """
        with open_source(self.host, self.store.get_source(name)) as opened:
            opened.connector.check()

    def close(self) -> None:
        """Release the control store's connections."""
        self.store.close()


def _given(claim: Claim) -> Claim:
    return claim
