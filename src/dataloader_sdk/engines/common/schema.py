"""Schema evolution rules for writes that keep the existing table schema.

delta-rs with ``schema_mode="merge"`` adds new columns, but it also *silently casts*
incoming columns to the table's type (deltalake 1.6 appends the string ``'2'`` into a
``long`` column as 2 and a naive timestamp into a UTC one). A changed source type is a
schema change someone must decide about, so it is checked here first and refused.

Allowed without a decision: identical types (after normalising Arrow's storage variants,
e.g. ``large_string`` = ``string``, any timestamp unit = microseconds as Delta stores),
and lossless widening into the existing column (a narrower integer or float, or a
decimal with the same scale and smaller precision).
"""

from __future__ import annotations

import pyarrow as pa

from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import TargetName

__all__ = ["check_compatible", "new_columns", "normalize_type"]


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The Delta-relevant form of an Arrow type (storage variants folded together)."""
    if pa.types.is_dictionary(t):
        return normalize_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        # Delta stores microseconds; a zone means "an instant", which Delta keeps in UTC.
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_large_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        return pa.list_(normalize_type(t.value_type))
    if pa.types.is_list(t):
        return pa.list_(normalize_type(t.value_type))
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        return pa.struct([pa.field(f.name, normalize_type(f.type)) for f in fields])
    if pa.types.is_map(t):
        return pa.map_(normalize_type(t.key_type), normalize_type(t.item_type))
    return t


def _widens(old: pa.DataType, new: pa.DataType) -> bool:
    """Whether values of ``new`` fit losslessly into an existing ``old`` column."""
    if pa.types.is_signed_integer(old) and pa.types.is_signed_integer(new):
        return bool(new.bit_width <= old.bit_width)
    if pa.types.is_floating(old) and pa.types.is_floating(new):
        return bool(new.bit_width <= old.bit_width)
    if pa.types.is_decimal(old) and pa.types.is_decimal(new):
        return bool(new.scale == old.scale and new.precision <= old.precision)
    return False


def check_compatible(target: TargetName, table_schema: pa.Schema, source: pa.Schema) -> None:
    """Refuse a write whose existing columns changed type.

    Raises:
        DestinationError: naming the table, column, old and new type, and what to do.
    """
    existing = {f.name.lower(): f for f in table_schema}
    problems: list[str] = []
    for fld in source:
        old_field = existing.get(fld.name.lower())
        if old_field is None:
            continue
        old, new = normalize_type(old_field.type), normalize_type(fld.type)
        if old == new or _widens(old, new):
            continue
        problems.append(
            f"column {old_field.name!r} is {old} in the Delta table but the source now "
            f"delivers {new}"
        )
    if problems:
        raise DestinationError(
            f"table {target}: " + "; ".join(problems) + ". Delta cannot change a column's "
            "type in place and dataloader does not cast silently. Cast the column back to "
            "its old type in the source query (or fix the connector's type map), or rebuild "
            "the table with a full load (Overwrite replaces the schema). Nothing was written."
        )


def new_columns(table_schema: pa.Schema, source: pa.Schema) -> list[str]:
    """Source columns the table does not have yet (schema evolution will add them)."""
    existing = {name.lower() for name in table_schema.names}
    return [name for name in source.names if name.lower() not in existing]
