"""The boundary digest (``_boundary.py``): what it keeps, when it gives up, when it is valid."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from dataloader_sdk._boundary import (
    BoundaryTap,
    digest_rows,
    known_digest,
    peek_digest,
    with_digest,
)
from dataloader_sdk.model import BoundaryRule, Coalesce, Column, TableState, Watermark
from dataloader_sdk.strategies.incremental import IncrementalStrategy
from tests.unit.test_strategies import plan

SCHEMA = pa.schema([("id", pa.int64()), ("cur", pa.int64()), ("val", pa.string())])


def _batch(rows: list[tuple[int, int | None, str]]) -> pa.RecordBatch:
    ids, curs, vals = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.RecordBatch.from_arrays(
        [pa.array(ids, pa.int64()), pa.array(curs, pa.int64()), pa.array(vals, pa.string())],
        schema=SCHEMA)


def _reader(*batches: list[tuple[int, int | None, str]]) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(SCHEMA, [_batch(b) for b in batches])


def _tap_digest(rule: BoundaryRule, *batches: list[tuple[int, int | None, str]],
                limit: int = 1000) -> str | None:
    tap = BoundaryTap(rule, limit=limit)
    tap.wrap(_reader(*batches)).read_all()
    return tap.digest()


def _digest(rows: list[tuple[int, int | None, str]]) -> str:
    return digest_rows(SCHEMA, [_batch(rows)])


def test_the_tap_keeps_the_rows_within_the_lookback_of_the_maximum_in_any_order() -> None:
    rule = BoundaryRule(Column("cur"), lookback=2)
    got = _tap_digest(rule, [(1, 9, "a"), (2, 3, "b")], [(3, 10, "c"), (4, None, "n")],
                      [(5, 7, "d"), (6, 8, "e")])
    # Cursor >= 10 - 2: rows 1, 3, 6; the NULL cursor and the rows below 8 are not kept.
    assert got == _digest([(6, 8, "e"), (3, 10, "c"), (1, 9, "a")])
    assert got != _digest([(6, 8, "e"), (3, 10, "c"), (1, 9, "a"), (5, 7, "d")])


def test_without_lookback_only_the_rows_tied_at_the_maximum_count() -> None:
    got = _tap_digest(BoundaryRule(Column("cur")), [(1, 5, "a"), (2, 5, "b"), (3, 4, "c")])
    assert got == _digest([(2, 5, "b"), (1, 5, "a")])


def test_the_digest_is_a_multiset_of_whole_rows() -> None:
    base = _digest([(1, 5, "a"), (2, 5, "b")])
    assert base == _digest([(2, 5, "b"), (1, 5, "a")])
    assert base != _digest([(1, 5, "a"), (2, 5, "b"), (2, 5, "b")])  # a duplicate
    assert base != _digest([(1, 5, "a"), (2, 5, "B")])  # a changed value, same cursor


def test_a_coalesce_cursor_and_a_timestamp_lookback() -> None:
    schema = pa.schema([("a", pa.timestamp("us", tz="UTC")), ("b", pa.timestamp("us", tz="UTC"))])
    t = datetime(2026, 11, 1, 10, tzinfo=timezone.utc)
    batch = pa.RecordBatch.from_arrays([
        pa.array([None, t - timedelta(hours=3), None], schema.field("a").type),
        pa.array([t, t, t - timedelta(minutes=30)], schema.field("b").type),
    ], schema=schema)
    tap = BoundaryTap(BoundaryRule(Coalesce(("a", "b")), lookback=timedelta(hours=1)))
    tap.wrap(pa.RecordBatchReader.from_batches(schema, [batch])).read_all()
    assert tap.digest() == digest_rows(schema, [batch.filter(pa.array([True, False, True]))])


def test_the_tap_gives_up_rather_than_guess() -> None:
    # Too many rows at the boundary, and a time lookback on an integer cursor.
    assert _tap_digest(BoundaryRule(Column("cur")), [(i, 1, "x") for i in range(5)],
                       limit=4) is None
    assert _tap_digest(BoundaryRule(Column("cur"), lookback=timedelta(hours=1)),
                       [(1, 1, "x")]) is None
    tap = BoundaryTap(BoundaryRule(Column("cur")))
    reader = tap.wrap(_reader([(1, 1, "x")], [(2, 2, "y")]))
    reader.read_next_batch()
    assert tap.digest() is None  # the read did not reach its end


def test_peek_digest_holds_at_most_the_limit() -> None:
    held, digest = peek_digest(_reader([(1, 1, "a")], [(2, 1, "b")]), limit=10)
    assert digest == _digest([(1, 1, "a"), (2, 1, "b")]) and len(held) == 2
    held, digest = peek_digest(_reader([(1, 1, "a")], [(2, 1, "b")], [(3, 1, "c")]), limit=1)
    assert digest is None and len(held) == 2


@pytest.mark.parametrize("change", ["txn_version", "watermark"])
def test_a_digest_is_only_valid_for_the_commit_it_was_kept_for(change: str) -> None:
    state = with_digest(TableState(Watermark.of(5), txn_version=3, extra={"x": 1}), "d1")
    assert known_digest(state) == "d1" and state.extra["x"] == 1
    stale = (state.with_(txn_version=4) if change == "txn_version"
             else state.with_(watermark=Watermark.of(6)))
    assert known_digest(stale) is None
    assert "boundary" not in with_digest(state, None).extra
    assert known_digest(TableState.from_json(state.to_json())) == "d1"


def test_incremental_asks_for_the_comparison_only_when_the_upper_bound_is_the_watermark() -> None:
    options = {"watermark_column": "cur", "primary_keys": ["id"], "lookback": 2}
    state = with_digest(TableState(Watermark.of(10), txn_version=3, extra={"x": 1}), "d1")
    (step,) = plan(IncrementalStrategy(), options, state, upper=10).steps
    assert step.boundary == BoundaryRule(Column("cur"), 2, known="d1")
    # The state after the step carries no digest: the runner adds the new one.
    assert known_digest(step.state_after) is None and step.state_after.extra == {"x": 1}
    (newer,) = plan(IncrementalStrategy(), options, state, upper=11).steps
    assert newer.boundary is not None and newer.boundary.known is None
    # Above the watermark, the rows re-read at it may be left out of the merge.
    assert (newer.boundary.merged_up_to, newer.boundary.merged_digest) == (Watermark.of(10), "d1")
    stale = state.with_(txn_version=4)  # a digest copied forward is never trusted
    (step,) = plan(IncrementalStrategy(), options, stale, upper=10).steps
    assert step.boundary is not None and step.boundary.known is None
    (step,) = plan(IncrementalStrategy(), options, stale, upper=11).steps
    assert step.boundary is not None and step.boundary.merged_up_to is None
