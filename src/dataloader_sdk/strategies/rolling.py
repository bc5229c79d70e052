"""``rolling``: replace a trailing window of a date/timestamp column on every run.

The window is ``window_column >= anchor - window`` where the anchor is the run time (for a
date column, the run date in UTC). One commit replaces exactly the target rows in the
window with the rows read, so rows deleted at the source inside the window disappear and
older rows are never touched. Rows dated after the anchor are inside the window too (the
window is open upwards), so future-dated rows load and are replaced like the rest.

Empty-window guard: when the read is empty but the target window holds more than
``empty_window_threshold`` rows (default 0), the run fails and nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import (
    Column,
    Compare,
    EmptyReadGuard,
    JSONValue,
    LoadPlan,
    LoadStep,
    MaxOf,
    ProbeRequest,
    ReplaceWhere,
    Select,
    TableState,
    Watermark,
)
from dataloader_sdk.strategies.base import OptionReader, PlanContext, parse_duration

__all__ = ["RollingOptions", "RollingStrategy"]


@dataclass(frozen=True)
class RollingOptions:
    """Options of ``rolling``."""

    window_column: str
    window: timedelta
    empty_window_threshold: int = 0


class RollingStrategy:
    """Replace the trailing window in one commit."""

    summary = "replace the trailing window (window_column >= now - window) in one commit"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> RollingOptions:
        """``window_column`` and ``window`` (e.g. ``'7d'``) are required."""
        reader = OptionReader(raw, table=table, strategy="rolling")
        column = reader.text("window_column", required=True,
                             hint=" (the date or timestamp column that places a row in time)")
        window_text = reader.text("window", required=True, hint=" (a duration such as '7d')")
        window = parse_duration(window_text) if window_text else None
        if window_text and (window is None or window <= timedelta(0)):
            reader.problem("window", f"must be a positive duration like '7d' or '48h'; got "
                           f"{window_text!r}")
        threshold = reader.integer("empty_window_threshold", default=0, minimum=0)
        reader.finish()
        assert column is not None and window is not None
        return RollingOptions(column, window, threshold)

    def required_columns(self, options: RollingOptions) -> tuple[str, ...]:
        """The window column."""
        return (options.window_column,)

    def probes(self, options: RollingOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """``MaxOf(window_column)``: tells the column's type (date or timestamp)."""
        return (MaxOf(Column(options.window_column)),)

    def plan(self, ctx: PlanContext[RollingOptions]) -> LoadPlan:
        """One ReplaceWhere step over the window, guarded against empty reads."""
        opts = ctx.options
        sample = ctx.answer(MaxOf(Column(opts.window_column)))
        if sample is None and ctx.state.watermark is not None:
            sample = ctx.state.watermark.value  # empty source: type from the last window
        if sample is None:
            return LoadPlan((), note="source is empty and the table was never loaded")
        start = _window_start(ctx.table.name, opts, ctx.now, sample)
        column = Column(opts.window_column)
        window = (Compare(column, ">=", start),)
        version = ctx.state.txn_version + 1
        step = LoadStep(
            select=Select(ctx.table.config.source_object, where=window),
            write=ReplaceWhere(window),
            state_after=TableState(watermark=Watermark.of(start), txn_version=version,
                                   extra=dict(ctx.state.extra)),
            txn_version=version,
            loaded_at=ctx.now,
            label=f"window from {start}",
            guard=EmptyReadGuard(window, opts.empty_window_threshold),
        )
        return LoadPlan((step,))


def _window_start(
    table: str, opts: RollingOptions, now: datetime, sample: object
) -> date | datetime:
    """The window's lower bound, typed like the column (``sample`` is a column value)."""
    if isinstance(sample, datetime):
        start = now.astimezone(timezone.utc) - opts.window
        return start if sample.tzinfo is not None else start.replace(tzinfo=None)
    if isinstance(sample, date):
        return now.astimezone(timezone.utc).date() - timedelta(days=opts.window.days)
    raise ValidationError(
        f"strategy_options of table {table!r}",
        [FieldProblem("window_column", f"{opts.window_column!r} holds "
                      f"{type(sample).__name__} values; rolling needs a date or timestamp")],
    )
