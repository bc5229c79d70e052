"""One table run: the glue between control store, strategy, connector and engine.

The run follows the watermark protocol (docs/architecture.md):

1. lease the table (done by the caller, which passes the :class:`Claim`);
2. reconcile: if the target's last dataloader commit is ahead of the control state, roll
   the control state forward from its commit metadata (a crash between the Delta commit
   and the control update loses nothing and duplicates nothing);
3. probe the source (freezes the upper bound) and plan;
4. per step: stream the read through the lineage columns into one Delta commit, then
   advance the control state (a step that re-read only rows its table's last commit
   merged commits nothing: the boundary rule of ``_boundary.py``);
5. record history and release the lease.

A run given a :class:`~dataloader_sdk.cancel.CancelToken` checks it before each step and
between the read's batches; a cancelled run (or one interrupted by ``KeyboardInterrupt``)
commits nothing of its running step, is recorded as ``cancelled`` and releases its lease.

Failures are recorded (history row, status) and re-raised as :class:`DataLoaderError`;
the message is redacted so no secret reaches logs, history or the caller.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from dataloader_sdk._boundary import with_digest
from dataloader_sdk._reconcile import reconcile
from dataloader_sdk._run_endings import RunOutcome, finish, record_cancelled, record_failed
from dataloader_sdk._run_parts import (
    FinishStatus,
    committed_state,
    probe_all,
    raised_in,
    replacing,
    require_columns,
    source_stream,
    unchanged_read,
)
from dataloader_sdk._step_stream import StepStream
from dataloader_sdk.active_runs import ActiveRuns
from dataloader_sdk.cancel import CancelToken, LoadCancelledError, cancellable
from dataloader_sdk.control.identity import app_id
from dataloader_sdk.engines.base import LineageValues, offering_read_again
from dataloader_sdk.events import LoadFinished, LoadStarted, StepCommitted
from dataloader_sdk.lease import LeaseHeartbeat
from dataloader_sdk.model import (
    CommitInfo,
    LoadPlan,
    LoadStep,
    RowCount,
    RunRecord,
    SourceConfig,
    TableRecord,
    TableState,
    TargetName,
)
from dataloader_sdk.progress import Phase, ProgressCallback, ProgressUpdate, no_progress
from dataloader_sdk.read_paths import JdbcReadPath, StepWrite, choose_read_path, unchanged_note
from dataloader_sdk.secrets import Secret
from dataloader_sdk.source_open import open_source
from dataloader_sdk.strategies.base import PlanContext, schema_fingerprint

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.connectors.base import Connector
    from dataloader_sdk.connectors.pool import SourcePool
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.plugins import PluginHost

__all__ = ["Phase", "ProgressCallback", "ProgressUpdate", "RunOutcome", "TableRunner"]

log = logging.getLogger(__name__)

class TableRunner:
    """Runs one claimed table to completion. Stateless between runs; thread-safe."""

    def __init__(
        self,
        store: RunStore,
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
        self._active = ActiveRuns()

    def abort_active(self, reason: str) -> int:
        """Record every run in progress as cancelled and release its lease, now.

        For a process about to exit at once (a second Ctrl-C); see
        :class:`~dataloader_sdk.active_runs.ActiveRuns`.
        """
        return self._active.abort(self._store, self._clock, reason)

    def run(
        self,
        claim: Claim,
        *,
        progress: ProgressCallback | None = None,
        orchestrator_run_id: str | None = None,
        cancel: CancelToken | None = None,
        sources: SourcePool | None = None,
    ) -> RunOutcome:
        """Run the claimed table; always records history and releases the lease.

        With ``sources`` (a batch's pool) the source connector comes from the pool and
        goes back to it after a clean run; without, it is opened and closed here.

        A failed run is recorded and returned with its (redacted) error; the caller
        decides whether to raise it. A control database that fails at the end of a run is
        reported as the run's error too (the Delta commit, if any, is kept and the next
        run rolls the control state forward from it); no raw driver exception escapes.

        A run cancelled through ``cancel`` is recorded as ``cancelled`` and returned with
        a :class:`~dataloader_sdk.cancel.LoadCancelledError` error. A ``KeyboardInterrupt``
        during the run is recorded the same way, then re-raised.
        """
        token = cancel or CancelToken()
        reported = progress or no_progress
        read = [0]  # rows read so far, for the record of a run cancelled mid-read

        def notify(update: ProgressUpdate) -> None:
            if update.phase == "reading":
                read[0] = update.rows
            reported(update)

        table = claim.table
        # A claim taken with ``run=self.new_run`` recorded the run in its own transaction.
        recorded = claim.run is not None and claim.run.table_id == table.table_id
        run = claim.run if recorded and claim.run is not None else self.new_run(
            table, orchestrator_run_id=orchestrator_run_id)
        secret: list[Secret | None] = [None]  # known once the source is open; redacts
        heartbeat = LeaseHeartbeat(self._store, claim, self._clock, self._lease_seconds)
        self._active.add(heartbeat, run, read)
        try:
            if not recorded:
                with raised_in("control store", f"table {table.name!r}: recording the run"):
                    self._store.record_run(run)
            self._host.emit(LoadStarted(run.run_id, table.name, table.config.strategy))
            notify(ProgressUpdate(table.name, "claimed"))
            with heartbeat:
                with raised_in("control store", f"table {table.name!r}: reading its source"):
                    name = table.config.source
                    source = (sources.source_config(name, self._store.get_source)
                              if sources is not None else self._store.get_source(name))
                run = self._execute(claim, run, source, secret, notify, heartbeat, token,
                                    sources)
            self._record_and_finish(heartbeat.claim, run, run.status)  # type: ignore[arg-type]
        except LoadCancelledError as exc:
            run = replace(run, rows_read=max(run.rows_read, read[0]))
            return self._cancelled(heartbeat.claim, run, exc, notify)
        except KeyboardInterrupt:
            # A notebook's interrupt (or Ctrl-C without cancel_on_signals): the same clean
            # state as a cancel, then the interrupt goes on to the caller.
            run = replace(run, rows_read=max(run.rows_read, read[0]))
            self._cancelled(heartbeat.claim, run, LoadCancelledError(
                f"table {table.name!r}: interrupted (KeyboardInterrupt) before its commit; "
                "nothing of the running step was committed and the lease was released"),
                notify)
            raise
        except Exception as exc:
            return self._failed(heartbeat.claim, run, exc, secret[0], notify)
        finally:
            self._active.remove(run.run_id)
        self._host.emit(LoadFinished(run))
        notify(ProgressUpdate(table.name, "finished", run.rows_written))
        return RunOutcome(run, None)

    def new_run(
        self, table: TableRecord, *, run_id: str | None = None,
        orchestrator_run_id: str | None = None,
    ) -> RunRecord:
        """The ``running`` history row of a run of ``table`` starting now.

        Pass it (with a fixed ``run_id``) as ``ControlStore.claim(..., run=...)`` to record
        the run in the claim's transaction; :meth:`run` then does not record it again.
        """
        return RunRecord(
            run_id=run_id or uuid.uuid4().hex, table_id=table.table_id, table=table.name,
            strategy=table.config.strategy, engine=self._engine.name, status="running",
            started_at=self._clock(), watermark_before=table.state.watermark,
            watermark_after=table.state.watermark, orchestrator_run_id=orchestrator_run_id,
        )

    def _cancelled(
        self, claim: Claim, run: RunRecord, error: LoadCancelledError, notify: ProgressCallback
    ) -> RunOutcome:
        return record_cancelled(self._store, self._host, claim, run, error, notify,
                                now=self._clock)

    def _failed(
        self, claim: Claim, run: RunRecord, exc: Exception, secret: Secret | None,
        notify: ProgressCallback,
    ) -> RunOutcome:
        return record_failed(self._store, self._host, claim, run, exc, secret, notify,
                             now=self._clock)

    def _record_and_finish(self, claim: Claim, run: RunRecord, status: FinishStatus) -> None:
        finish(self._store, claim, run, status, now=self._clock())

    def _save_state(self, claim: Claim, state: TableState) -> None:
        with raised_in("control store", f"table {claim.table.name!r}: saving its state"):
            self._store.save_state(claim, state)

    def _exists(self, target: TargetName) -> bool:
        with raised_in("engine", f"target {target}: checking it exists"):
            return self._engine.exists(target)

    def _app_id(self, table: TableRecord) -> str:
        return app_id(self._store.environment, self._store.control_id, table.incarnation)

    def _execute(
        self,
        claim: Claim,
        run: RunRecord,
        source: SourceConfig,
        secret: list[Secret | None],
        notify: ProgressCallback,
        heartbeat: LeaseHeartbeat,
        token: CancelToken,
        sources: SourcePool | None,
    ) -> RunRecord:
        table = claim.table
        config = table.config
        strategy = self._host.strategy(config.strategy)
        options = strategy.parse_options(config.strategy_options, table=table.name)
        with open_source(self._host, source, sources) as opened:
            secret[0], connector = opened.secret, opened.connector
            state = reconcile(self._store, self._engine, claim, table, self._app_id(table))
            obj = config.source_object
            with raised_in("source", f"table {table.name!r}: {source.db_type} columns"):
                columns = connector.columns(obj)
            require_columns(table, columns, strategy.required_columns(options))
            read_path = choose_read_path(table, connector, self._engine, columns)
            token.check(table.name)
            probes = probe_all(connector, obj, strategy.probes(options, state),
                               db_type=source.db_type, columns=columns)
            estimate = probes.get(RowCount())
            # The progress bar's total, when the strategy measured the source's rows anyway.
            total = (estimate if isinstance(estimate, int) and not isinstance(estimate, bool)
                     else None)
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
                token.check(table.name)
                if step.txn_version == 1 and self._exists(config.target):
                    # The incarnation's first step, onto a table an earlier incarnation
                    # (before a reset or a re-add) left: replace it, never merge into it.
                    step = replace(step, write=replacing(step.write))
                run, state, stop = self._run_step(claim, run, connector, step, source,
                                                  notify, heartbeat, token, total, state,
                                                  read_path)
                if stop:
                    break
        return replace(
            run, status="skipped" if plan.skipped else "succeeded",
            finished_at=self._clock(), watermark_after=state.watermark,
        )

    def _run_step(
        self,
        claim: Claim,
        run: RunRecord,
        connector: Connector,
        step: LoadStep,
        source: SourceConfig,
        notify: ProgressCallback,
        heartbeat: LeaseHeartbeat,
        token: CancelToken,
        total: int | None,
        state: TableState,
        read_path: JdbcReadPath | None = None,
    ) -> tuple[RunRecord, TableState, bool]:
        """Read, write and advance one step.

        Returns the run so far, the table's state now, and whether the rest of the plan
        must be dropped (the engine found the step already committed: a replay, and the
        state was repaired from the target's last commit).
        """
        table = claim.table
        target: TargetName = table.config.target
        read_before = run.rows_read
        notify(ProgressUpdate(table.name, "reading", read_before, total))
        own = self._app_id(table)
        commit = CommitInfo(
            app_id=own, txn_version=step.txn_version, run_id=run.run_id,
            table_id=table.table_id, table=table.name, strategy=table.config.strategy,
            state_after=step.state_after, environment=self._store.environment,
            control_id=self._store.control_id,
        )
        lineage = LineageValues(run.run_id, step.loaded_at,
                                f"{source.name}:{table.config.source_object}")
        if read_path is not None:
            # Only the read differs: the same checks, commit and state update follow.
            token.check(table.name)
            done = read_path.write_step(
                step, commit, lineage, watermark_before=str(run.watermark_before),
                before_commit=heartbeat.verify, count=self._engine.count)
            if done.outcome is None:
                return replace(run, rows_read=run.rows_read + done.rows,
                               note=unchanged_note(done.rows, state)), state, True
            return self._advance(claim, run, step, done, state, notify)
        # Each connector honours its source's options.batch_rows itself. The cancel check
        # sits right on the source, so a cancel stops the read at the next batch.
        # No local may hold the source's stream: a cancel's traceback keeps this frame, and
        # the stream must close in this thread when cancellable() lets go of it.
        what = f"table {table.name!r}: reading {source.name!r} ({source.db_type})"

        def read() -> pa.RecordBatchReader:
            with raised_in("source", what):
                return cancellable(
                    source_stream(connector.read(step.select), what), token,
                    table=table.name, on_batch=lambda rows: notify(
                        ProgressUpdate(table.name, "reading", read_before + rows, total)),
                )

        reader: pa.RecordBatchReader | None = read()
        if step.boundary is not None and step.boundary.known is not None:
            reader, rows = unchanged_read(reader, step.boundary.known, step.min_rows)
            if reader is None:
                # Only rows the last commit merged: no commit, no state change, and
                # txn_version stays, so the next step's version follows the last commit.
                note = unchanged_note(rows, state)
                return replace(run, rows_read=run.rows_read + rows, note=note), state, True
        stream = StepStream(step, table=table.name, target=target, lineage=lineage,
                            watermark_before=str(run.watermark_before),
                            before_commit=heartbeat.verify, count=self._engine.count)
        # A big first Merge then keeps no copy of its rows in case keys repeat.
        with raised_in("engine", f"table {table.name!r}: {self._engine.name} write"), \
                offering_read_again(lambda: stream.wrap(read())):
            outcome = self._engine.write(target, stream.wrap(reader), step.write, commit)
        return self._advance(claim, run, step, stream.written(outcome), state, notify)

    def _advance(
        self, claim: Claim, run: RunRecord, step: LoadStep, done: StepWrite,
        state: TableState, notify: ProgressCallback,
    ) -> tuple[RunRecord, TableState, bool]:
        """Advance the control state after a step's write (or repair it after a replay)."""
        table = claim.table
        target = table.config.target
        own = self._app_id(table)
        outcome = done.outcome
        if outcome is None:
            raise TypeError("an unchanged step has no write to advance from")
        repaired: TableState | None = None
        if outcome.replayed:
            repaired = committed_state(self._engine, table.name, target, step, own)
            self._save_state(claim, repaired)
            run = replace(run, note=f"{run.note}; step {step.txn_version} was already "
                          "committed by another run, state rolled forward")
        else:
            state = step.state_after
            if step.boundary is not None:
                state = with_digest(state, done.digest)
            self._save_state(claim, state)
        self._host.emit(StepCommitted(run.run_id, table.name, step.txn_version,
                                      outcome.rows_written, outcome.replayed))
        run = replace(
            run,
            rows_read=run.rows_read + done.rows,
            rows_written=run.rows_written + outcome.rows_written,
            steps_committed=run.steps_committed + (0 if outcome.replayed else 1),
            watermark_after=(repaired or step.state_after).watermark,
            delta_version=outcome.delta_version if outcome.delta_version is not None
            else run.delta_version,
        )
        notify(ProgressUpdate(table.name, "committed", run.rows_written))
        return run, repaired or state, repaired is not None
