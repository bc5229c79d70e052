"""Merge helpers of the Spark engine: the sequence guard and DataFrame deduplication.

The guard has the delta_rs semantics: a source row replaces a target row unless the
target's sequence is newer; a NULL target sequence counts as older, a NULL source sequence
never wins over a target that has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from dataloader_sdk.engines.common.schema import normalize_type
from dataloader_sdk.engines.spark.sql import quote_ident, render_expr
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import Coalesce, Column, CursorExpr, Merge, TargetName

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["dedup_frame", "existing_types", "sequence_guard"]


def existing_types(schema: pa.Schema | None) -> dict[str, pa.DataType]:
    if schema is None:
        return {}
    return {f.name.lower(): normalize_type(f.type) for f in schema}


def _target_expr(expr: CursorExpr, target_columns: list[str]) -> CursorExpr | None:
    lowered = {c.lower() for c in target_columns}
    present = tuple(c for c in expr.columns if c.lower() in lowered)
    if not present:
        return None
    return Column(present[0]) if len(present) == 1 else Coalesce(present)


def sequence_guard(expr: CursorExpr, target_columns: list[str]) -> str | None:
    """``s.seq >= t.seq OR t.seq IS NULL`` (a NULL target sequence counts as older).

    A NULL source sequence never replaces a target row that has one (the comparison is
    NULL). ``None`` when the target has none of the sequence columns yet.
    """
    target_expr = _target_expr(expr, target_columns)
    if target_expr is None:
        return None
    src, tgt = render_expr(expr, "s"), render_expr(target_expr, "t")
    return f"({src} >= {tgt}) OR ({tgt} IS NULL)"


def dedup_frame(target: TargetName, df: DataFrame, mode: Merge) -> DataFrame:
    """Refuse NULL keys, keep the greatest sequence per key (ties: the row read last)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not mode.keys:
        raise DestinationError(
            f"table {target}: Merge needs at least one key column; set the table's primary "
            "keys (strategy option 'primary_keys') or use another strategy"
        )
    null_key = F.lit(False)
    for key in mode.keys:
        null_key = null_key | F.col(quote_ident(key)).isNull()
    nulls = df.where(null_key).count()
    if nulls:
        raise DestinationError(
            f"table {target}: {nulls} rows have NULL in a key column "
            f"({', '.join(mode.keys)}); a Merge cannot match rows without a key. Filter or "
            "repair those rows at the source. Nothing was written."
        )
    order = []
    if mode.sequence is not None:
        seq = F.expr(render_expr(mode.sequence))
        order += [seq.isNotNull().desc(), seq.desc()]
    order.append(F.col("__dl_row").desc())
    window = Window.partitionBy(*[F.col(quote_ident(k)) for k in mode.keys]).orderBy(*order)
    return (
        df.withColumn("__dl_row", F.monotonically_increasing_id())
        .withColumn("__dl_rank", F.row_number().over(window))
        .where(F.col("__dl_rank") == 1)
        .drop("__dl_row", "__dl_rank")
    )
