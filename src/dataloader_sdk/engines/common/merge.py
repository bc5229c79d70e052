"""Preparing a step's rows for a Merge: validation, in-batch dedup, sequence guard.

A Merge into an existing table materialises the step's rows (one Arrow table) because
the rows must be checked for NULL keys and deduplicated per key before anything is
written. A Merge into a table without rows streams instead (``common/first_merge.py``), with the
same checks per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from dataloader_sdk.engines.common.predicates import quote_ident, render_expr
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import Coalesce, Column, CursorExpr, Merge, TargetName

if TYPE_CHECKING:
    # Only for annotations: importing pyarrow.dataset loads Acero (~50 MB of memory) on
    # every load, even ones that never merge.
    import pyarrow.dataset as ds

__all__ = [
    "DELETED_COLUMN",
    "check_merge_columns",
    "check_null_keys",
    "column_map",
    "dedup",
    "delete_flag_sql",
    "distinct_keys",
    "drop_stale",
    "first_load_rows",
    "int64_scalar",
    "merge_condition",
    "sequence_guard",
    "soft_deletes",
    "validate_merge_source",
    "winner_positions",
]

#: With ``Merge(delete_mode="flag")``, every target row carries this boolean column.
DELETED_COLUMN = "_dl_deleted"

SOURCE_ALIAS = "s"
TARGET_ALIAS = "t"
_ROW = "__dataloader_row"
_SEQ = "__dataloader_seq"
_HAS_SEQ = "__dataloader_has_seq"
_TSEQ = "__dataloader_target_seq"


def validate_merge_source(target: TargetName, rows: pa.Table, mode: Merge) -> None:
    """Refuse rows a Merge cannot apply: missing key/sequence columns, NULL keys.

    Raises:
        DestinationError: naming the column and the table; nothing has been written.
    """
    check_merge_columns(target, rows.schema, mode)
    check_null_keys(target, rows, mode)


def check_merge_columns(target: TargetName, schema: pa.Schema, mode: Merge) -> None:
    """Refuse a Merge without keys, or whose key/sequence/delete columns are missing.

    Raises:
        DestinationError: naming the columns and the table.
    """
    if not mode.keys:
        raise DestinationError(
            f"table {target}: Merge needs at least one key column; set the table's primary "
            "keys (strategy option 'primary_keys') or use another strategy"
        )
    needed = list(mode.keys) + (list(mode.sequence.columns) if mode.sequence else [])
    if mode.delete_column:
        needed.append(mode.delete_column)
    missing = [c for c in needed if c not in schema.names]
    if missing:
        raise DestinationError(
            f"table {target}: the source rows have no column(s) "
            f"{', '.join(repr(c) for c in missing)} needed by the Merge (keys/sequence); "
            f"source columns are {', '.join(schema.names)}. Fix the key or watermark "
            "columns in the table's strategy options. Nothing was written."
        )


def check_null_keys(target: TargetName, rows: pa.Table | pa.RecordBatch, mode: Merge) -> None:
    """Refuse rows with a NULL in any key column.

    Raises:
        DestinationError: naming the key column, how many rows, and the table.
    """
    for key in mode.keys:
        nulls = rows.column(key).null_count
        if nulls:
            raise DestinationError(
                f"table {target}: {nulls} rows have NULL in key column {key!r}; a Merge "
                "cannot match rows without a key. Filter or repair those rows at the source, "
                "or choose key columns that are never NULL. Nothing was written."
            )


def sequence_values(rows: pa.Table, expr: CursorExpr) -> pa.ChunkedArray:
    """The sequence expression evaluated over ``rows``."""
    if isinstance(expr, Column):
        return rows.column(expr.name)
    arrays = [rows.column(name) for name in expr.names]
    if len(arrays) == 1:
        return arrays[0]
    return pc.coalesce(*arrays)


def distinct_keys(rows: pa.Table, keys: Sequence[str]) -> int:
    """How many distinct key values ``rows`` holds."""
    if len(keys) == 1:
        # count_distinct, not group_by: pyarrow's group_by imports pandas (over a second
        # on a process's first merge) and the common case is a single, unique key.
        return int(pc.count_distinct(rows.column(keys[0]), mode="all").as_py())
    return int(rows.group_by(list(keys)).aggregate([]).num_rows)


def dedup(rows: pa.Table, keys: Sequence[str], sequence: CursorExpr | None) -> pa.Table:
    """Keep one row per key: the greatest sequence, ties (and no sequence) → the last read.

    A NULL sequence counts as older than any value. Surviving rows keep their read order.
    """
    n = rows.num_rows
    if n <= 1 or distinct_keys(rows, keys) == n:
        return rows
    return rows.take(winner_positions(rows, keys, sequence))


def winner_positions(
    rows: pa.Table, keys: Sequence[str], sequence: CursorExpr | None
) -> pa.Array:
    """The positions of :func:`dedup`'s surviving rows, ascending.

    ``rows`` needs only the key and sequence columns.
    """
    n = rows.num_rows
    work = rows.select(list(keys)).append_column(_ROW, _positions(n))
    sort_keys: list[tuple[str, str]] = []
    if sequence is not None:
        seq = sequence_values(rows, sequence)
        # Sorting on "has a value" first puts NULL sequences before every value without
        # relying on null_placement, whose API changed across pyarrow versions.
        work = work.append_column(_HAS_SEQ, pc.is_valid(seq)).append_column(_SEQ, seq)
        sort_keys += [(_HAS_SEQ, "ascending"), (_SEQ, "ascending")]
    sort_keys.append((_ROW, "ascending"))
    ordered = work.sort_by(sort_keys)
    # use_threads=False keeps the sorted order, so "last" is the winner of each key.
    winners = ordered.group_by(list(keys), use_threads=False).aggregate([(_ROW, "last")])
    last = winners.column(f"{_ROW}_last").combine_chunks()
    return pc.take(last, pc.sort_indices(last))


def _positions(n: int) -> pa.Array:
    """``0 .. n-1`` as int64, built in Arrow: converting Python ints makes pyarrow import
    pandas, and numpy is not installed with the core package."""
    ones = pc.fill_null(pa.nulls(n, pa.int64()), int64_scalar(1))
    positions: pa.Array = pc.cumulative_sum(ones, start=int64_scalar(-1))
    return positions


def int64_scalar(value: int) -> pa.Scalar:
    """An int64 scalar built from bytes (``pa.scalar()`` of a Python int imports pandas)."""
    data = pa.py_buffer(value.to_bytes(8, "little", signed=True))
    return pa.Array.from_buffers(pa.int64(), 1, [None, data])[0]


def column_map(columns: Sequence[str]) -> dict[str, str]:
    """``{'t."c"': 's."c"', ...}``: the update/insert map of a merge over ``columns``.

    Both sides are double-quoted DataFusion identifiers with embedded ``"`` doubled,
    which delta-rs parses for the target column and the expression alike; backticks,
    quotes, dots, spaces and non-ASCII stay literal parts of the name.
    """
    return {
        f"{TARGET_ALIAS}.{quote_ident(c)}": f"{SOURCE_ALIAS}.{quote_ident(c)}" for c in columns
    }


def merge_condition(keys: Sequence[str]) -> str:
    """``t."k1" = s."k1" AND ...``."""
    return " AND ".join(
        f"{TARGET_ALIAS}.{quote_ident(k)} = {SOURCE_ALIAS}.{quote_ident(k)}" for k in keys
    )


def _target_expr(expr: CursorExpr, target_columns: Sequence[str]) -> CursorExpr | None:
    """The sequence expression restricted to columns the target has (missing = NULL)."""
    present = tuple(c for c in expr.columns if c in target_columns)
    if not present:
        return None
    return Column(present[0]) if len(present) == 1 else Coalesce(present)


def sequence_guard(expr: CursorExpr, target_columns: Sequence[str]) -> str | None:
    """The update condition: the source row is not older than the target row.

    A NULL target sequence counts as older, so such rows are always updated; a NULL
    source sequence never replaces a target row that has one. ``None`` when the target
    has none of the sequence columns yet (every target sequence is NULL).
    """
    target_expr = _target_expr(expr, target_columns)
    if target_expr is None:
        return None
    src = render_expr(expr, SOURCE_ALIAS)
    tgt = render_expr(target_expr, TARGET_ALIAS)
    return f"({src} >= {tgt}) OR ({tgt} IS NULL)"


def drop_stale(
    rows: pa.Table, dataset: ds.Dataset, keys: Sequence[str], expr: CursorExpr
) -> pa.Table:
    """Remove source rows whose target row has a newer sequence.

    Needed because of a delta-rs bug (deltalake 1.6.6): when a merge adds columns
    (``merge_schema=True``), a matched row whose update predicate is false still gets the
    *source* values in the new columns. Dropping such rows beforehand means every matched
    row that reaches the merge is meant to be updated. Reads only the key and sequence
    columns of target rows whose keys occur in the source.
    """
    target_columns = dataset.schema.names
    target_expr = _target_expr(expr, target_columns)
    if target_expr is None or rows.num_rows == 0:
        return rows
    key_filter: ds.Expression | None = None
    for key in keys:
        term = pc.field(key).isin(pc.unique(rows.column(key)))
        key_filter = term if key_filter is None else key_filter & term
    existing = dataset.to_table(
        columns=list(dict.fromkeys([*keys, *target_expr.columns])), filter=key_filter
    )
    if existing.num_rows == 0:
        return rows
    tseq = sequence_values(existing, target_expr)
    right = existing.select(list(keys)).append_column(_TSEQ, tseq)
    seq = sequence_values(rows, expr)
    if seq.type != tseq.type:
        seq = seq.cast(tseq.type)
    left_cols = [rows.column(k).cast(existing.schema.field(k).type) for k in keys]
    left = pa.table(
        [*left_cols, pa.array(range(rows.num_rows), pa.int64()), seq],
        names=[*keys, _ROW, _SEQ],
    )
    joined = left.join(right, list(keys), join_type="inner")
    newer_target = pc.and_(
        pc.is_valid(joined.column(_TSEQ)),
        pc.or_kleene(
            pc.is_null(joined.column(_SEQ)),
            pc.less(joined.column(_SEQ), joined.column(_TSEQ)),
        ),
    )
    stale = joined.filter(pc.fill_null(newer_target, False)).column(_ROW)
    if len(stale) == 0:
        return rows
    positions = pa.array(range(rows.num_rows), pa.int64())
    keep = pc.invert(pc.is_in(positions, value_set=stale.combine_chunks()))
    return rows.filter(keep)


def soft_deletes(
    target: TargetName, rows: pa.Table, mode: Merge
) -> tuple[pa.Table, pa.ChunkedArray | None]:
    """Apply the source's soft-delete flag.

    ``flag`` mode adds ``_dl_deleted`` (the flag, NULL read as false) and returns no mask:
    flagged rows are merged like any other. ``delete`` mode returns the mask of rows to
    delete. The flag column must be boolean (or integer 0/1, as SQLite and MySQL store it).
    """
    if not mode.delete_column:
        return rows, None
    flag = rows.column(mode.delete_column)
    if pa.types.is_integer(flag.type):
        flag = pc.not_equal(flag, 0)
    elif not pa.types.is_boolean(flag.type):
        raise DestinationError(
            f"table {target}: delete_column {mode.delete_column!r} is {flag.type}, not a "
            "boolean; point delete_column at a true/false (or 0/1) soft-delete column"
        )
    flag = pc.fill_null(flag, False)
    if mode.delete_mode == "flag":
        if DELETED_COLUMN in rows.column_names:
            rows = rows.drop_columns([DELETED_COLUMN])
        return rows.append_column(pa.field(DELETED_COLUMN, pa.bool_(), nullable=False), flag), None
    return rows, flag


def first_load_rows(target: TargetName, rows: pa.Table, mode: Merge) -> pa.Table:
    """``rows`` as a Merge that creates the table writes them.

    Soft deletes are applied (``flag`` adds ``_dl_deleted``), and rows deleted at the
    source are dropped: there is nothing to delete yet.
    """
    rows, deleted = soft_deletes(target, rows, mode)
    return rows.filter(pc.invert(deleted)) if deleted is not None else rows


def delete_flag_sql(mode: Merge) -> str:
    """SQL (over the merge source) that is true for rows deleted at the source."""
    assert mode.delete_column is not None
    column = f"{SOURCE_ALIAS}.{quote_ident(mode.delete_column)}"
    return f"(coalesce(CAST({column} AS BOOLEAN), FALSE))"
