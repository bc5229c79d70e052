"""The NULL-cursor policy shared by the cursor strategies.

``fail`` (default): a run fails while any row has a NULL cursor, naming the count, since
those rows would silently never load. ``exclude``: such rows are never loaded.
``include_once``: the first run loads them too; later NULL rows are not loaded.
"""

from __future__ import annotations

from typing import Any, Literal

from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.model import (
    AnyOf,
    Compare,
    CursorExpr,
    IsNull,
    Predicate,
    ProbeRequest,
    RowCount,
    TableState,
)
from dataloader_sdk.strategies.base import OptionReader, PlanContext

__all__ = ["NULL_POLICIES", "NullPolicy", "null_probes", "read_option", "with_null_policy"]

NullPolicy = Literal["fail", "exclude", "include_once"]
NULL_POLICIES: tuple[NullPolicy, ...] = ("fail", "exclude", "include_once")


def read_option(reader: OptionReader) -> NullPolicy:
    """Parse ``null_cursor``."""
    return reader.choice("null_cursor", NULL_POLICIES, default="fail")  # type: ignore[return-value]


def null_count_probe(cursor: CursorExpr) -> RowCount:
    """The probe counting rows whose cursor is NULL."""
    return RowCount(where=(IsNull(cursor),))


def null_probes(policy: NullPolicy, cursor: CursorExpr, state: TableState) -> tuple[ProbeRequest, ...]:
    """Probes the policy needs."""
    return (null_count_probe(cursor),) if policy == "fail" else ()


def check_nulls(ctx: PlanContext[Any], policy: NullPolicy, cursor: CursorExpr) -> None:
    """Under ``fail``, refuse to run while NULL cursors exist."""
    if policy != "fail":
        return
    count = ctx.answer(null_count_probe(cursor))
    if isinstance(count, int) and count > 0:
        raise SourcePermanentError(
            f"table {ctx.table.name!r}: {count} source rows have a NULL cursor "
            f"({', '.join(cursor.columns)}), so they would never load. Set strategy option "
            "null_cursor to 'exclude' or 'include_once', use a COALESCE cursor (a list of "
            "columns), or fix the data"
        )


def with_null_policy(
    where: tuple[Predicate, ...], policy: NullPolicy, cursor: CursorExpr, state: TableState
) -> tuple[Predicate, ...]:
    """Add ``OR cursor IS NULL`` to the first run's upper bound under ``include_once``."""
    if policy != "include_once" or state.watermark is not None:
        return where
    out: list[Predicate] = []
    for pred in where:
        if isinstance(pred, Compare) and pred.op in ("<=", "<"):
            out.append(AnyOf((pred, IsNull(cursor))))
        else:
            out.append(pred)
    return tuple(out)
