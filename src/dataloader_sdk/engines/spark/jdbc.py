"""Spark JDBC partitioned reads: the Spark side of the ``jdbc`` read path.

The engine runs SQL texts the source's connector rendered with its dialect
(``connectors/jdbc_render.py``); it builds no SQL and imports no connector. A read is one
partition per predicate of a ``dbtable`` subquery. It is persisted and counted at once, so
the rows the runner checks (the count, the boundary digest) are the rows written, and the
source is read once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dataloader_sdk.engines.base import JdbcConnection, LineageValues
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.model import ScalarValue
from dataloader_sdk.secrets import Secret, redacting_loggers

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkStagedRead", "jdbc_bounds", "read_jdbc", "with_lineage_columns"]

# py4j logs every command it sends to the JVM at DEBUG, the JDBC password included.
_PY4J_LOGGERS = ("py4j.clientserver", "py4j.java_gateway", "py4j.protocol")

_TRANSIENT = ("connection refused", "timeout", "timed out", "connection reset",
              "too many connections")


def _properties(conn: JdbcConnection) -> dict[str, str]:
    props = conn.connection_properties()
    # A zone-less timestamp stays zone-less (timestamp_ntz), as the connector path
    # writes it; Spark's default would read it in the session's time zone.
    props.setdefault("preferTimestampNTZ", "true")
    return props


def _password(props: dict[str, str]) -> Secret | None:
    value = props.get("password")
    return Secret(value) if value else None


def _source_error(conn: JdbcConnection, exc: BaseException, what: str) -> Exception:
    text = conn.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
    cls = SourceTransientError if any(h in text.lower() for h in _TRANSIENT) else (
        SourcePermanentError)
    return cls(
        f"Spark JDBC read {what} from {conn.url} failed: {type(exc).__name__}: {text}. "
        "Check the source is reachable, the JDBC driver jar is on Spark's classpath "
        "(spark.jars.packages) and the table/columns exist."
    )


def jdbc_bounds(
    spark: SparkSession, conn: JdbcConnection, bounds_table: str
) -> tuple[ScalarValue | None, ScalarValue | None]:
    """``min`` and ``max`` from the rendered bounds subquery (``None`` for no rows)."""
    props = _properties(conn)
    try:
        with redacting_loggers(_PY4J_LOGGERS, _password(props)):
            row = spark.read.jdbc(conn.url, bounds_table, properties=props).first()
    except Exception as exc:
        raise _source_error(conn, exc, "of the partition bounds") from exc
    if row is None:
        return None, None
    return row[0], row[1]


class SparkStagedRead:
    """A persisted JDBC read: counted once, written once, then unpersisted."""

    def __init__(self, frame: DataFrame, rows: int) -> None:
        self.frame = frame
        self._rows = rows

    @property
    def rows(self) -> int:
        """How many rows were read."""
        return self._rows

    @property
    def schema(self) -> pa.Schema:
        """The rows' Arrow schema (the mapping the Spark engine reads tables back with)."""
        from dataloader_sdk.engines.spark.types import spark_schema_to_arrow

        return spark_schema_to_arrow(self.frame.schema)

    def to_arrow(self) -> pa.Table:
        """Every row on the driver, in :attr:`schema` (small reads only)."""
        return self.frame.toArrow().cast(self.schema)

    def release(self) -> None:
        """Unpersist the rows."""
        self.frame.unpersist()


def read_jdbc(
    spark: SparkSession, conn: JdbcConnection, window_table: str, predicates: Sequence[str]
) -> SparkStagedRead:
    """Read ``window_table`` in one partition per predicate, persisted and counted."""
    from pyspark import StorageLevel

    props = _properties(conn)
    frame: DataFrame | None = None
    try:
        with redacting_loggers(_PY4J_LOGGERS, _password(props)):
            frame = spark.read.jdbc(conn.url, window_table, predicates=list(predicates),
                                    properties=props)
            frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
            rows = frame.count()
    except Exception as exc:
        if frame is not None:
            frame.unpersist()
        raise _source_error(conn, exc, "of the window") from exc
    return SparkStagedRead(frame, rows)


def with_lineage_columns(frame: DataFrame, lineage: LineageValues) -> DataFrame:
    """``frame`` with the lineage columns appended (constants, as ``with_lineage`` adds)."""
    from datetime import timezone

    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, TimestampType

    from dataloader_sdk.lineage import LOADED_AT_COLUMN, RUN_ID_COLUMN, SOURCE_COLUMN

    loaded_at = lineage.loaded_at.astimezone(timezone.utc)
    return frame.select(
        "*",
        F.lit(lineage.run_id).cast(StringType()).alias(RUN_ID_COLUMN),
        F.lit(loaded_at).cast(TimestampType()).alias(LOADED_AT_COLUMN),
        F.lit(lineage.source).cast(StringType()).alias(SOURCE_COLUMN),
    )
