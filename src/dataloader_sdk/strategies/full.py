"""``full``: read the whole table or query, replace the target in one atomic commit.

Readers see the old table until the commit; a failed run leaves it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dataloader_sdk.model import (
    JSONValue,
    LoadPlan,
    LoadStep,
    Overwrite,
    ProbeRequest,
    Select,
    TableState,
)
from dataloader_sdk.strategies.base import OptionReader, PlanContext

__all__ = ["FullOptions", "FullStrategy"]


@dataclass(frozen=True)
class FullOptions:
    """``full`` takes no options; ``primary_keys`` is accepted for documentation/merges later."""

    primary_keys: tuple[str, ...] = ()


class FullStrategy:
    """Overwrite the target with the whole source in one commit."""

    summary = "read everything, replace the target in one atomic commit"

    def parse_options(self, raw: Mapping[str, JSONValue], *, table: str) -> FullOptions:
        """Accepts only ``primary_keys`` (optional)."""
        reader = OptionReader(raw, table=table, strategy="full")
        keys = reader.names("primary_keys")
        reader.finish()
        return FullOptions(primary_keys=keys)

    def required_columns(self, options: FullOptions) -> tuple[str, ...]:
        """The declared keys, if any."""
        return options.primary_keys

    def probes(self, options: FullOptions, state: TableState) -> tuple[ProbeRequest, ...]:
        """None: a full load reads everything."""
        return ()

    def plan(self, ctx: PlanContext[FullOptions]) -> LoadPlan:
        """One Overwrite step of the whole source."""
        version = ctx.state.txn_version + 1
        step = LoadStep(
            select=Select(ctx.table.config.source_object),
            write=Overwrite(),
            state_after=TableState(watermark=None, txn_version=version),
            txn_version=version,
            loaded_at=ctx.now,
            label="full",
        )
        return LoadPlan((step,))
