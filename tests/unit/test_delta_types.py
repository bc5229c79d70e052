"""Arrow types Delta cannot store are converted the same way for every engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from dataloader_sdk.delta_types import delta_compatible, delta_type


def test_types_delta_lacks_are_mapped() -> None:
    assert delta_type(pa.time64("us")) == pa.string()
    assert delta_type(pa.time32("s")) == pa.string()
    assert delta_type(pa.uint8()) == pa.int16()
    assert delta_type(pa.uint32()) == pa.int64()
    assert delta_type(pa.uint64()) == pa.decimal128(20, 0)
    assert delta_type(pa.duration("ms")) == pa.int64()
    assert delta_type(pa.null()) == pa.string()
    for kept in (pa.int64(), pa.decimal128(38, 9), pa.timestamp("us", "UTC"), pa.string()):
        assert delta_type(kept) == kept


def test_conversion_is_exact_streaming_and_writable(tmp_path: Path) -> None:
    schema = pa.schema([("t", pa.time64("us")), ("u", pa.uint64()), ("d", pa.duration("ms")),
                        ("n", pa.null()), ("k", pa.int64())])
    batch = pa.record_batch([
        pa.array([dt.time(23, 59, 59, 999999), None], pa.time64("us")),
        pa.array([2**64 - 1, 0], pa.uint64()),
        pa.array([dt.timedelta(seconds=1, milliseconds=5), None], pa.duration("ms")),
        pa.array([None, None], pa.null()),
        pa.array([1, 2]),
    ], schema=schema)
    reader = delta_compatible(pa.RecordBatchReader.from_batches(schema, [batch, batch]))
    table = reader.read_all()
    assert table.num_rows == 4
    assert table["t"].to_pylist()[:2] == ["23:59:59.999999", None]
    assert str(table["u"][0].as_py()) == "18446744073709551615"
    assert table["d"].to_pylist()[:2] == [1_005_000, None]
    write_deltalake(str(tmp_path), table)  # Delta accepts every converted type
    assert DeltaTable(str(tmp_path)).to_pyarrow_table().num_rows == 4


def test_a_reader_that_needs_nothing_is_passed_through() -> None:
    schema = pa.schema([("k", pa.int64())])
    reader = pa.RecordBatchReader.from_batches(schema, [])
    assert delta_compatible(reader) is reader
