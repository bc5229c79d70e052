"""The runner's check of a connector's probe answers: right type, or a clear refusal.

A connector that answers ``MaxOf`` on an integer column with a string, or ``RowCount``
with a float, would have the strategy compare values of different kinds (a watermark
``'10'`` sorts below ``'9'``) and skip rows for good. The answer is refused, naming the
connector, before any strategy sees it. The types each probe kind returns are documented
in docs/plugins.md.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.model import ChangeSignature, Coalesce, MaxOf, MinOf, RowCount
from dataloader_sdk.secrets import value_preview

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from dataloader_sdk.connectors.base import SourceColumn
    from dataloader_sdk.model import ProbeRequest

__all__ = ["check_probe_answer", "expected_types"]

_SCALARS: tuple[type, ...] = (int, Decimal, float, str, bool, datetime, date)


def expected_types(arrow_type: pa.DataType | None) -> tuple[type, ...]:
    """The Python types a ``MaxOf``/``MinOf`` answer may have on a column of ``arrow_type``.

    Text columns (and columns of unknown type, such as a ``source_query``'s) accept any
    scalar: a driver may hand over a typed value there, which then compares as its type.
    """
    import pyarrow as pa

    if arrow_type is None:
        return _SCALARS
    if pa.types.is_boolean(arrow_type):
        return (bool,)
    if pa.types.is_integer(arrow_type):
        return (int,)
    if pa.types.is_floating(arrow_type):
        return (float, int)
    if pa.types.is_decimal(arrow_type):
        return (Decimal, int)
    if pa.types.is_timestamp(arrow_type):
        return (datetime,)
    if pa.types.is_date(arrow_type):
        return (date,)
    return _SCALARS


def _fits(value: object, types: tuple[type, ...]) -> bool:
    # bool is an int to Python; a count or an integer watermark is never a bool.
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def check_probe_answer(
    connector: str, request: ProbeRequest, answer: object,
    columns: Sequence[SourceColumn],
) -> None:
    """Refuse an answer of the wrong type for ``request``.

    ``RowCount`` answers an ``int``; ``MaxOf``/``MinOf`` a value of the cursor column's
    type (its first column for a ``Coalesce``); ``ChangeSignature`` any scalar. ``None``
    means "no rows" (or "no signature") and is always accepted.

    Raises:
        SourcePermanentError: naming the connector, the probe and the types expected.
    """
    if answer is None:
        return
    probe = type(request).__name__
    if isinstance(request, RowCount):
        types: tuple[type, ...] = (int,)
    elif isinstance(request, MaxOf | MinOf):
        column = (request.expr.names[0] if isinstance(request.expr, Coalesce)
                  else request.expr.name)
        arrow = next((c.arrow_type for c in columns if c.name == column), None)
        types = expected_types(arrow)
        probe = f"{probe} of column {column!r}" + (f" ({arrow})" if arrow is not None else "")
    elif isinstance(request, ChangeSignature):
        types = _SCALARS
    else:  # a probe kind this runner does not know: nothing to check it against
        return
    if not _fits(answer, types):
        wanted = " or ".join(t.__name__ for t in types)
        raise SourcePermanentError(
            f"connector {connector!r} answered {probe} with a "
            f"{type(answer).__name__} ({value_preview(answer)}), but it must be {wanted}; "
            "this is a bug in the connector (see 'probes' in docs/plugins.md)"
        )
