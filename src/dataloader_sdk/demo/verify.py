"""Does a Delta table hold exactly what the source holds?

The source rows are read with :mod:`sqlite3` (not through the loader, so a connector bug
cannot hide itself), turned into Arrow columns and cast to the Delta table's column types;
then both sides are rendered column by column as text by Arrow and hashed per row. The
table checksum is the sum of the row hashes modulo 2**128: it ignores row order (Delta
files have none) but counts duplicates (a replayed append would show). The ``_dl_*``
lineage columns the loader adds are not source data and are left out.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["LINEAGE_PREFIX", "Fingerprint", "compare", "fingerprint", "read_source"]

LINEAGE_PREFIX = "_dl_"
_MOD = 1 << 128
_NULL = "\x00"
_SEP = "\x1f"

# Static statements per demo table: identifiers are never pasted into SQL at run time.
_SOURCE_QUERIES = {
    "customers": "SELECT * FROM customers",
    "orders": "SELECT * FROM orders",
    "events": "SELECT * FROM events",
    "countries": "SELECT * FROM countries",
}


@dataclass(frozen=True)
class Fingerprint:
    """Row count, column names and order-independent content checksum of a table."""

    rows: int
    columns: tuple[str, ...]
    checksum: int

    @property
    def short(self) -> str:
        """The first 12 hex digits of the checksum, for display."""
        return f"{self.checksum:032x}"[:12]


def read_source(path: Path, table: str) -> pa.Table:
    """A demo table of the SQLite source as Arrow, with the types sqlite3 returned."""
    import pyarrow as pa

    conn = sqlite3.connect(path)
    try:
        cursor = conn.execute(_SOURCE_QUERIES[table])
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        conn.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({name: pa.array(list(values)) for name, values in zip(names, columns,
                                                                           strict=True)})


def _as_type(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """``column`` cast to ``target``; naive text timestamps are taken to be UTC."""
    import pyarrow as pa

    if column.type == target:
        return column
    if pa.types.is_timestamp(target) and target.tz is not None:
        # Arrow refuses to parse offset-less text straight into an aware type; parse it as
        # naive first, then attach UTC (the demo writes UTC wall times).
        return column.cast(pa.timestamp(target.unit)).cast(target)
    return column.cast(target)


def fingerprint(data: pa.Table, types: pa.Schema | None = None) -> Fingerprint:
    """Fingerprint ``data`` without its ``_dl_*`` columns.

    Args:
        data: the table.
        types: cast columns to these types first (by name), so a source read with
            sqlite3's loose types compares with the Delta table's exact ones.

    Raises:
        pyarrow.ArrowInvalid: a value cannot be cast (the two sides cannot match).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = sorted(n for n in data.column_names if not n.startswith(LINEAGE_PREFIX))
    texts: list[pa.ChunkedArray] = []
    for name in names:
        column = data.column(name)
        if types is not None and name in types.names:
            column = _as_type(column, types.field(name).type)
        texts.append(pc.fill_null(column.cast(pa.string()), _NULL))
    total = 0
    if texts:
        joined = pc.binary_join_element_wise(*texts, _SEP)
        for row in joined.to_pylist():
            digest = hashlib.blake2b(row.encode(), digest_size=16).digest()
            total += int.from_bytes(digest, "big")
    return Fingerprint(rows=data.num_rows, columns=tuple(names), checksum=total % _MOD)


def compare(source_db: Path, table: str, target: pa.Table) -> tuple[Fingerprint, Fingerprint]:
    """Fingerprints of the source table (in the target's types) and of the Delta table."""
    import pyarrow as pa

    source = read_source(source_db, table)
    try:
        src = fingerprint(source, target.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Types that cannot be reconciled: compare as text, which will show the difference.
        src = fingerprint(source)
    return src, fingerprint(target)
