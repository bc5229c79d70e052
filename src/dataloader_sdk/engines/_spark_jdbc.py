"""Spark JDBC partitioned reads of a structured select.

Spark's JDBC source cannot bind parameters, so the window query and the partition
predicates are rendered as dialect literals by SQLAlchemy (``literal_binds``): identifiers
quoted and values rendered by the dialect from their Python type, never pasted as strings.

Partitioning: the window ``SELECT ... WHERE <select.where>`` becomes the ``dbtable``
subquery ``(...) AS dl_window`` and each Spark partition reads it with one predicate::

    col < b1 | b1 <= col < b2 | ... | col >= b(n-1) | col IS NULL

The ranges are disjoint and together with the ``IS NULL`` partition cover every row of the
window exactly once, whatever the bounds were. Bounds default to ``min``/``max`` of the
partition column *inside the window*, so partitions are balanced on the rows actually read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dataloader_sdk.errors import ConfigError, SourcePermanentError, SourceTransientError
from dataloader_sdk.model import Column, ScalarValue, Select, SourceConfig
from dataloader_sdk.secrets import redacting_loggers

# py4j logs every command it sends to the JVM at DEBUG, the JDBC password included.
_PY4J_LOGGERS = ("py4j.clientserver", "py4j.java_gateway", "py4j.protocol")

if TYPE_CHECKING:
    import sqlalchemy as sa
    from pyspark.sql import DataFrame, SparkSession

    from dataloader_sdk.connectors.jdbc import JdbcOptions

__all__ = ["partition_predicates", "read_jdbc_partitioned", "window_query"]

WINDOW_ALIAS = "dl_window"
_EPOCH = datetime(1970, 1, 1)


def _compiler(options: JdbcOptions) -> Any:
    from dataloader_sdk.connectors.sql import SqlConnector

    dialect = _dialect(options.dialect)

    class _Compiler(SqlConnector):
        pass

    _Compiler.dialect = dialect
    return _Compiler(SourceConfig(name="jdbc", db_type=options.dialect), None)


def _dialect(name: str) -> sa.engine.Dialect:
    from sqlalchemy.dialects import registry

    try:
        dialect_cls = registry.load(name)
    except Exception as exc:
        raise ConfigError(f"JDBC options: unknown SQLAlchemy dialect {name!r}") from exc
    dialect: sa.engine.Dialect = dialect_cls()
    return dialect


def _literal_sql(element: Any, dialect: sa.engine.Dialect) -> str:
    return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def window_query(options: JdbcOptions, select: Select, partition_column: str) -> str:
    """The window select as SQL text with its values rendered as dialect literals."""
    import sqlalchemy as sa

    from dataloader_sdk.connectors.sql import referenced_columns

    compiler = _compiler(options)
    if select.columns is not None and partition_column not in select.columns:
        raise ConfigError(
            f"partition column {partition_column!r} is not among the selected columns "
            f"{', '.join(select.columns)}; add it or partition on a selected column"
        )
    names = referenced_columns(select.columns or (), select.where, (Column(partition_column),))
    src = compiler.from_clause(select.source, names)
    projected = (
        [src.c[n] for n in select.columns] if select.columns is not None
        else [sa.literal_column("*")]
    )
    stmt = compiler.apply_filters(sa.select(*projected).select_from(src), src, select.where)
    return _literal_sql(stmt, compiler.dialect)


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


def _boundaries(lower: ScalarValue, upper: ScalarValue, n: int) -> list[ScalarValue]:
    """``n - 1`` increasing split points strictly inside ``(lower, upper]``."""
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


def partition_predicates(
    options: JdbcOptions, partition_column: str, boundaries: Sequence[ScalarValue]
) -> list[str]:
    """Disjoint predicates covering every value of the column, plus one for NULL."""
    import sqlalchemy as sa

    from dataloader_sdk.connectors.sql import bind_type

    dialect = _dialect(options.dialect)
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
    return [_literal_sql(p, dialect) for p in preds]


def _source_error(options: JdbcOptions, exc: BaseException, what: str) -> Exception:
    text = options.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    lowered = text.lower()
    transient = any(h in lowered for h in ("connection refused", "timeout", "timed out",
                                           "connection reset", "too many connections"))
    cls = SourceTransientError if transient else SourcePermanentError
    return cls(
        f"Spark JDBC read {what} from {options.url} failed: {type(exc).__name__}: {text}. "
        "Check the source is reachable, the JDBC driver jar is on Spark's classpath "
        "(spark.jars.packages) and the table/columns exist."
    )


def read_jdbc_partitioned(
    spark: SparkSession,
    options: JdbcOptions,
    select: Select,
    partition_column: str,
    num_partitions: int,
    lower: ScalarValue | None = None,
    upper: ScalarValue | None = None,
) -> DataFrame:
    """Read ``select`` through Spark JDBC in ``num_partitions`` ranges plus a NULL partition.

    Args:
        spark: the session.
        options: connection options (the password is revealed only to Spark).
        select: what to read; its ``where`` is the watermark window.
        partition_column: a numeric, date or timestamp column of the window.
        num_partitions: range partitions (the NULL partition comes on top).
        lower: lowest expected value; default ``min(partition_column)`` in the window.
        upper: highest expected value; default ``max(partition_column)`` in the window.

    Returns:
        A lazy DataFrame; each row of the window is in exactly one partition.

    Raises:
        ConfigError: bad partition column or count.
        SourceError: the bounds query failed (message redacted).
    """
    if num_partitions < 1:
        raise ConfigError(f"num_partitions must be at least 1, got {num_partitions}")
    window = window_query(options, select, partition_column)
    dbtable = f"({window}) {WINDOW_ALIAS}"
    props = options.connection_properties()
    if lower is None or upper is None:
        # Only the column name is added, quoted by the dialect; the window's values were
        # rendered by the dialect above.
        quoted = _dialect(options.dialect).identifier_preparer.quote(partition_column)
        bounds_sql = f"SELECT min({quoted}), max({quoted}) FROM {dbtable}"  # noqa: S608
        try:
            with redacting_loggers(_PY4J_LOGGERS, options.password):
                row = spark.read.jdbc(options.url, f"({bounds_sql}) dl_bounds",
                                      properties=props).first()
        except Exception as exc:
            raise _source_error(options, exc, "of the partition bounds") from exc
        if row is not None:
            lower = row[0] if lower is None else lower
            upper = row[1] if upper is None else upper
    boundaries = (
        _boundaries(lower, upper, num_partitions)
        if lower is not None and upper is not None else []
    )
    predicates = partition_predicates(options, partition_column, boundaries)
    try:
        with redacting_loggers(_PY4J_LOGGERS, options.password):
            return spark.read.jdbc(options.url, dbtable, predicates=predicates,
                                   properties=props)
    except Exception as exc:
        raise _source_error(options, exc, "of the window") from exc
