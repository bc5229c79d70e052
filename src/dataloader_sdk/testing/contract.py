"""The connector-contract check: the documented rules of a connector, one check each.

A plugin author runs it against their connector factory and a :class:`ContractSource`
(a way to make tables in their database)::

    import pytest
    from dataloader_sdk.testing import CONTRACT_CHECKS, run_contract_check

    @pytest.mark.parametrize("check", CONTRACT_CHECKS)
    def test_my_connector_keeps_the_contract(check, my_contract_source):
        run_contract_check(check, MyConnectorFactory(), my_contract_source)

The checks (``docs/plugins.md`` states each rule):

* ``type_map``: for every shape of :data:`~dataloader_sdk.testing.shapes.SHAPES`, the
  reader's schema is the Arrow types :meth:`Connector.columns` declares, every batch has
  that schema, and the values come back as written (quoted names included).
* ``empty_schema``: an empty table and a read no row matches still carry that schema.
* ``bounded_memory``: a read of many rows never holds them all (Arrow memory pool and
  Python allocations measured while the batches stream; generous bounds).
* ``probe_precision``: MaxOf/MinOf of a timestamp keep its microseconds, of a decimal its
  value and scale; RowCount is an ``int``; the max of no rows is ``None``.
* ``error_classes``: a missing table is a ``SourcePermanentError`` from ``columns``,
  ``probe`` and ``read``.
* ``released_after_crash``: a reader abandoned mid-stream and then ``close()`` leave no
  cursor, connection or file open at the source (the source's ``open_handles`` hook).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from dataloader_sdk.connectors.base import Connector, ConnectorFactory
from dataloader_sdk.errors import SourcePermanentError
from dataloader_sdk.model import Column, Compare, MaxOf, MinOf, RowCount, Select, SourceObject
from dataloader_sdk.testing.contract_sources import ContractSource
from dataloader_sdk.testing.shapes import SHAPES, TableShape, shape

__all__ = ["CONTRACT_CHECKS", "ContractSkipped", "check_connector", "run_contract_check"]

#: The names of the checks, in the order :func:`check_connector` runs them.
CONTRACT_CHECKS: tuple[str, ...] = (
    "type_map", "empty_schema", "bounded_memory", "probe_precision", "error_classes",
    "released_after_crash",
)

_MANY_ROWS = 40_000
_SMALL_BATCH = 500


class ContractSkipped(Exception):
    """A check that cannot run on this source (its ``open_handles`` answers ``None``)."""


def check_connector(
    factory: ConnectorFactory, source: ContractSource, *,
    skip: Mapping[str, str] | None = None,
) -> list[str]:
    """Run every check; raise one ``AssertionError`` listing every failed rule.

    Args:
        factory: the connector factory under test.
        source: makes the tables the checks read.
        skip: checks not to run, each with the reason (shown in the result).

    Returns:
        The checks that were skipped, each with its reason.
    """
    failures: list[str] = []
    skipped = [f"{name}: {why}" for name, why in (skip or {}).items()]
    for name in CONTRACT_CHECKS:
        if name in (skip or {}):
            continue
        try:
            run_contract_check(name, factory, source)
        except ContractSkipped as exc:
            skipped.append(f"{name}: {exc}")
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise AssertionError(f"connector on {source.name} breaks the contract:\n  "
                             + "\n  ".join(failures))
    return skipped


def run_contract_check(name: str, factory: ConnectorFactory, source: ContractSource) -> None:
    """Run one check of :data:`CONTRACT_CHECKS`.

    Raises:
        AssertionError: the connector breaks the rule (the message says how).
        ContractSkipped: the check cannot run on this source.
        KeyError: no such check.
    """
    checks: dict[str, Callable[[ConnectorFactory, ContractSource], None]] = {
        "type_map": _type_map, "empty_schema": _empty_schema,
        "bounded_memory": _bounded_memory, "probe_precision": _probe_precision,
        "error_classes": _error_classes, "released_after_crash": _released_after_crash,
    }
    checks[name](factory, source)


@contextmanager
def _table(source: ContractSource, table_shape: TableShape,
           rows: list[tuple[object, ...]]) -> Iterator[SourceObject]:
    obj = source.create_table(table_shape, rows)
    try:
        yield obj
    finally:
        source.drop_table(obj)


@contextmanager
def _connector(factory: ConnectorFactory, source: ContractSource) -> Iterator[Connector]:
    conn = factory.open(source.source_config(), source.secret())
    try:
        yield conn
    finally:
        conn.close()


def _same_instant(got: object, want: object) -> bool:
    """Timestamps equal to the microsecond; an aware answer is read as UTC wall time."""
    if isinstance(got, datetime) and isinstance(want, datetime):
        if got.tzinfo is not None:
            got = got.astimezone(timezone.utc).replace(tzinfo=None)
        return got == want
    return got == want


def _declared(conn: Connector, obj: SourceObject) -> dict[str, Any]:
    return {c.name: c.arrow_type for c in conn.columns(obj)}


def _type_map(factory: ConnectorFactory, source: ContractSource) -> None:
    for table_shape in SHAPES:
        rows = table_shape.rows(40)
        with _table(source, table_shape, rows) as obj, _connector(factory, source) as conn:
            declared = _declared(conn, obj)
            assert tuple(declared) == table_shape.names, (
                f"{table_shape.id}: columns() gave {tuple(declared)}, the table has "
                f"{table_shape.names}")
            reader = conn.read(Select(obj), batch_rows=16)
            types = {f.name: f.type for f in reader.schema}
            assert types == declared, (
                f"{table_shape.id}: the reader's schema {types} is not the declared "
                f"type map {declared}")
            got: list[tuple[object, ...]] = []
            for batch in reader:
                assert batch.schema.equals(reader.schema), (
                    f"{table_shape.id}: a batch's schema {batch.schema} differs from the "
                    f"reader's {reader.schema}")
                got.extend(zip(*(batch.column(n).to_pylist() for n in table_shape.names),
                               strict=True))
            _assert_rows(table_shape, sorted(got, key=_sort_key), rows)
            wanted = (table_shape.names[-1], table_shape.names[0])
            part = conn.read(Select(obj, columns=wanted), batch_rows=16)
            assert {f.name: f.type for f in part.schema} == {n: declared[n] for n in wanted}, (
                f"{table_shape.id}: reading columns {wanted} gave {part.schema}")
            part.read_all()


def _sort_key(row: tuple[object, ...]) -> Any:
    return repr(row[0]) if not isinstance(row[0], int) else f"{row[0]:020d}"


def _assert_rows(table_shape: TableShape, got: list[tuple[object, ...]],
                 want: list[tuple[object, ...]]) -> None:
    want = sorted(want, key=_sort_key)
    assert len(got) == len(want), f"{table_shape.id}: read {len(got)} rows of {len(want)}"
    for got_row, want_row in zip(got, want, strict=True):
        for column, g, w in zip(table_shape.columns, got_row, want_row, strict=True):
            ok = _same_instant(g, w) or (isinstance(w, float) and g == w)
            assert ok, (f"{table_shape.id}: column {column.name!r} ({column.kind}) read "
                        f"{g!r}, the table holds {w!r}")


def _empty_schema(factory: ConnectorFactory, source: ContractSource) -> None:
    keyed = shape("keyed")
    with _table(source, keyed, []) as empty, _table(source, keyed, keyed.rows(5)) as full, \
            _connector(factory, source) as conn:
        for obj, select, what in (
            (empty, Select(empty), "an empty table"),
            (full, Select(full, where=(Compare(Column("id"), ">", 10**9),)),
             "a read no row matches"),
        ):
            declared = _declared(conn, obj)
            table = conn.read(select).read_all()
            types = {f.name: f.type for f in table.schema}
            assert types == declared, (
                f"{what}: schema {types}, declared {declared} (an empty result keeps the "
                "type map)")
            assert table.num_rows == 0, f"{what}: read {table.num_rows} rows"


def _bounded_memory(factory: ConnectorFactory, source: ContractSource) -> None:
    import pyarrow as pa

    keyed = shape("keyed")
    with _table(source, keyed, keyed.rows(_MANY_ROWS)) as obj, \
            _connector(factory, source) as conn:
        conn.read(Select(obj), batch_rows=_SMALL_BATCH).read_next_batch()  # warm up imports
        arrow_base = pa.total_allocated_bytes()
        tracemalloc.start()
        try:
            total = arrow_peak = rows = 0
            for batch in conn.read(Select(obj), batch_rows=_SMALL_BATCH):
                total += batch.nbytes
                rows += batch.num_rows
                arrow_peak = max(arrow_peak, pa.total_allocated_bytes() - arrow_base)
                del batch
            python_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert rows == _MANY_ROWS, f"read {rows} of {_MANY_ROWS} rows"
    # A streaming read holds a few batches of 500 rows: far below half of 40,000 rows.
    assert arrow_peak <= total // 2, (
        f"the reader held {arrow_peak:,} bytes of Arrow memory for a {total:,}-byte "
        "result: it materialises the result instead of streaming it")
    assert python_peak <= max(3 * total, 8 << 20), (
        f"reading {total:,} bytes allocated {python_peak:,} bytes of Python objects at "
        "once: rows are fetched all at once instead of batch by batch")


def _probe_precision(factory: ConnectorFactory, source: ContractSource) -> None:
    keyed = shape("keyed")
    rows = keyed.rows(20)
    stamps = [r[3] for r in rows if isinstance(r[3], datetime)]
    amounts = [r[2] for r in rows if isinstance(r[2], Decimal)]
    with _table(source, keyed, rows) as obj, _connector(factory, source) as conn:
        for request, want in ((MaxOf(Column("changed_at")), max(stamps)),
                              (MinOf(Column("changed_at")), min(stamps))):
            got = conn.probe(obj, request)
            assert isinstance(got, datetime) and _same_instant(got, want), (
                f"{type(request).__name__}(changed_at) answered {got!r}, the column holds "
                f"{want!r} (timestamps keep their microseconds)")
        got = conn.probe(obj, MaxOf(Column("amount")))
        want_amount = max(amounts)
        assert isinstance(got, Decimal) and got == want_amount, (
            f"MaxOf(amount) answered {got!r}, the NUMERIC(18, 3) column holds "
            f"{want_amount!r} (a decimal probe answers a Decimal)")
        assert got.as_tuple().exponent == -3, (
            f"MaxOf(amount) answered {got!r}: the column's scale is 3")
        count = conn.probe(obj, RowCount())
        assert type(count) is int and count == 20, f"RowCount answered {count!r}, want 20"
        some = conn.probe(obj, RowCount(where=(Compare(Column("id"), ">=", 15),)))
        assert type(some) is int and some == 5, f"RowCount(id >= 15) answered {some!r}"
        nothing = conn.probe(obj, MaxOf(Column("id"), where=(Compare(Column("id"), ">", 99),)))
        assert nothing is None, f"MaxOf over no rows answered {nothing!r}, want None"


def _error_classes(factory: ConnectorFactory, source: ContractSource) -> None:
    keyed = shape("keyed")
    with _table(source, keyed, keyed.rows(3)) as obj, _connector(factory, source) as conn:
        missing = replace(obj, table=f"{obj.table}_missing")
        calls: tuple[tuple[str, Callable[[], object]], ...] = (
            ("columns()", lambda: conn.columns(missing)),
            ("probe(RowCount())", lambda: conn.probe(missing, RowCount())),
            ("read()", lambda: conn.read(Select(missing)).read_all()),
        )
        for what, call in calls:
            try:
                call()
            except SourcePermanentError:
                continue
            except Exception as exc:
                raise AssertionError(
                    f"{what} of a missing table raised {type(exc).__name__}: {exc}; the "
                    "rule is SourcePermanentError (retrying will not create the table)"
                ) from exc
            raise AssertionError(f"{what} of a missing table raised nothing")


def _released_after_crash(factory: ConnectorFactory, source: ContractSource) -> None:
    before = source.open_handles()
    if before is None:
        raise ContractSkipped("the source's open_handles() cannot count handles")
    keyed = shape("keyed")
    with _table(source, keyed, keyed.rows(5_000)) as obj:
        conn = factory.open(source.source_config(), source.secret())
        reader = conn.read(Select(obj), batch_rows=100)
        try:
            reader.read_next_batch()  # the load crashes here: the reader is never finished
            conn.close()
            after = _settled(source.open_handles, before)
        finally:
            # Whatever close() left behind goes now, so the table can still be dropped.
            del reader
            gc.collect()
        assert after is not None and after <= before, (
            f"after close() of a connector whose reader was abandoned mid-stream, "
            f"{after} handles are open at the source ({before} before it was opened): "
            "close() must release the cursor and connection of an unfinished read")


def _settled(count: Callable[[], int | None], target: int) -> int | None:
    """``count()`` once it is at most ``target``, or after two seconds (a server notices
    a closed session a moment later)."""
    deadline = time.monotonic() + 2.0
    value = count()
    while value is not None and value > target and time.monotonic() < deadline:
        time.sleep(0.05)
        value = count()
    return value
