"""Built-in strategies that composite strategies (check_and_load, chunked_backfill) wrap.

Composition is limited to the built-ins on purpose: a wrapped strategy's options are
validated when the outer table is configured, without a plugin host in the planner.
"""

from __future__ import annotations

from typing import Any

from dataloader_sdk.strategies.append_only import AppendOnlyStrategy
from dataloader_sdk.strategies.base import OptionReader, Strategy
from dataloader_sdk.strategies.full import FullStrategy
from dataloader_sdk.strategies.incremental import IncrementalStrategy

__all__ = ["INNER_STRATEGIES", "InnerChoice", "read_inner"]

INNER_STRATEGIES: dict[str, Strategy[Any]] = {
    "full": FullStrategy(),
    "incremental": IncrementalStrategy(),
    "append_only": AppendOnlyStrategy(),
}


class InnerChoice:
    """A wrapped strategy with its parsed options."""

    def __init__(self, name: str, strategy: Strategy[Any], options: Any) -> None:
        self.name = name
        self.strategy = strategy
        self.options = options


def read_inner(
    reader: OptionReader, *, table: str, name_field: str, options_field: str, default: str | None
) -> InnerChoice | None:
    """Parse ``<name_field>`` (a built-in strategy) and ``<options_field>`` (its options)."""
    choices = tuple(INNER_STRATEGIES)
    name = reader.choice(name_field, choices, default=default or "")
    raw = reader._get(options_field)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        reader.problem(options_field, "must be a JSON object of the wrapped strategy's options")
        return None
    if not name:
        if raw:
            reader.problem(options_field, f"given without {name_field}")
        return None
    strategy = INNER_STRATEGIES[name]
    try:
        options = strategy.parse_options(raw, table=table)
    except Exception as exc:  # ValidationError: re-file its problems under options_field
        for problem in getattr(exc, "problems", ()):
            reader.problem(f"{options_field}.{problem.field}", problem.problem)
        return None
    return InnerChoice(name, strategy, options)
