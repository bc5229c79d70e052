"""``connectors/packed.py``: Python values packed into Arrow buffers, against pyarrow.array.

The reference here is ``pyarrow.array`` itself (this test may import pandas; the module
under test must not, which a child interpreter checks).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.packed import packed_array
from tests.unit._child import child_output

PLUS_5_30 = timezone(timedelta(hours=5, minutes=30))

CASES: list[tuple[pa.DataType, list[Any]]] = [
    (pa.int16(), [-32768, None, 32767, 0]),
    (pa.int32(), [-2**31, 2**31 - 1, None]),
    (pa.int64(), [-2**63, 2**63 - 1, None, 0]),
    (pa.float32(), [1.5, float("nan"), float("-inf"), -0.0, 3.4028234663852886e38, None]),
    (pa.float64(), [0.1, float("inf"), -0.0, 5e-324, 1.7976931348623157e308, None]),
    (pa.bool_(), [True, False, None, True, True, False, True, False, True, None]),
    (pa.string(), ["", "ünïcødé ☃ 𝄞", None, "a" * 1000]),
    (pa.binary(), [b"", b"\x00\xff", None]),
    (pa.date32(), [date(1, 1, 1), date(1969, 12, 31), date(9999, 12, 31), None]),
    (pa.time64("us"), [time(0), time(23, 59, 59, 999999), None]),
    (pa.timestamp("us"), [datetime(1, 1, 1), datetime(1969, 12, 31, 23, 59, 59, 999999),
                          datetime(9999, 12, 31, 23, 59, 59, 999999), None]),
    (pa.timestamp("us", tz="UTC"), [
        datetime(1, 1, 1, tzinfo=timezone.utc), datetime(2024, 2, 29, 23, 59, 59, 999999,
                                                          tzinfo=PLUS_5_30),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc), None]),
]


@pytest.mark.parametrize(("arrow_type", "values"), CASES, ids=[str(t) for t, _ in CASES])
def test_packs_what_pyarrow_builds(arrow_type: pa.DataType, values: list[Any]) -> None:
    got = packed_array(values, arrow_type)
    expected = pa.array(values, type=arrow_type)
    assert got is not None
    got.validate(full=True)
    assert got.type == expected.type
    assert got.null_count == expected.null_count
    # Compared as integers/bytes where NaN would make == fail.
    if pa.types.is_floating(arrow_type):
        width = pa.int32() if arrow_type == pa.float32() else pa.int64()
        assert got.view(width).to_pylist() == expected.view(width).to_pylist()
    else:
        assert got.to_pylist() == expected.to_pylist()


def test_every_value_fits_all_nulls_and_empty() -> None:
    assert packed_array([None, None], pa.int64()).to_pylist() == [None, None]  # type: ignore[union-attr]
    assert packed_array([], pa.string()).to_pylist() == []  # type: ignore[union-attr]


@pytest.mark.parametrize(("arrow_type", "value"), [
    (pa.int64(), True),          # bool is an int subclass, never an int column's value
    (pa.int64(), 1.0),
    (pa.float64(), 1),           # an int is not packed as a float
    (pa.bool_(), 1),
    (pa.int16(), 40000),         # does not fit
    (pa.date32(), datetime(2020, 1, 1)),  # a datetime is a date subclass
    (pa.timestamp("us"), datetime(2020, 1, 1, tzinfo=timezone.utc)),
    (pa.timestamp("us", tz="UTC"), datetime(2020, 1, 1)),
    (pa.timestamp("us", tz="Europe/Paris"), datetime(2020, 1, 1, tzinfo=timezone.utc)),
    (pa.timestamp("ns"), datetime(2020, 1, 1)),
    (pa.time64("us"), time(1, tzinfo=timezone.utc)),
    (pa.string(), b"bytes"),
    (pa.string(), "\ud800"),     # a lone surrogate has no UTF-8
    (pa.binary(), "text"),
    (pa.decimal128(5, 2), 1),    # not a packed type
])
def test_refuses_what_it_cannot_pack_exactly(arrow_type: pa.DataType, value: Any) -> None:
    assert packed_array([value], arrow_type) is None


def test_never_imports_pandas() -> None:
    code = (
        "import sys, datetime as d, pyarrow as pa\n"
        "from dataloader_sdk.connectors.packed import packed_array\n"
        "packed_array([1, None], pa.int64()); packed_array(['a'], pa.string())\n"
        "packed_array([d.datetime(2020, 1, 1, tzinfo=d.timezone.utc)],"
        " pa.timestamp('us', tz='UTC'))\n"
        "print('pandas' in sys.modules)\n"
    )
    assert child_output(code).strip() == "False"
