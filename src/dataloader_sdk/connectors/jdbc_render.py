"""SQL text for Spark JDBC reads: the window query and partition predicates as literals.

Spark's JDBC source cannot bind parameters, so the window query and the partition
predicates are rendered as dialect literals by SQLAlchemy (``literal_binds``): identifiers
quoted and values rendered by the dialect from their Python type, never pasted as strings.

Partitioning: the window ``SELECT ... WHERE <select.where>`` becomes the ``dbtable``
subquery ``(...) AS dl_window`` and each Spark partition reads it with one predicate::

    col < b1 | b1 <= col < b2 | ... | col >= b(n-1) | col IS NULL

The ranges are disjoint and together with the ``IS NULL`` partition cover every row of the
window exactly once, whatever the bounds were (:func:`partition_bounds` splits
``[lower, upper]`` into balanced ranges).

Connectors offer this through :class:`~dataloader_sdk.connectors.base.JdbcCapable`
(implemented once on :class:`~dataloader_sdk.connectors.sql.SqlConnector`), so an engine
renders nothing itself. :func:`window_query` and :func:`partition_predicates` take
:class:`~dataloader_sdk.connectors.jdbc.JdbcOptions` and keep the signatures the Spark
engine used before.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.jdbc import register_dialect
from dataloader_sdk.connectors.sql.compile import SelectCompiler, bind_type, referenced_columns
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Column, ScalarValue, Select, SourceConfig

if TYPE_CHECKING:
    from dataloader_sdk.connectors.jdbc import JdbcOptions

__all__ = [
    "WINDOW_ALIAS",
    "bounds_query",
    "dialect_named",
    "literal_sql",
    "partition_bounds",
    "partition_predicates",
    "register_dialect",
    "render_partition_predicates",
    "render_window",
    "window_query",
]

#: Alias of the window subquery in Spark's ``dbtable``.
WINDOW_ALIAS = "dl_window"
_EPOCH = datetime(1970, 1, 1)


def dialect_named(name: str) -> Dialect:
    """A SQLAlchemy dialect by its registered name (``postgresql``, ``mssql``, ...).

    Raises:
        ConfigError: no dialect of that name is registered.
    """
    from sqlalchemy.dialects import registry

    register_dialect(name)
    try:
        dialect_cls = registry.load(name)
    except Exception as exc:
        raise ConfigError(f"JDBC options: unknown SQLAlchemy dialect {name!r}") from exc
    dialect: Dialect = dialect_cls()
    return dialect


def literal_sql(element: Any, dialect: Dialect) -> str:
    """``element`` compiled for ``dialect`` with every value rendered as a literal."""
    return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


class _LiteralCompiler(SelectCompiler):
    """The portable compile steps, with the literal-friendly default bind types."""

    def __init__(self, dialect: Dialect, source: str) -> None:
        self.dialect = dialect
        self.config = SourceConfig(name=source, db_type=dialect.name)


def render_window(dialect: Dialect, select: Select, partition_column: str | None, *,
                  source: str = "jdbc") -> str:
    """The window select of ``select`` as SQL text with literal values.

    Raises:
        ConfigError: ``partition_column`` is not among the selected columns.
    """
    if (partition_column is not None and select.columns is not None
            and partition_column not in select.columns):
        raise ConfigError(
            f"partition column {partition_column!r} is not among the selected columns "
            f"{', '.join(select.columns)}; add it or partition on a selected column"
        )
    compiler = _LiteralCompiler(dialect, source)
    extra = (Column(partition_column),) if partition_column is not None else ()
    names = referenced_columns(select.columns or (), select.where, extra)
    src = compiler.from_clause(select.source, names)
    projected = (
        [src.c[n] for n in select.columns] if select.columns is not None
        else [sa.literal_column("*")]
    )
    stmt = compiler.apply_filters(sa.select(*projected).select_from(src), src, select.where)
    return literal_sql(stmt, dialect)


def bounds_query(dialect: Dialect, window: str, partition_column: str) -> str:
    """``SELECT min(col), max(col) FROM (<window>) dl_window`` (the column quoted)."""
    quoted = dialect.identifier_preparer.quote(partition_column)
    # Only the quoted column name is added; the window's values were rendered as literals.
    return f"SELECT min({quoted}), max({quoted}) FROM ({window}) {WINDOW_ALIAS}"  # noqa: S608


def render_partition_predicates(dialect: Dialect, partition_column: str,
                                boundaries: Sequence[ScalarValue]) -> list[str]:
    """Disjoint predicates covering every value of the column, plus one for NULL."""
    col: sa.ColumnClause[Any] = sa.column(partition_column)

    def lit(v: ScalarValue) -> Any:
        return sa.literal(v, type_=bind_type(v))

    preds: list[Any] = []
    if not boundaries:
        preds.append(col.is_not(None))
    else:
        preds.append(col < lit(boundaries[0]))
        for a, b in itertools.pairwise(boundaries):
            preds.append(sa.and_(col >= lit(a), col < lit(b)))
        preds.append(col >= lit(boundaries[-1]))
    preds.append(col.is_(None))
    return [literal_sql(p, dialect) for p in preds]


def _as_number(value: ScalarValue) -> float | int | Decimal:
    if isinstance(value, bool):
        raise ConfigError("cannot partition on a boolean column")
    if isinstance(value, datetime):
        naive = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return (naive - _EPOCH) // timedelta(microseconds=1)
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, int | Decimal | float):
        return value
    raise ConfigError(
        f"cannot partition on a {type(value).__name__} column; use a numeric, date or "
        "timestamp column"
    )


def _from_number(number: float | int | Decimal, like: ScalarValue) -> ScalarValue:
    if isinstance(like, datetime):
        moment = _EPOCH + timedelta(microseconds=int(number))
        return moment.replace(tzinfo=timezone.utc) if like.tzinfo else moment
    if isinstance(like, date):
        return date.fromordinal(int(number))
    if isinstance(like, int):
        return int(number)
    return number


def partition_bounds(lower: ScalarValue, upper: ScalarValue, n: int) -> list[ScalarValue]:
    """``n - 1`` increasing split points strictly inside ``(lower, upper]`` (fewer when
    the range is too narrow; none for one partition or an empty range).

    Raises:
        ConfigError: the values are neither numbers, dates nor timestamps.
    """
    lo, hi = _as_number(lower), _as_number(upper)
    if n <= 1 or hi <= lo:
        return []
    out: list[ScalarValue] = []
    if isinstance(lo, int) and isinstance(hi, int):
        stride = max(1, math.ceil((hi - lo + 1) / n))
        points: list[float | int | Decimal] = [lo + i * stride for i in range(1, n)]
    else:
        span = Decimal(str(hi)) - Decimal(str(lo))
        points = [Decimal(str(lo)) + span * i / n for i in range(1, n)]
        if isinstance(lo, float):
            points = [float(p) for p in points]
    for point in points:
        if lo < point <= hi:
            value = _from_number(point, lower)
            if not out or value != out[-1]:
                out.append(value)
    return out


def window_query(options: JdbcOptions, select: Select, partition_column: str) -> str:
    """The window select as SQL text with its values rendered as dialect literals.

    The dialect is the one named in ``options.dialect``.
    """
    return render_window(dialect_named(options.dialect), select, partition_column)


def partition_predicates(
    options: JdbcOptions, partition_column: str, boundaries: Sequence[ScalarValue]
) -> list[str]:
    """Disjoint predicates covering every value of the column, plus one for NULL."""
    return render_partition_predicates(dialect_named(options.dialect), partition_column,
                                       boundaries)
