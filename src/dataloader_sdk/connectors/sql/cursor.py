"""A ``MAX``/``MIN`` probe answer as a watermark value, refusing unsafe cursors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from dataloader_sdk.connectors.values import looks_ordered_as_text
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import ScalarValue, SourceObject

__all__ = ["typed_cursor_value"]


def _cursor_error(source: str, obj: SourceObject, column: str, text: str) -> ValidationError:
    where = "the source_query" if obj.query is not None else f"table {str(obj)!r}"
    return ValidationError(f"cursor column {column!r} of {where} in source {source!r}",
                           [FieldProblem("watermark_column", text)])


def typed_cursor_value(
    source: str, obj: SourceObject, column: str, raw: Any, arrow_type: pa.DataType,
    convert: Callable[[Any, pa.DataType], Any],
) -> ScalarValue:
    """A ``MAX``/``MIN`` probe answer as the watermark value, refusing unsafe cursors.

    A text cursor compares as text, so the upper bound and the read agree, but numbers or
    timestamps kept as text are ordered by spelling: ``'10'`` before ``'9'``,
    ``'2024-01-01T10:00'`` after ``'2024-01-01 23:00'``, offsets and fraction digits out
    of time order. New rows then sort below the watermark and are skipped for good, so
    such a cursor is refused with a ValidationError. A value the driver hands over typed
    (a ``source_query`` column, which has no declared type) keeps its type and compares
    as that type. A value that does not fit an integer, date or timestamp column is
    refused too: SQLite sorts text above every number, so the range would miss rows.

    Raises:
        ValidationError: naming the source, the table and the column, and what to do.
    """
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        if isinstance(raw, str):
            kind = looks_ordered_as_text(raw)
            if kind is not None:
                raise _cursor_error(source, obj, column, (
                    f"is a text column holding {kind} (e.g. {raw[:40]!r}); compared as text "
                    "they are ordered by spelling, not value ('10' before '9'; "
                    "'2024-01-01T10:00' after '2024-01-01 23:00'; offsets), so rows would "
                    "be skipped silently. Declare the column with the type its values have "
                    "(INTEGER, DATETIME/TIMESTAMP or DATE), or choose another cursor column"))
            return raw
        if isinstance(raw, int | float | Decimal | date) and not isinstance(raw, bool):
            return raw
        converted: ScalarValue = convert(raw, arrow_type)
        return converted
    try:
        value: ScalarValue = convert(raw, arrow_type)
    except (TypeError, ValueError, ArithmeticError):
        raise _cursor_error(source, obj, column, (
            f"holds {str(raw)[:40]!r} ({type(raw).__name__}), which is not a value of the "
            f"column's type ({arrow_type}); the source orders it apart from the other values, "
            "so rows would be skipped. Fix the row, or choose another cursor column")) from None
    return value
