"""``check_and_load``: probe cheaply first; load (default: full) only when something changed.

The change signature combines the connector's :class:`ChangeSignature` (PostgreSQL:
``pg_stat_user_tables`` counters and the relfilenode), the row count, ``max(cursor)`` when a
cursor is configured, and the source schema's fingerprint. The run is skipped (status
``skipped``, history note "verified unchanged") only when every part equals the signature
of the last successful load and ``max_skip_age`` has not passed. Any probe error means
load: the strategy fails safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dataloader_sdk.model import (
    ChangeSignature,
    CursorExpr,
    JSONValue,
    LoadPlan,
    MaxOf,
    ProbeFailed,
    ProbeRequest,
    RowCount,
    TableState,
    Watermark,
)
from dataloader_sdk.strategies._inner import InnerChoice, read_inner
from dataloader_sdk.strategies.base import OptionReader, PlanContext, parse_duration

__all__ = ["CheckAndLoadOptions", "CheckAndLoadStrategy"]


@dataclass(frozen=True)
class CheckAndLoadOptions:
    """Options of ``check_and_load``."""

    inner: InnerChoice
    watermark_column: CursorExpr | None
    max_skip_age: timedelta | None


class CheckAndLoadStrategy:
    """Skip provably unchanged tables; otherwise run the inner strategy."""

    summary = "skip when cheap probes prove the source unchanged, else load (default full)"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> CheckAndLoadOptions:
        """``load`` / ``load_options`` (inner strategy), ``watermark_column``, ``max_skip_age``."""
        reader = OptionReader(raw, table=table, strategy="check_and_load")
        inner = read_inner(reader, table=table, name_field="load", options_field="load_options",
                           default="full")
        cursor = reader.cursor("watermark_column")
        age_text = reader.text("max_skip_age")
        age = parse_duration(age_text) if age_text else None
        if age_text and age is None:
            reader.problem("max_skip_age", f"must be a duration like '1d' or '12h'; got {age_text!r}")
        reader.finish()
        assert inner is not None
        if cursor is None:
            cursor = getattr(inner.options, "watermark_column", None)
        return CheckAndLoadOptions(inner, cursor, age)

    def required_columns(self, options: CheckAndLoadOptions) -> tuple[str, ...]:
        """The inner strategy's columns and the cursor."""
        cursor = options.watermark_column.columns if options.watermark_column else ()
        return (*options.inner.strategy.required_columns(options.inner.options), *cursor)

    def probes(self, options: CheckAndLoadOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """The signature probes, then the inner strategy's own."""
        own: list[ProbeRequest] = [ChangeSignature(), RowCount()]
        if options.watermark_column is not None:
            own.append(MaxOf(options.watermark_column))
        inner = options.inner.strategy.probes(options.inner.options, state)
        return (*own, *(p for p in inner if p not in own))

    def plan(self, ctx: PlanContext[CheckAndLoadOptions]) -> LoadPlan:
        """Skip with "verified unchanged", or the inner plan with the new signature stored."""
        opts = ctx.options
        signature = _signature(ctx, opts)
        previous = ctx.state.extra.get("signature")
        signed_at = ctx.state.extra.get("signed_at")
        if signature is not None and previous == signature and isinstance(signed_at, str):
            age = ctx.now - datetime.fromisoformat(signed_at)
            if opts.max_skip_age is None or age < opts.max_skip_age:
                return LoadPlan((), note="verified unchanged", skipped=True)
        inner_plan = opts.inner.strategy.plan(replace(ctx, options=opts.inner.options))
        extra: dict[str, JSONValue] = {"signature": signature, "signed_at": ctx.now.isoformat()}
        steps = tuple(
            replace(step, state_after=replace(
                step.state_after, extra={**step.state_after.extra, **extra}))
            for step in inner_plan.steps
        )
        note = "changed since the last load" if previous is not None else "first load"
        if signature is None:
            note = "a probe failed, loading to be safe"
        return LoadPlan(steps, note=f"{note}; {inner_plan.note}".rstrip("; "))


def _signature(
    ctx: PlanContext[CheckAndLoadOptions], opts: CheckAndLoadOptions
) -> dict[str, JSONValue] | None:
    """The current signature, or ``None`` when a probe failed (then we always load)."""
    answers: dict[str, JSONValue] = {"schema": ctx.schema_fingerprint}
    requests: dict[str, ProbeRequest] = {"change": ChangeSignature(), "rows": RowCount()}
    if opts.watermark_column is not None:
        requests["max"] = MaxOf(opts.watermark_column)
    for key, request in requests.items():
        value = ctx.probes.get(request)
        if isinstance(value, ProbeFailed):
            return None
        if value is None or isinstance(value, bool | int | str):
            answers[key] = value
        else:
            answers[key] = Watermark.of(value).to_json()
    return answers
