"""Cursor-window planning shared by the strategies that keep a watermark.

The watermark protocol (docs/load-strategies.md): the upper bound ``H = max(cursor)`` is
frozen by a probe before reading, and a run reads ``cursor >= W - lookback AND cursor <= H``
(strictly ``> W`` when the caller asks for it). The watermark never moves above ``H`` and
never moves backwards.
"""

from __future__ import annotations

from datetime import timedelta

from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import (
    Compare,
    CursorExpr,
    MaxOf,
    Predicate,
    ScalarValue,
    TableState,
    Watermark,
)

__all__ = ["CursorWindow", "cursor_window", "upper_bound_probe"]


def upper_bound_probe(cursor: CursorExpr) -> MaxOf:
    """The probe that freezes ``H``."""
    return MaxOf(cursor)


class CursorWindow:
    """The predicates of one run's read and the watermark after it commits.

    ``min_rows`` is what the probe proved: the row holding ``H`` lies inside the window
    unless the read is strict and ``H`` equals ``W``. A read returning fewer rows than this
    is refused by the runner before the commit (the watermark must not jump over rows that
    a representation mismatch hid from the read).
    """

    def __init__(self, where: tuple[Predicate, ...], after: Watermark, min_rows: int = 0) -> None:
        self.where = where
        self.after = after
        self.min_rows = min_rows


def cursor_window(
    *,
    table: str,
    cursor: CursorExpr,
    state: TableState,
    upper: ScalarValue | None,
    lookback: int | timedelta | None,
    strict: bool,
) -> CursorWindow | None:
    """The read window for this run, or ``None`` when there is nothing to read.

    ``strict`` reads ``cursor > W`` (only sound for strictly increasing ids with no
    lookback); otherwise ``cursor >= W - lookback``.
    """
    if upper is None:  # empty source, or every cursor is NULL
        return None
    high = Watermark.of(upper)
    low = state.watermark
    if low is not None and low.type != high.type and {low.type, high.type} != {"int", "decimal"}:
        raise ValidationError(
            f"watermark of table {table!r}",
            [FieldProblem(
                "watermark_column",
                f"the stored watermark is {low.type} ({low}) but the source cursor is now "
                f"{high.type} ({high}); the column's type changed. Reset the table's state "
                "(dataloader tables reset) or restore the column type",
            )],
        )
    if low is not None and _less(high.value, low.value):
        # The source's max went backwards (rows deleted or restored from an old backup).
        # Never move the watermark back: read nothing new, keep W.
        return None
    where: list[Predicate] = []
    if low is not None:
        if strict:
            where.append(Compare(cursor, ">", low.value))
        else:
            try:
                lower = low.minus(lookback)
            except TypeError as exc:
                raise ValidationError(
                    f"strategy_options of table {table!r}", [FieldProblem("lookback", str(exc))]
                ) from None
            where.append(Compare(cursor, ">=", lower))
    where.append(Compare(cursor, "<=", high.value))
    holds_upper = not strict or low is None or _less(low.value, high.value)
    return CursorWindow(tuple(where), high, min_rows=1 if holds_upper else 0)


def _less(a: object, b: object) -> bool:
    try:
        return bool(a < b)  # type: ignore[operator]
    except TypeError:
        return False
