"""Leaving re-read boundary rows out of a merge (``_boundary_skip.py``).

The skip may only drop rows whose merge is a no-op: the multiset the last commit merged,
proved by its digest. Everything else must reach the writer, held rows after the others.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dataloader_sdk._boundary import BoundaryTap, digest_rows
from dataloader_sdk._boundary_skip import BoundarySkip, arrow_scalar
from dataloader_sdk.model import BoundaryRule, Column, Watermark

SCHEMA = pa.schema([("id", pa.int64()), ("cur", pa.int64()), ("val", pa.string())])
Row = tuple[int, int | None, str]


def _batch(rows: list[Row]) -> pa.RecordBatch:
    ids, curs, vals = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.RecordBatch.from_arrays(
        [pa.array(ids, pa.int64()), pa.array(curs, pa.int64()), pa.array(vals, pa.string())],
        schema=SCHEMA)


def _digest(rows: list[Row]) -> str:
    return digest_rows(SCHEMA, [_batch(rows)])


def _through(skip: BoundarySkip, *batches: list[Row]) -> list[Row]:
    reader = pa.RecordBatchReader.from_batches(SCHEMA, [_batch(b) for b in batches])
    table = skip.wrap(reader).read_all()
    return list(zip(*(table.column(n).to_pylist() for n in SCHEMA.names), strict=True))


def _rule(merged: list[Row], up_to: int = 5) -> BoundaryRule:
    return BoundaryRule(Column("cur"), merged_up_to=Watermark.of(up_to),
                        merged_digest=_digest(merged))


AT_W: list[Row] = [(1, 5, "a"), (2, 5, "b")]


def test_rows_the_last_commit_merged_are_dropped_wherever_they_arrive() -> None:
    skip = BoundarySkip(_rule(AT_W))
    out = _through(skip, [(3, 6, "c"), (2, 5, "b")], [(1, 5, "a"), (4, 7, "d")])
    assert out == [(3, 6, "c"), (4, 7, "d")]
    assert skip.dropped == 2


@pytest.mark.parametrize("change", ["tie", "updated", "missing", "late_in_lookback"])
def test_any_difference_at_the_boundary_merges_every_row(change: str) -> None:
    at_w = {"tie": [*AT_W, (9, 5, "new")],
            "updated": [(1, 5, "a"), (2, 5, "b!")],
            "missing": [(1, 5, "a")],
            "late_in_lookback": [*AT_W, (9, 4, "late")]}[change]
    skip = BoundarySkip(_rule(AT_W))
    out = _through(skip, [(3, 6, "c"), *at_w])
    # Held rows follow the others: a Merge lets the greatest cursor win, not the order.
    assert sorted(out) == sorted([(3, 6, "c"), *at_w]) and out[0] == (3, 6, "c")
    assert skip.dropped == 0


def test_null_cursors_are_never_held_and_too_many_rows_stop_holding() -> None:
    skip = BoundarySkip(_rule(AT_W))
    assert _through(skip, [(7, None, "n"), *AT_W]) == [(7, None, "n")]
    many = [(i, 5, "x") for i in range(10)]
    skip = BoundarySkip(_rule(many), limit=4)
    assert sorted(_through(skip, many[:3], many[3:], [(99, 6, "y")])) == \
        sorted([*many, (99, 6, "y")])
    assert skip.dropped == 0


def test_an_incomparable_cursor_merges_everything() -> None:
    rule = BoundaryRule(Column("cur"), merged_up_to=Watermark.of("5"),
                        merged_digest=_digest(AT_W))
    skip = BoundarySkip(rule)
    assert _through(skip, AT_W, [(3, 6, "c")]) == [*AT_W, (3, 6, "c")]
    assert skip.dropped == 0


def test_without_a_last_commit_the_reader_passes_untouched() -> None:
    reader = pa.RecordBatchReader.from_batches(SCHEMA, [_batch(AT_W)])
    for rule in (None, BoundaryRule(Column("cur")), BoundaryRule(Column("cur"), known="d")):
        skip = BoundarySkip(rule)
        assert not skip.active and skip.wrap(reader) is reader
    assert BoundaryTap(None).wrap(reader) is reader and BoundaryTap(None).digest() is None


ZONED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
NAIVE = ZONED.replace(tzinfo=None)


@pytest.mark.parametrize(("value", "kind", "expected"), [
    (5, pa.int64(), 5),
    (-5, pa.int16(), -5),
    (5, pa.uint32(), 5),
    (Decimal("12.50"), pa.decimal128(10, 2), Decimal("12.50")),
    (12, pa.decimal128(10, 2), Decimal("12.00")),
    (Decimal("-3.1"), pa.decimal256(40, 3), Decimal("-3.100")),
    (ZONED, pa.timestamp("us", tz="UTC"), ZONED),
    (ZONED, pa.timestamp("ns", tz="UTC"), ZONED),
    (NAIVE, pa.timestamp("us"), NAIVE),
    (NAIVE, pa.timestamp("ms"), NAIVE.replace(microsecond=123000)),  # floor: a row at W
    (date(2024, 5, 6), pa.date32(), date(2024, 5, 6)),
    ("ab€", pa.string(), "ab€"),
    ("ab€", pa.large_string(), "ab€"),
])
def test_a_watermark_becomes_the_arrow_scalar_of_the_cursor_type(
    value: int | Decimal | datetime | date | str, kind: pa.DataType, expected: object,
) -> None:
    scalar = arrow_scalar(Watermark.of(value), kind)
    assert scalar is not None and scalar.type == kind
    assert pc.equal(scalar, pa.scalar(expected, kind)).as_py() is True


@pytest.mark.parametrize(("value", "kind"), [
    (ZONED, pa.timestamp("us")),                  # zoned value, naive column
    (NAIVE, pa.timestamp("us", tz="UTC")),        # and the reverse
    (Decimal("1.005"), pa.decimal128(10, 2)),     # not exact at the column's scale
    (300, pa.int8()),                             # out of range
    (-1, pa.uint8()),
    (5, pa.float64()),                            # no exact counterpart
    (ZONED, pa.date32()),
    ("5", pa.int64()),
])
def test_a_watermark_without_an_exact_arrow_counterpart_gives_none(
    value: int | Decimal | datetime | str, kind: pa.DataType,
) -> None:
    assert arrow_scalar(Watermark.of(value), kind) is None


def test_the_skip_over_a_zoned_cursor_never_imports_pandas() -> None:
    code = """
import struct, sys
from datetime import datetime, timezone
import pyarrow as pa
from dataloader_sdk._boundary import digest_rows
from dataloader_sdk._boundary_skip import BoundarySkip
from dataloader_sdk.model import BoundaryRule, Column, Watermark

def ints(*values, kind=pa.int64()):
    buf = pa.py_buffer(struct.pack(f"<{len(values)}q", *values))
    return pa.Array.from_buffers(pa.int64(), len(values), [None, buf]).view(kind)

zoned = pa.timestamp("us", tz="UTC")
at_w = pa.RecordBatch.from_arrays([ints(1), ints(10**15, kind=zoned)], names=["id", "cur"])
new = pa.RecordBatch.from_arrays([ints(2), ints(2 * 10**15, kind=zoned)], names=["id", "cur"])
mark = Watermark.of(datetime.fromtimestamp(10**9, tz=timezone.utc))
skip = BoundarySkip(BoundaryRule(Column("cur"), merged_up_to=mark,
                                 merged_digest=digest_rows(at_w.schema, [at_w])))
out = skip.wrap(pa.RecordBatchReader.from_batches(at_w.schema, [at_w, new])).read_all()
assert out.num_rows == 1 and skip.dropped == 1, (out, skip.dropped)
assert "pandas" not in sys.modules, "the skip imported pandas"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
