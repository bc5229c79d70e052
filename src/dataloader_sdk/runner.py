"""One table run: the glue between control store, strategy, connector and engine.

The run follows the watermark protocol (docs/architecture.md):

1. lease the table (done by the caller, which passes the :class:`Claim`);
2. reconcile: if the target's last dataloader commit is ahead of the control state, roll
   the control state forward from its commit metadata (a crash between the Delta commit
   and the control update loses nothing and duplicates nothing);
3. probe the source (freezes the upper bound) and plan;
4. per step: stream the read through the lineage columns into one Delta commit, then
   advance the control state;
5. record history and release the lease.

Failures are recorded (history row, status) and re-raised as :class:`DataLoaderError`;
the message is redacted so no secret reaches logs, history or the caller.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from dataloader_sdk.delta_types import delta_compatible
from dataloader_sdk.errors import (
    DataLoaderError,
    DestinationError,
    EmptyReadRefusedError,
    FieldProblem,
    SourceError,
    ValidationError,
)
from dataloader_sdk.events import LoadFailed, LoadFinished, LoadStarted, StepCommitted
from dataloader_sdk.lineage import with_lineage
from dataloader_sdk.model import (
    CommitInfo,
    EmptyReadGuard,
    LoadPlan,
    LoadStep,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    RunRecord,
    SourceConfig,
    SourceObject,
    TableRecord,
    TableState,
    TargetName,
)
from dataloader_sdk.secrets import Secret, redact, resolve
from dataloader_sdk.strategies.base import PlanContext, schema_fingerprint

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.connectors.base import Connector, SourceColumn
    from dataloader_sdk.control.store import Claim, ControlStore
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.plugins import PluginHost

__all__ = ["Phase", "ProgressCallback", "ProgressUpdate", "RunOutcome", "TableRunner"]

log = logging.getLogger(__name__)

Phase = Literal["claimed", "planned", "reading", "committed", "finished", "failed"]


@dataclass(frozen=True)
class ProgressUpdate:
    """Progress of one table run, for progress bars and orchestrator logs."""

    table: str
    phase: Phase
    rows: int = 0
    total_rows: int | None = None


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass(frozen=True)
class RunOutcome:
    """A finished run: its history record, and the error if it failed."""

    record: RunRecord
    error: DataLoaderError | None = None


def _no_progress(update: ProgressUpdate) -> None:
    return None


class TableRunner:
    """Runs one claimed table to completion. Stateless between runs; thread-safe."""

    def __init__(
        self,
        store: ControlStore,
        engine: Engine,
        host: PluginHost,
        *,
        clock: Callable[[], datetime],
        lease_seconds: int = 3600,
    ) -> None:
        self._store = store
        self._engine = engine
        self._host = host
        self._clock = clock
        self._lease_seconds = lease_seconds

    def run(
        self,
        claim: Claim,
        *,
        progress: ProgressCallback | None = None,
        orchestrator_run_id: str | None = None,
    ) -> RunOutcome:
        """Run the claimed table; always records history and releases the lease.

        A failed run is recorded and returned with its (redacted) error; the caller
        decides whether to raise it.
        """
        notify = progress or _no_progress
        table = claim.table
        run = RunRecord(
            run_id=uuid.uuid4().hex,
            table_id=table.table_id,
            table=table.name,
            strategy=table.config.strategy,
            engine=self._engine.name,
            status="running",
            started_at=self._clock(),
            watermark_before=table.state.watermark,
            watermark_after=table.state.watermark,
            orchestrator_run_id=orchestrator_run_id,
        )
        self._store.record_run(run)
        self._host.emit(LoadStarted(run.run_id, table.name, table.config.strategy))
        notify(ProgressUpdate(table.name, "claimed"))
        secret: Secret | None = None
        heartbeat = LeaseHeartbeat(self._store, claim, self._clock, self._lease_seconds)
        try:
            with heartbeat:
                source = self._store.get_source(table.config.source)
                secret = self._secret(source)
                run = self._execute(claim, run, source, secret, notify, heartbeat)
        except Exception as exc:
            error = _as_dataloader_error(exc, table.name)
            message = redact(str(error), secret)
            if repr(table.name) not in message:
                message = f"table {table.name!r}: {message}"
            run = replace(
                run, status="failed", finished_at=self._clock(),
                error_class=type(error).__name__, error_message=message,
            )
            self._store.record_run(run)
            self._store.finish(claim, status="failed", now=self._clock(),
                               permanent=not error.retryable)
            self._host.emit(LoadFailed(run))
            notify(ProgressUpdate(table.name, "failed", run.rows_written))
            log.warning("table %s failed: %s: %s", table.name, run.error_class, message)
            # The driver's exception (the cause) may quote the secret: drop it, and make
            # sure the raised error carries only the redacted message.
            error.args = (message,)
            error.__cause__ = None
            error.__suppress_context__ = True
            return RunOutcome(run, error)
        self._store.record_run(run)
        self._store.finish(claim, status=run.status, now=self._clock())  # type: ignore[arg-type]
        self._host.emit(LoadFinished(run))
        notify(ProgressUpdate(table.name, "finished", run.rows_written))
        return RunOutcome(run, None)

    def _secret(self, source: SourceConfig) -> Secret | None:
        if source.secret is None:
            return None
        return resolve(source.secret, self._host, source=source.name)

    def _execute(
        self,
        claim: Claim,
        run: RunRecord,
        source: SourceConfig,
        secret: Secret | None,
        notify: ProgressCallback,
        heartbeat: LeaseHeartbeat,
    ) -> RunRecord:
        table = claim.table
        config = table.config
        strategy = self._host.strategy(config.strategy)
        options = strategy.parse_options(config.strategy_options, table=table.name)
        factory = self._host.connector(source.db_type)
        problems = [*source.problems(), *factory.validate(source)]
        if problems:
            raise ValidationError(f"source {source.name!r}", problems)
        connector = factory.open(source, secret)
        try:
            state = self._reconcile(claim, table)
            obj = config.source_object
            columns = connector.columns(obj)
            _require_columns(table, columns, strategy.required_columns(options))
            probes = {
                request: _probe(connector, obj, request)
                for request in strategy.probes(options, state)
            }
            plan: LoadPlan = strategy.plan(PlanContext(
                table=table, options=options, state=state, probes=probes,
                now=self._clock(), run_id=run.run_id,
                schema_fingerprint=schema_fingerprint(
                    (c.name, c.source_type, str(c.arrow_type)) for c in columns
                ),
            ))
            notify(ProgressUpdate(table.name, "planned"))
            run = replace(run, note=plan.note, watermark_before=state.watermark)
            for step in plan.steps:
                heartbeat.check()
                run, repaired = self._run_step(claim, run, connector, step, source, notify)
                if repaired is not None:
                    # Another run committed this step meanwhile: the rest of this plan
                    # was made from a stale state, so stop here; the next run plans anew.
                    state = repaired
                    run = replace(run, note=f"{run.note}; step {step.txn_version} was "
                                  "already committed by another run, state rolled forward")
                    break
                state = step.state_after
        finally:
            connector.close()
        return replace(
            run, status="skipped" if plan.skipped else "succeeded",
            finished_at=self._clock(), watermark_after=state.watermark,
        )

    def _reconcile(self, claim: Claim, table: TableRecord) -> TableState:
        """Roll the control state forward if Delta holds a newer dataloader commit."""
        target = table.config.target
        state = table.state
        recorded = self._engine.recorded_version(target, table.app_id)
        if recorded is None or recorded <= state.txn_version:
            return state  # the common case: no history scan
        last = self._engine.last_commit(target, table.app_id)
        if last is not None and last.txn_version > state.txn_version:
            log.warning(
                "table %s: target %s holds step %d but the control DB only step %d; "
                "repairing the control state from the Delta commit of run %s",
                table.name, target, last.txn_version, state.txn_version, last.run_id,
            )
            state = last.state_after
            self._store.save_state(claim, state)
        return state

    def _run_step(
        self,
        claim: Claim,
        run: RunRecord,
        connector: Connector,
        step: LoadStep,
        source: SourceConfig,
        notify: ProgressCallback,
    ) -> tuple[RunRecord, TableState | None]:
        """Read, write and advance one step.

        Returns the run so far and, when the engine found the step already committed
        (a replay), the state repaired from the target's last commit.
        """
        table = claim.table
        notify(ProgressUpdate(table.name, "reading", run.rows_written))
        # Each connector honours its source's options.batch_rows itself.
        reader = connector.read(step.select)
        if step.guard is not None:
            reader = self._guard_empty_read(table, reader, step.guard)
        counted = with_lineage(
            delta_compatible(reader), run_id=run.run_id, loaded_at=step.loaded_at,
            source=f"{source.name}:{table.config.source_object}",
        )
        commit = CommitInfo(
            app_id=table.app_id, txn_version=step.txn_version, run_id=run.run_id,
            table_id=table.table_id, table=table.name, strategy=table.config.strategy,
            state_after=step.state_after,
        )
        target: TargetName = table.config.target
        outcome = self._engine.write(target, counted.reader, step.write, commit)
        repaired: TableState | None = None
        if outcome.replayed:
            # Never advance to our own state_after for a step we did not write: the
            # commit that holds this version may have read a different window.
            last = self._engine.last_commit(target, table.app_id)
            if last is None:
                raise DestinationError(
                    f"table {table.name!r}: target {target} says step {step.txn_version} is "
                    "already committed but holds no dataloader commit metadata for it (log "
                    "retention may have removed it); check the table's history, then reset "
                    "the table state (dataloader tables reset) and reload"
                )
            repaired = last.state_after
            self._store.save_state(claim, repaired)
            log.warning("table %s: step %d was already committed (run %s); not re-applied",
                        table.name, step.txn_version, last.run_id)
        else:
            self._store.save_state(claim, step.state_after)
        self._host.emit(StepCommitted(run.run_id, table.name, step.txn_version,
                                      outcome.rows_written, outcome.replayed))
        run = replace(
            run,
            rows_read=run.rows_read + counted.rows,
            rows_written=run.rows_written + outcome.rows_written,
            steps_committed=run.steps_committed + (0 if outcome.replayed else 1),
            watermark_after=(repaired or step.state_after).watermark,
        )
        notify(ProgressUpdate(table.name, "committed", run.rows_written))
        return run, repaired


    def _guard_empty_read(
        self, table: TableRecord, reader: pa.RecordBatchReader, guard: EmptyReadGuard
    ) -> pa.RecordBatchReader:
        """Refuse an empty read that would empty a populated target window.

        Peeks until the first non-empty batch, so the stream stays bounded in memory.
        """
        import pyarrow as pa

        seen: list[pa.RecordBatch] = []
        for batch in reader:
            seen.append(batch)
            if batch.num_rows:
                break
        if not any(b.num_rows for b in seen):
            held = self._engine.count(table.config.target, guard.where)
            if held > guard.max_target_rows:
                raise EmptyReadRefusedError(
                    f"table {table.name!r}: the source returned no rows for the window, but "
                    f"the target holds {held} rows there (more than the allowed "
                    f"{guard.max_target_rows}); nothing was deleted. If the source really is "
                    "empty, raise empty_window_threshold or run a full load"
                )

        def batches() -> Iterator[pa.RecordBatch]:
            yield from seen
            yield from reader

        return pa.RecordBatchReader.from_batches(reader.schema, batches())


class LeaseHeartbeat:
    """Renews a claim's lease from a background thread while a run is in progress.

    A run longer than its lease would otherwise look stuck and could be taken over. If a
    renewal finds the lease taken over, :meth:`check` raises before the next step.
    """

    def __init__(self, store: ControlStore, claim: Claim, clock: Callable[[], datetime],
                 lease_seconds: int) -> None:
        self._store = store
        self._claim = claim
        self._clock = clock
        self._lease_seconds = lease_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: DataLoaderError | None = None

    def beat(self) -> None:
        """Renew once; remember a lost lease."""
        try:
            self._claim = self._store.renew(self._claim, now=self._clock(),
                                            lease_seconds=self._lease_seconds)
        except DataLoaderError as exc:
            self.error = exc

    def check(self) -> None:
        """Raise if a renewal found the lease lost."""
        if self.error is not None:
            raise self.error

    def _loop(self) -> None:
        interval = max(self._lease_seconds / 3, 1.0)
        while not self._stop.wait(interval) and self.error is None:
            self.beat()

    def __enter__(self) -> LeaseHeartbeat:
        self._thread = threading.Thread(target=self._loop, name="dataloader-lease",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _probe(connector: Connector, obj: SourceObject, request: ProbeRequest) -> ProbeAnswer:
    """Run one probe; a failure becomes ``ProbeFailed`` and the strategy decides."""
    try:
        return connector.probe(obj, request)
    except DataLoaderError as exc:
        return ProbeFailed(exc)


def _require_columns(
    table: TableRecord, columns: tuple[SourceColumn, ...], required: tuple[str, ...]
) -> None:
    present = {c.name for c in columns}
    missing = [name for name in required if name not in present]
    if missing:
        available = ", ".join(sorted(present))
        raise ValidationError(
            f"table {table.name!r} (source {table.config.source_object})",
            [FieldProblem("strategy_options", f"column {name!r} does not exist in the source; "
                          f"available columns: {available}") for name in missing],
        )


def _as_dataloader_error(exc: BaseException, table: str) -> DataLoaderError:
    if isinstance(exc, DataLoaderError):
        return exc
    # An unexpected exception is a bug or an unclassified driver error: report it as a
    # source error naming the table, without retry (it is unknown whether retry helps).
    return SourceError(f"table {table!r}: unexpected {type(exc).__name__}: {exc}")
