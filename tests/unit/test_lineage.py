"""Lineage columns: appended to every batch, streamed, counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.lineage import LINEAGE_COLUMNS, lineage_fields, with_lineage
from tests.unit._child import child_output

LOADED_AT = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def _reader(batches: list[pa.RecordBatch], schema: pa.Schema = SCHEMA) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(schema, batches)


def _batch(start: int, n: int) -> pa.RecordBatch:
    return pa.record_batch(
        [pa.array(range(start, start + n), pa.int64()), pa.array([f"r{i}" for i in range(n)])],
        schema=SCHEMA,
    )


def test_appends_lineage_columns_with_types_and_values() -> None:
    counted = with_lineage(
        _reader([_batch(0, 3), _batch(3, 2)]),
        run_id="run-1",
        loaded_at=LOADED_AT,
        source="pg:public.orders",
    )
    table = counted.reader.read_all()
    assert table.schema.names == ["id", "name", *LINEAGE_COLUMNS]
    assert table.schema.field("_dl_run_id").type == pa.string()
    assert table.schema.field("_dl_loaded_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("_dl_source").type == pa.string()
    assert table.column("_dl_run_id").to_pylist() == ["run-1"] * 5
    assert table.column("_dl_loaded_at").to_pylist() == [LOADED_AT] * 5
    assert table.column("_dl_source").to_pylist() == ["pg:public.orders"] * 5
    assert table.column("id").to_pylist() == [0, 1, 2, 3, 4]
    assert counted.rows == 5
    assert counted.batches == 2
    assert counted.schema == table.schema
    assert [f.name for f in lineage_fields()] == list(LINEAGE_COLUMNS)


def test_batches_of_every_size_get_exactly_their_own_lineage_rows() -> None:
    # The constant columns are kept for the largest batch so far and sliced for smaller
    # ones: each batch, growing, shrinking or empty, must still get one value per row.
    sizes = [3, 7, 0, 2, 7, 12, 1]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    counted = with_lineage(
        _reader([_batch(s, n) for s, n in zip(starts, sizes, strict=True)]),
        run_id="run-9", loaded_at=LOADED_AT, source="pg:public.orders",
    )
    batches = list(counted.reader)
    assert [b.num_rows for b in batches] == sizes
    for batch in batches:
        batch.validate(full=True)
        for name, value in (("_dl_run_id", "run-9"), ("_dl_loaded_at", LOADED_AT),
                            ("_dl_source", "pg:public.orders")):
            assert len(batch.column(name)) == batch.num_rows
            assert batch.column(name).to_pylist() == [value] * batch.num_rows
    table = pa.Table.from_batches(batches)
    assert table.column("id").to_pylist() == list(range(sum(sizes)))
    assert counted.rows == sum(sizes)


def test_streams_one_batch_at_a_time_and_counts_only_what_passed() -> None:
    produced: list[int] = []

    def gen() -> Iterator[pa.RecordBatch]:
        for i in range(4):
            produced.append(i)
            yield _batch(i * 10, 10)

    counted = with_lineage(
        pa.RecordBatchReader.from_batches(SCHEMA, gen()),
        run_id="r",
        loaded_at=LOADED_AT,
        source="s",
    )
    assert produced == []
    assert counted.rows == 0
    first = counted.reader.read_next_batch()
    assert first.num_rows == 10
    # Lazy: only the first source batch has been pulled.
    assert produced == [0]
    assert counted.rows == 10
    rest = list(counted.reader)
    assert len(rest) == 3
    assert counted.rows == 40


def test_loaded_at_is_converted_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=plus_two)
    counted = with_lineage(_reader([_batch(0, 1)]), run_id="r", loaded_at=local, source="s")
    value = counted.reader.read_all().column("_dl_loaded_at")[0].as_py()
    assert value == LOADED_AT
    assert value.utcoffset() == timedelta(0)


def test_naive_loaded_at_is_refused() -> None:
    with pytest.raises(ConfigError, match="no timezone"):
        with_lineage(_reader([]), run_id="r", loaded_at=datetime(2024, 1, 1), source="s")


@pytest.mark.parametrize("clash", ["_dl_run_id", "_DL_SOURCE", "_dl_loaded_at"])
def test_source_with_lineage_column_is_refused(clash: str) -> None:
    schema = pa.schema([("id", pa.int64()), (clash, pa.string())])
    with pytest.raises(ConfigError, match=clash) as info:
        with_lineage(_reader([], schema), run_id="r", loaded_at=LOADED_AT, source="pg:t")
    assert "pg:t" in str(info.value)


def test_empty_source_keeps_schema_and_counts_zero() -> None:
    counted = with_lineage(_reader([]), run_id="r", loaded_at=LOADED_AT, source="s")
    table = counted.reader.read_all()
    assert table.num_rows == 0
    assert table.schema.names == ["id", "name", *LINEAGE_COLUMNS]
    assert counted.rows == 0


def test_exports_arrow_stream_capsule() -> None:
    counted = with_lineage(_reader([_batch(0, 2)]), run_id="r", loaded_at=LOADED_AT, source="s")
    table = pa.table(counted)
    assert table.num_rows == 2
    assert counted.rows == 2


def test_lineage_does_not_import_pandas() -> None:
    # pa.scalar() on Python objects imports pandas (over a second) when it is installed;
    # the lineage columns are built from raw buffers to keep that off the load path.
    code = (
        "import datetime, struct, sys\n"
        "import pyarrow as pa\n"
        "from dataloader_sdk.lineage import with_lineage\n"
        "ids = pa.Array.from_buffers(pa.int64(), 1, [None, pa.py_buffer(struct.pack('<q', 7))])\n"
        "batch = pa.RecordBatch.from_arrays([ids], names=['a'])\n"
        "reader = pa.RecordBatchReader.from_batches(batch.schema, [batch])\n"
        "counted = with_lineage(reader, run_id='r1', source='x',\n"
        "    loaded_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))\n"
        "table = counted.reader.read_all()\n"
        "print(table.num_rows, table.column('_dl_run_id').chunk(0)[0], 'pandas' in sys.modules)\n"
    )
    out = child_output(code)
    assert out.split() == ["1", "r1", "False"], out
