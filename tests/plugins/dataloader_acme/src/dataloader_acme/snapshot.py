"""``acme_snapshot``: appends a full copy of the source on every run (a pure planner)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dataloader_sdk.model import (
    Append,
    JSONValue,
    LoadPlan,
    LoadStep,
    ProbeRequest,
    Select,
    TableState,
)
from dataloader_sdk.strategies.base import OptionReader, PlanContext


@dataclass(frozen=True)
class SnapshotOptions:
    label: str


class SnapshotStrategy:
    summary = "append a full snapshot of the source on every run"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> SnapshotOptions:
        reader = OptionReader(raw, table=table, strategy="acme_snapshot")
        label = reader.text("label") or "snapshot"
        reader.finish()
        return SnapshotOptions(label)

    def required_columns(self, options: SnapshotOptions) -> tuple[str, ...]:
        return ()

    def probes(self, options: SnapshotOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        return ()

    def plan(self, ctx: PlanContext[SnapshotOptions]) -> LoadPlan:
        version = ctx.state.txn_version + 1
        snapshots = ctx.state.extra.get("snapshots", 0)
        count = snapshots + 1 if isinstance(snapshots, int) else 1
        return LoadPlan((LoadStep(
            select=Select(ctx.table.config.source_object),
            write=Append(),
            state_after=TableState(txn_version=version, extra={"snapshots": count}),
            txn_version=version,
            loaded_at=ctx.now,
            label=ctx.options.label,
        ),))
