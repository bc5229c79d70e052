"""A batch's unchanged sweep: find the tables whose run would commit nothing, together.

In a batch of many small tables loaded every few minutes, most runs find nothing new, yet
each paid the fixed costs of a whole run: a claim, a catalog query, the probes, the
boundary read and the end of the run, about 10 ms of Python each, which the interpreter
lock serialises (docs/benchmarks.md). So before its workers start, a batch
(``DataLoader.load_tables``, ``load_due``) sweeps its tables source by source:

1. **Candidates:** tables with a committed state (``txn_version`` above 0: a first load is
   never swept), not ``running`` unless the batch holds their claim, whose strategy asks
   probes (a strategy without probes always loads).
2. **Per source, on one pooled connector:** the candidates' columns in one catalog query
   and their probes in one statement where the connector can
   (:class:`~dataloader_sdk.connectors.base.TablesTogether`; otherwise one by one), then
   each table's plan exactly as its run would make it.
3. **Unchanged** is a table whose target's newest commit is this incarnation's at the
   state's step (a run would reconcile nothing), and whose plan either has no step (the
   run commits nothing: ``skipped`` or ``succeeded`` with the plan's note) or is one step
   carrying the boundary check of ``_boundary.py`` whose re-read hashes to the digest
   kept for the last commit (the run's own check, on the same rows). Those re-reads go
   in one round trip per :data:`PROBE_CHUNK` tables where the connector can
   (:class:`~dataloader_sdk.connectors.base.ReadsTogether`, which must give exactly
   what ``read`` gives); otherwise, or for a window it cannot give, through ``read``.
4. **One control transaction** per part records its unchanged tables' runs
   (:meth:`~dataloader_sdk.control.store.ControlStore.settle_unchanged`), each only while
   its table is still as the sweep read it (or its claim still holds).

Any other table, and any table the sweep could not decide (an error, a changed row, a
table edited meanwhile), runs as usual: that run repeats every check under its lease and
reports its own errors. The sweep never raises, never writes to a target and never changes
a table's state, so all it can do is leave out runs that would have committed nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from dataloader_sdk._run_parts import (
    checked_answers,
    probe_all,
    require_columns,
    unchanged_read,
)
from dataloader_sdk.connectors.base import ReadsTogether, TablesTogether
from dataloader_sdk.control.identity import app_id
from dataloader_sdk.control.unchanged import UnchangedRun
from dataloader_sdk.errors import DataLoaderError
from dataloader_sdk.events import LoadFinished, LoadStarted
from dataloader_sdk.model import LoadPlan, LoadStep, ProbeAnswer, ProbeRequest, TableRecord
from dataloader_sdk.progress import ProgressCallback, ProgressUpdate, no_progress
from dataloader_sdk.read_paths import choose_read_path, unchanged_note
from dataloader_sdk.source_open import open_source
from dataloader_sdk.strategies.base import PlanContext, Strategy, schema_fingerprint

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.cancel import CancelToken
    from dataloader_sdk.connectors.base import Connector, SourceColumn
    from dataloader_sdk.connectors.pool import SourcePool
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.records import Claim
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.model import RunRecord, SourceConfig
    from dataloader_sdk.plugins import PluginHost
    from dataloader_sdk.runner import TableRunner

__all__ = ["MIN_PART", "PROBE_CHUNK", "TOGETHER_ROWS", "SweptTable", "UnchangedSweep"]

log = logging.getLogger(__name__)

#: Tables whose probes are asked together (``TablesTogether.probe_tables``).
PROBE_CHUNK = 50
#: The most rows of one table's boundary window read together with others
#: (``ReadsTogether.read_together``); a larger window is read on its own.
TOGETHER_ROWS = 1_000
#: The fewest tables of one source swept on a connector of their own (a part).
MIN_PART = 16
#: Seconds the main thread blocks at a time while parts are swept on the pool.
_WAIT_SLICE = 0.2


@dataclass(frozen=True)
class SweptTable:
    """A table of the batch, with the batch's claim on it when it claimed up front."""

    table: TableRecord
    claim: Claim | None = None


@dataclass(frozen=True)
class _Candidate:
    """A table the sweep asks about, with its strategy, parsed options and probes."""

    item: SweptTable
    strategy: Strategy[Any]
    options: Any  # the strategy's own options type
    requests: tuple[ProbeRequest, ...]


@dataclass
class _Found:
    """What one part found: its unchanged runs, and the boundary windows read together."""

    runs: list[UnchangedRun] = field(default_factory=list)
    together: int = 0


@dataclass(frozen=True)
class _Boundary:
    """A table whose plan is one step carrying the boundary check: unchanged if its
    window, read again, hashes to ``known`` (the digest of the last commit)."""

    item: SweptTable
    run: RunRecord
    step: LoadStep
    known: str


class UnchangedSweep:
    """Finds and records a batch's unchanged runs (see the module docstring)."""

    def __init__(self, store: RunStore, engine: Engine, host: PluginHost, runner: TableRunner,
                 *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._engine = engine
        self._host = host
        self._runner = runner
        self._clock = clock

    def sweep(
        self, items: Sequence[SweptTable], sources: SourcePool, token: CancelToken,
        progress: ProgressCallback | None = None, *, workers: Executor | None = None,
        per_source: int = 1,
    ) -> dict[int, RunRecord]:
        """Record the runs of the unchanged tables among ``items``; their records by
        table id. The others are left for their usual runs. Never raises an ``Exception``.

        With ``workers`` (the batch's thread pool) the sources, and the tables of a source
        in up to ``per_source`` parts of at least :data:`MIN_PART` tables (each on its own
        pooled connector), are swept at once: one part's source waits while another
        computes.
        """
        candidates = [c for c in map(self._candidate, items) if c is not None]
        by_source: dict[str, list[_Candidate]] = {}
        for candidate in candidates:
            by_source.setdefault(candidate.item.table.config.source, []).append(candidate)
        parts = [(name, part) for name, group in by_source.items()
                 for part in _parts(group, per_source)]
        if workers is None or len(parts) < 2:
            results = [self._sweep_and_record(name, part, sources, token, progress)
                       for name, part in parts]
        else:
            futures = [workers.submit(self._sweep_and_record, name, part, sources, token,
                                      progress) for name, part in parts]
            pending = set(futures)
            while pending:  # in slices, so the main thread still takes a Ctrl-C
                _, pending = wait(pending, timeout=_WAIT_SLICE)
            results = [future.result() for future in futures]
        swept = {table_id: run for result, _ in results for table_id, run in result.items()}
        if swept:
            log.info("unchanged sweep: %d of %d table(s) unchanged, their runs recorded "
                     "together (%d boundary read(s) together)", len(swept), len(items),
                     sum(together for _, together in results))
        return swept

    def _sweep_and_record(
        self, name: str, part: list[_Candidate], sources: SourcePool, token: CancelToken,
        progress: ProgressCallback | None,
    ) -> tuple[dict[int, RunRecord], int]:
        """Sweep one part and record its unchanged runs in one transaction (each part
        records its own as soon as it is done, while the other parts still read); also
        how many boundary windows it read together."""
        found = _Found()
        try:
            self._sweep_source(name, part, sources, token, found)
        except Exception as exc:  # the usual runs of these tables report it
            # Only the class: a driver's message may quote the connection string.
            log.info("unchanged sweep: source %r stopped at %s; its remaining tables "
                     "run as usual", name, type(exc).__name__)
        if not found.runs:
            return {}, found.together
        try:
            settled = self._store.settle_unchanged(found.runs, now=self._clock())
        except Exception as exc:
            log.info("unchanged sweep: recording %d run(s) failed (%s); they run as usual",
                     len(found.runs), type(exc).__name__)
            return {}, found.together
        notify = progress or no_progress
        for done in settled:
            self._host.emit(LoadStarted(done.run.run_id, done.table.name, done.run.strategy))
            notify(ProgressUpdate(done.table.name, "claimed"))
            self._host.emit(LoadFinished(done.run))
            notify(ProgressUpdate(done.table.name, "finished", 0))
        return {done.table.table_id: done.run for done in settled}, found.together

    def _candidate(self, item: SweptTable) -> _Candidate | None:
        table = item.table
        if table.state.txn_version < 1 or (item.claim is None and table.status == "running"):
            return None
        try:
            strategy = self._host.strategy(table.config.strategy)
            options = strategy.parse_options(table.config.strategy_options, table=table.name)
            requests = tuple(strategy.probes(options, table.state))
        except Exception:  # an unknown strategy or bad options: the usual run reports it
            return None
        return _Candidate(item, strategy, options, requests) if requests else None

    def _sweep_source(
        self, name: str, group: list[_Candidate], sources: SourcePool, token: CancelToken,
        found: _Found,
    ) -> None:
        source = sources.source_config(name, self._store.get_source)
        with open_source(self._host, source, sources) as opened:
            connector = opened.connector
            if isinstance(connector, TablesTogether):
                connector.columns_together([c.item.table.config.source_object for c in group])
            described: list[tuple[_Candidate, tuple[SourceColumn, ...]]] = []
            for candidate in group:
                columns = _columns(connector, candidate)
                if columns is not None:
                    described.append((candidate, columns))
            for start in range(0, len(described), PROBE_CHUNK):
                chunk = described[start:start + PROBE_CHUNK]
                answers = _probe(connector, source, chunk)
                waiting: list[_Boundary] = []
                for (candidate, columns), probes in zip(chunk, answers, strict=True):
                    if token.cancelled:
                        return
                    decided = self._decide(connector, candidate, columns, probes)
                    if isinstance(decided, _Boundary):
                        waiting.append(decided)
                    elif decided is not None:
                        found.runs.append(decided)
                self._reread(connector, waiting, token, found)

    def _reread(self, connector: Connector, waiting: list[_Boundary],
                token: CancelToken, found: _Found) -> None:
        """Add to ``found`` the unchanged runs among ``waiting``: whose boundary window,
        read again (in one round trip where the connector can), hashes to the digest of
        the last commit."""
        together: list[pa.Table | None] = [None] * len(waiting)
        if isinstance(connector, ReadsTogether) and waiting:
            together = connector.read_together([w.step.select for w in waiting],
                                               TOGETHER_ROWS)
            found.together += sum(table is not None for table in together)
        for boundary, table in zip(waiting, together, strict=True):
            if token.cancelled:
                break
            known, step = boundary.known, boundary.step
            read = table.to_reader() if table is not None else connector.read(step.select)
            reader, rows = unchanged_read(read, known, step.min_rows)
            if reader is not None:
                reader.close()  # changed: its usual run reads it again
                continue
            state = boundary.item.table.state
            found.runs.append(self._unchanged(boundary.item, boundary.run, "succeeded",
                                              unchanged_note(rows, state), rows=rows))

    def _decide(
        self, connector: Connector, candidate: _Candidate, columns: tuple[SourceColumn, ...],
        probes: dict[ProbeRequest, ProbeAnswer],
    ) -> UnchangedRun | _Boundary | None:
        """The table's unchanged run; its one step, when its boundary window must be read
        again to tell; or ``None`` when its usual run must decide."""
        item = candidate.item
        table = item.table
        state = table.state
        if not self._reconciled(table):
            return None
        run = self._runner.new_run(table)
        try:
            plan: LoadPlan = candidate.strategy.plan(PlanContext(
                table=table, options=candidate.options, state=state, probes=probes,
                now=self._clock(), run_id=run.run_id,
                schema_fingerprint=schema_fingerprint(
                    (c.name, c.source_type, str(c.arrow_type)) for c in columns),
            ))
        except DataLoaderError:
            return None
        if not plan.steps:
            return self._unchanged(item, run, "skipped" if plan.skipped else "succeeded",
                                   plan.note, rows=0)
        (step, *more) = plan.steps
        boundary = step.boundary
        if more or boundary is None or boundary.known is None \
                or step.txn_version != state.txn_version + 1:
            return None
        try:
            if choose_read_path(table, connector, self._engine, columns) is not None:
                return None  # read on Spark's executors: its run checks it
        except DataLoaderError:
            return None  # a read path that cannot work: its run reports it
        return _Boundary(item, run, step, boundary.known)

    def _reconciled(self, table: TableRecord) -> bool:
        """Whether the target's newest dataloader commit is this incarnation's, at the
        state's step: the run's reconcile would then change nothing."""
        newest = self._engine.newest_commit(table.config.target)
        own = app_id(self._store.environment, self._store.control_id, table.incarnation)
        return (newest is not None and newest.app_id == own
                and newest.txn_version == table.state.txn_version)

    def _unchanged(self, item: SweptTable, run: RunRecord,
                   status: Literal["succeeded", "skipped"], note: str, *,
                   rows: int) -> UnchangedRun:
        state = item.table.state
        return UnchangedRun(item.table, replace(
            run, status=status, finished_at=self._clock(), rows_read=rows, note=note,
            watermark_before=state.watermark, watermark_after=state.watermark,
        ), item.claim)


def _parts(group: list[_Candidate], most: int) -> list[list[_Candidate]]:
    """``group`` in up to ``most`` contiguous parts of at least :data:`MIN_PART`."""
    count = max(1, min(most, len(group) // MIN_PART))
    size = -(-len(group) // count)
    return [group[i:i + size] for i in range(0, len(group), size)]


def _columns(connector: Connector, candidate: _Candidate) -> tuple[SourceColumn, ...] | None:
    """The table's source columns, or ``None`` (its usual run reports what is wrong)."""
    table = candidate.item.table
    try:
        columns = connector.columns(table.config.source_object)
        require_columns(table, columns, candidate.strategy.required_columns(candidate.options))
    except DataLoaderError:
        return None
    return columns


def _probe(
    connector: Connector, source: SourceConfig,
    chunk: list[tuple[_Candidate, tuple[SourceColumn, ...]]],
) -> list[dict[ProbeRequest, ProbeAnswer]]:
    """Every table's probe answers: in one statement where the connector can, else as
    its run asks them (:func:`~dataloader_sdk._run_parts.probe_all`)."""
    if isinstance(connector, TablesTogether):
        try:
            together = connector.probe_tables(
                [(c.item.table.config.source_object, c.requests) for c, _ in chunk])
        except DataLoaderError:
            together = None  # asked one by one, each table gets its own answer or error
        if together is not None:
            return [checked_answers(source.db_type, candidate.requests, answers, columns)
                    for (candidate, columns), answers in zip(chunk, together, strict=True)]
    return [probe_all(connector, c.item.table.config.source_object, c.requests,
                      db_type=source.db_type, columns=columns) for c, columns in chunk]
