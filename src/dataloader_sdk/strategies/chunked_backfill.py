"""``chunked_backfill``: load a big table in ranges of a date or integer column, then hand
over to a steady-state strategy.

The chunk plan covers ``[start, end]`` (configured, or the column's min/max probed on the
first run) in ``chunk_size`` steps (an integer, or a duration such as ``'7d'`` for date and
timestamp columns). Each chunk is one idempotent commit (Append, or Merge when
``primary_keys`` is given). The chunk ledger lives in the table's state in the control DB
(and in each commit's metadata, so it rolls forward after a crash); a resumed run loads
only unfinished chunks, and the table watermark advances only over the contiguous prefix
of finished chunks. Rows whose chunk column is NULL are not part of any chunk.

When every chunk is done, the table runs its steady-state strategy (``then``, default
``incremental``) with ``then_options``; that strategy starts from the watermark captured
when the backfill began (``max`` of its cursor), so changes made during the backfill are
picked up and nothing between backfill and steady state is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import (
    Append,
    Column,
    Compare,
    CursorExpr,
    JSONValue,
    LoadPlan,
    LoadStep,
    MaxOf,
    Merge,
    MinOf,
    ProbeRequest,
    ScalarValue,
    Select,
    TableState,
    Watermark,
)
from dataloader_sdk.strategies._inner import InnerChoice, read_inner
from dataloader_sdk.strategies.base import OptionReader, PlanContext, parse_duration

__all__ = [
    "BackfillLedger",
    "ChunkedBackfillOptions",
    "ChunkedBackfillStrategy",
    "backfill_progress",
]

Bound = int | date | datetime


@dataclass(frozen=True)
class ChunkedBackfillOptions:
    """Options of ``chunked_backfill``."""

    chunk_column: str
    chunk_size: int | timedelta
    start: Bound | None
    end: Bound | None
    primary_keys: tuple[str, ...]
    max_chunks_per_run: int | None
    then: InnerChoice | None


@dataclass(frozen=True)
class BackfillLedger:
    """The chunk ledger kept in ``state.extra['backfill']``."""

    low: Watermark
    high: Watermark
    chunks: int
    done: frozenset[int]
    handover: Watermark | None

    @property
    def complete(self) -> bool:
        """Every chunk is committed."""
        return len(self.done) >= self.chunks

    def prefix(self) -> int:
        """How many chunks from the start are done without a gap."""
        n = 0
        while n in self.done:
            n += 1
        return n

    def to_json(self) -> dict[str, JSONValue]:
        """JSON for the state."""
        done: list[JSONValue] = list(sorted(self.done))
        return {
            "low": self.low.to_json(), "high": self.high.to_json(), "chunks": self.chunks,
            "done": done,
            "handover": self.handover.to_json() if self.handover else None,
        }

    @classmethod
    def from_json(cls, data: object) -> BackfillLedger | None:
        """Inverse of :meth:`to_json`; ``None`` when there is no ledger yet."""
        if not isinstance(data, dict):
            return None
        low, high, done, handover = data["low"], data["high"], data["done"], data.get("handover")
        assert isinstance(low, dict) and isinstance(high, dict) and isinstance(done, list)
        return cls(
            low=Watermark.from_json(low), high=Watermark.from_json(high),
            chunks=int(data["chunks"]), done=frozenset(int(i) for i in done),
            handover=Watermark.from_json(handover) if isinstance(handover, dict) else None,
        )


class ChunkedBackfillStrategy:
    """Chunked, resumable backfill with a hand-over to a steady-state strategy."""

    summary = "load ranges of a date/integer column chunk by chunk, then run a steady strategy"

    def describe_state(self, state: TableState) -> str | None:
        """The backfill's progress (:func:`backfill_progress`) for ``dataloader status``."""
        return backfill_progress(state)

    def parse_options(
        self, raw: Mapping[str, JSONValue], *, table: str
    ) -> ChunkedBackfillOptions:
        """``chunk_column`` and ``chunk_size`` are required; see the module docstring."""
        reader = OptionReader(raw, table=table, strategy="chunked_backfill")
        column = reader.text("chunk_column", required=True,
                             hint=" (a date, timestamp or integer column to split on)")
        size = _chunk_size(reader)
        start = _bound(reader, "start")
        end = _bound(reader, "end")
        if start is not None and end is not None and type(start) is not type(end):
            reader.problem("end", "must have the same type as start")
        elif start is not None and end is not None and end < start:  # type: ignore[operator]
            reader.problem("end", f"{end} is before start {start}")
        keys = reader.names("primary_keys")
        per_run = reader.integer("max_chunks_per_run", default=0, minimum=0) or None
        then = read_inner(reader, table=table, name_field="then", options_field="then_options",
                          default=None)
        reader.finish()
        assert column is not None and size is not None
        return ChunkedBackfillOptions(column, size, start, end, keys, per_run, then)

    def required_columns(self, options: ChunkedBackfillOptions) -> tuple[str, ...]:
        """Chunk column, keys, and the steady strategy's columns."""
        then = options.then.strategy.required_columns(options.then.options) if options.then else ()
        return (options.chunk_column, *options.primary_keys, *then)

    def probes(self, options: ChunkedBackfillOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """Min/max of the chunk column (first run), the steady cursor, or the steady probes."""
        ledger = BackfillLedger.from_json(state.extra.get("backfill"))
        if ledger is not None and ledger.complete:
            then = options.then
            return then.strategy.probes(then.options, state) if then else ()
        out: list[ProbeRequest] = []
        if ledger is None:
            column = Column(options.chunk_column)
            if options.start is None:
                out.append(MinOf(column))
            if options.end is None:
                out.append(MaxOf(column))
            cursor = _steady_cursor(options)
            if cursor is not None:
                out.append(MaxOf(cursor))
        return tuple(dict.fromkeys(out))

    def plan(self, ctx: PlanContext[ChunkedBackfillOptions]) -> LoadPlan:
        """The unfinished chunks (up to ``max_chunks_per_run``), or the steady plan."""
        opts = ctx.options
        ledger = BackfillLedger.from_json(ctx.state.extra.get("backfill"))
        if ledger is None:
            ledger = _new_ledger(ctx)
            if ledger is None:
                return LoadPlan((), note="chunk column has no values yet; nothing to backfill")
        if ledger.complete:
            return _steady_plan(ctx, ledger)
        todo = [i for i in range(ledger.chunks) if i not in ledger.done]
        if opts.max_chunks_per_run:
            todo = todo[: opts.max_chunks_per_run]
        column = Column(opts.chunk_column)
        write = Merge(opts.primary_keys) if opts.primary_keys else Append()
        steps: list[LoadStep] = []
        done = set(ledger.done)
        version = ctx.state.txn_version
        for index in todo:
            low, high, last = _chunk_bounds(ledger, opts.chunk_size, index)
            where = (Compare(column, ">=", low), Compare(column, "<=" if last else "<", high))
            done.add(index)
            after = replace(ledger, done=frozenset(done))
            version += 1
            prefix = after.prefix()
            watermark = (
                Watermark.of(_chunk_bounds(ledger, opts.chunk_size, prefix - 1)[1])
                if prefix else ctx.state.watermark
            )
            if after.complete:
                watermark = ledger.handover  # the steady strategy continues from here
            steps.append(LoadStep(
                select=Select(ctx.table.config.source_object, where=where),
                write=write,
                state_after=TableState(watermark=watermark, txn_version=version,
                                       extra={**ctx.state.extra, "backfill": after.to_json()}),
                txn_version=version,
                loaded_at=ctx.now,
                label=f"chunk {index + 1}/{ledger.chunks} [{low}, {high}{']' if last else ')'}",
            ))
        remaining = ledger.chunks - len(done)
        return LoadPlan(tuple(steps), note=f"{len(steps)} chunks this run, {remaining} left")


def _steady_cursor(options: ChunkedBackfillOptions) -> CursorExpr | None:
    if options.then is None:
        return None
    cursor: CursorExpr | None = getattr(options.then.options, "watermark_column", None)
    return cursor


def _new_ledger(ctx: PlanContext[ChunkedBackfillOptions]) -> BackfillLedger | None:
    opts = ctx.options
    column = Column(opts.chunk_column)
    low = opts.start if opts.start is not None else ctx.answer(MinOf(column))
    high = opts.end if opts.end is not None else ctx.answer(MaxOf(column))
    if low is None or high is None:
        return None
    _check_size_type(ctx.table.name, opts, low)
    chunks = _count_chunks(low, high, opts.chunk_size)
    cursor = _steady_cursor(opts)
    handover_value = ctx.answer(MaxOf(cursor)) if cursor is not None else None
    return BackfillLedger(
        low=Watermark.of(low), high=Watermark.of(high), chunks=chunks, done=frozenset(),
        handover=Watermark.of(handover_value) if handover_value is not None else None,
    )


def _steady_plan(ctx: PlanContext[ChunkedBackfillOptions], ledger: BackfillLedger) -> LoadPlan:
    then = ctx.options.then
    if then is None:
        return LoadPlan((), note="backfill complete; no steady-state strategy configured")
    plan = then.strategy.plan(replace(ctx, options=then.options))
    steps = tuple(
        replace(s, state_after=replace(
            s.state_after, extra={**s.state_after.extra, "backfill": ledger.to_json()}))
        for s in plan.steps
    )
    return LoadPlan(steps, note=f"backfill complete; {then.name}: {plan.note}".rstrip(": "),
                    skipped=plan.skipped)


def _chunk_size(reader: OptionReader) -> int | timedelta | None:
    value = reader._get("chunk_size")
    if value is None:
        reader.problem("chunk_size", "is required for strategy 'chunked_backfill' "
                       "(an integer, or a duration like '7d' for date/timestamp columns)")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            reader.problem("chunk_size", f"must be > 0, got {value}")
            return None
        return value
    if isinstance(value, str):
        duration = parse_duration(value)
        if duration is not None and duration > timedelta(0):
            return duration
    reader.problem("chunk_size", f"must be a positive integer or a duration like '7d'; "
                   f"got {value!r}")
    return None


def _bound(reader: OptionReader, name: str) -> Bound | None:
    value = reader._get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            pass
    reader.problem(name, f"must be an integer or an ISO date/timestamp; got {value!r}")
    return None


def _check_size_type(table: str, opts: ChunkedBackfillOptions, low: ScalarValue) -> None:
    numeric = isinstance(low, int | Decimal) and not isinstance(low, bool)
    if numeric != isinstance(opts.chunk_size, int):
        raise ValidationError(
            f"strategy_options of table {table!r}",
            [FieldProblem("chunk_size", f"{opts.chunk_size!r} does not fit column "
                          f"{opts.chunk_column!r} holding {type(low).__name__} values; use an "
                          "integer for integer columns and a duration like '7d' for dates")],
        )


def _count_chunks(low: ScalarValue, high: ScalarValue, size: int | timedelta) -> int:
    if isinstance(size, int):
        assert isinstance(low, int | Decimal) and isinstance(high, int | Decimal)
        return int(high - low) // size + 1
    span = high - low  # type: ignore[operator]
    assert isinstance(span, timedelta)  # date - date and datetime - datetime
    return span // size + 1


def _chunk_bounds(
    ledger: BackfillLedger, size: int | timedelta, index: int
) -> tuple[ScalarValue, ScalarValue, bool]:
    """``(low, high, is_last)`` of chunk ``index``: ``[low, high)``, the last one ``[low, high]``."""
    base = ledger.low.value
    low = base + size * index  # type: ignore[operator]
    last = index == ledger.chunks - 1
    high = ledger.high.value if last else base + size * (index + 1)  # type: ignore[operator]
    return low, high, last


def backfill_progress(state: TableState) -> str | None:
    """``"backfill 3/10 chunks"`` (or ``"backfill complete"``) for status displays."""
    ledger = BackfillLedger.from_json(state.extra.get("backfill"))
    if ledger is None:
        return None
    if ledger.complete:
        return f"backfill complete ({ledger.chunks} chunks)"
    return f"backfill {len(ledger.done)}/{ledger.chunks} chunks ({ledger.low}..{ledger.high})"
