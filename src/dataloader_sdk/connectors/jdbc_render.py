"""The SQL a Spark JDBC read sends, rendered by the source's own dialect.

Spark's JDBC source cannot bind parameters, so the window query and the partition
predicates are rendered as dialect literals by SQLAlchemy (``literal_binds``): identifiers
quoted and values rendered by the dialect from their Python type, never pasted as strings.
Rendering uses the connector's dialect with the ``named`` paramstyle: a ``pyformat``
dialect (psycopg) would double every ``%`` for a driver that never sees this text.

Partitioning: the window ``SELECT ... WHERE <select.where>`` becomes the ``dbtable``
subquery ``(...) dl_window`` and each Spark partition reads it with one predicate::

    col < b1 | b1 <= col < b2 | ... | col >= b(n-1) | col IS NULL

The ranges are disjoint and together with the ``IS NULL`` partition cover every row of the
window exactly once, whatever the bounds were. The bounds are ``min``/``max`` of the
partition column *inside the window* (:meth:`JdbcSqlConnector.jdbc_bounds`), so the
partitions are balanced on the rows actually read.

:class:`JdbcSqlConnector` makes a :class:`~dataloader_sdk.connectors.sql.SqlConnector`
:class:`~dataloader_sdk.connectors.base.JdbcCapable`: a database sets its
:class:`~dataloader_sdk.connectors.jdbc.JdbcFlavor` (URL, driver class, dialect) as
``jdbc`` and states nothing else.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from dataloader_sdk.connectors.sql import SqlConnector, bind_type, referenced_columns
from dataloader_sdk.connectors.sql.compile import SelectCompiler
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import Column, ScalarValue, Select, SourceObject

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Dialect

    from dataloader_sdk.connectors.jdbc import JdbcFlavor, JdbcOptions

__all__ = ["BOUNDS_ALIAS", "WINDOW_ALIAS", "JdbcSqlConnector", "split_points"]

#: The alias of the window subquery Spark reads (``dbtable``).
WINDOW_ALIAS = "dl_window"
#: The alias of the bounds subquery.
BOUNDS_ALIAS = "dl_bounds"
_EPOCH = datetime(1970, 1, 1)


def _literal_sql(element: Any, dialect: sa.engine.Dialect) -> str:
    return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


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


def split_points(lower: ScalarValue, upper: ScalarValue, n: int) -> list[ScalarValue]:
    """``n - 1`` increasing split points strictly inside ``(lower, upper]``.

    Raises:
        ConfigError: the values cannot be split (booleans, text).
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


class _LiteralSteps(SelectCompiler):
    """The connector's FROM with the portable bind types, for SQL rendered as literals.

    A database's own bind types serve its driver's parameters (SQL Server, Oracle and
    ClickHouse pass timestamps as text), while a literal is rendered by the dialect from
    the value's Python type: a timestamp bound as text cannot be rendered at all.
    """

    def __init__(self, connector: SqlConnector, dialect: Dialect) -> None:
        self.dialect = dialect
        self.config = connector.config
        self._connector = connector

    def from_clause(self, obj: SourceObject, names: Sequence[str]) -> sa.FromClause:
        return self._connector.from_clause(obj, names)


class JdbcSqlConnector(SqlConnector):
    """A SQL connector whose reads Spark JDBC can also run (see the module docstring).

    A database subclasses it and sets :attr:`jdbc`; the SQL comes from the same template
    steps (:meth:`from_clause`, :meth:`apply_filters`) its own reads use.
    """

    #: How Spark reaches this database (its JDBC URL, driver class and dialect).
    jdbc: ClassVar[JdbcFlavor | None] = None

    def jdbc_options(self, obj: SourceObject | None = None, *,
                     fetchsize: int | None = None) -> JdbcOptions:
        """Spark JDBC options for this source (see :class:`~dataloader_sdk.connectors
        .jdbc.JdbcFlavor`).

        Raises:
            ConfigError: the subclass set no :attr:`jdbc` flavor.
            ValidationError: the source cannot be read through JDBC (a missing host).
        """
        if self.jdbc is None:
            raise ConfigError(f"source {self.config.name!r}: {type(self).__name__} sets no "
                              "jdbc flavor")
        return self.jdbc(self.config, self.secret, obj, fetchsize=fetchsize)

    def _render_dialect(self) -> sa.engine.Dialect:
        dialect: sa.engine.Dialect = type(self.dialect)(paramstyle="named")  # type: ignore[call-arg]
        return dialect

    def jdbc_window(self, select: Select, partition_column: str) -> str:
        """``select`` as the ``dbtable`` subquery ``(SELECT ...) dl_window``, values as
        dialect literals.

        Raises:
            ConfigError: ``partition_column`` is not among the selected columns.
        """
        import sqlalchemy as sa

        if select.columns is not None and partition_column not in select.columns:
            raise ConfigError(
                f"partition column {partition_column!r} is not among the selected columns "
                f"{', '.join(select.columns)}; add it or partition on a selected column"
            )
        names = referenced_columns(select.columns or (), select.where,
                                   (Column(partition_column),))
        steps = _LiteralSteps(self, self._render_dialect())
        src = steps.from_clause(select.source, names)
        projected = (
            [src.c[n] for n in select.columns] if select.columns is not None
            else [sa.literal_column("*")]
        )
        stmt = steps.apply_filters(sa.select(*projected).select_from(src), src, select.where)
        return f"({_literal_sql(stmt, steps.dialect)}) {WINDOW_ALIAS}"

    def jdbc_bounds(self, window: str, partition_column: str) -> str:
        """The ``dbtable`` subquery of ``min``/``max`` of ``partition_column`` in ``window``."""
        # Only the column name is added, quoted by the dialect; the window's values were
        # rendered by the dialect in jdbc_window.
        quoted = self._render_dialect().identifier_preparer.quote(partition_column)
        return (f"(SELECT min({quoted}), max({quoted}) FROM {window}) "  # noqa: S608
                f"{BOUNDS_ALIAS}")

    def jdbc_partitions(
        self, partition_column: str, lower: ScalarValue | None, upper: ScalarValue | None,
        partitions: int,
    ) -> list[str]:
        """Disjoint predicates covering every value of the column, plus one for NULL.

        Raises:
            ConfigError: ``partitions`` below 1, or values that cannot be split.
        """
        if partitions < 1:
            raise ConfigError(f"partitions must be at least 1, got {partitions}")
        boundaries = (split_points(lower, upper, partitions)
                      if lower is not None and upper is not None else [])
        return self.jdbc_predicates(partition_column, boundaries)

    def jdbc_predicates(
        self, partition_column: str, boundaries: Sequence[ScalarValue]
    ) -> list[str]:
        """The range predicates between ``boundaries`` and the ``IS NULL`` one, rendered."""
        import sqlalchemy as sa

        col: sa.ColumnClause[Any] = sa.column(partition_column)

        def lit(v: ScalarValue) -> Any:
            return sa.literal(v, type_=bind_type(v))  # portable: see _LiteralSteps

        preds: list[Any] = []
        if not boundaries:
            preds.append(col.is_not(None))
        else:
            preds.append(col < lit(boundaries[0]))
            for a, b in itertools.pairwise(boundaries):
                preds.append(sa.and_(col >= lit(a), col < lit(b)))
            preds.append(col >= lit(boundaries[-1]))
        preds.append(col.is_(None))
        dialect = self._render_dialect()
        return [_literal_sql(p, dialect) for p in preds]
