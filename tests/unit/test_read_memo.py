"""``connectors/sql/read_memo.py``: reads kept by shape bind the same SQL and values as
SQLAlchemy's own compile of the same select (``SelectCompiler.compile``, the reference)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.postgresql import PostgresConnectorFactory
from dataloader_sdk.connectors.sql.compile import CompiledQuery, SelectCompiler
from dataloader_sdk.connectors.sql.read_memo import READ_MEMO, ReadMemo, compiled_read
from dataloader_sdk.connectors.sqlserver.connector import SqlServerConnector
from dataloader_sdk.model import (
    AnyOf,
    Coalesce,
    Column,
    Compare,
    IsNull,
    Predicate,
    Select,
    SourceConfig,
    SourceObject,
)

T = SourceObject(table="events", schema="public")
Q = SourceObject(query="SELECT * FROM t WHERE note = ':x' AND pct LIKE '5%'")
COLUMNS = (SourceColumn("id", "bigint", pa.int64(), False),
           SourceColumn("updated_at", "timestamptz", pa.timestamp("us", tz="UTC"), True),
           SourceColumn("amount", "numeric(18,4)", pa.decimal128(18, 4), True))
AWARE = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)

WHERES = {
    "none": (),
    "aware": (Compare(Column("updated_at"), ">=", AWARE),),
    "naive_and_int": (Compare(Column("updated_at"), ">", datetime(2024, 1, 1)),
                      Compare(Column("id"), "<=", 7)),
    "any_of": (AnyOf((IsNull(Column("updated_at")),
                      Compare(Coalesce(("updated_at", "id")), "<", AWARE))),
               Compare(Column("amount"), "=", Decimal("1.5000"))),
    "every_type": (Compare(Column("id"), "=", True), Compare(Column("id"), "=", 1.5),
                   Compare(Column("id"), "=", date(2020, 1, 1)), Compare(Column("id"), "=", "x")),
}


def _pg() -> SelectCompiler:
    cfg = SourceConfig(name="pg", db_type="postgresql", host="localhost", database="d",
                       username="u")
    return PostgresConnectorFactory().open(cfg, None)  # compiles only: never connects


def _reference(compiler: SelectCompiler, select: Select, limit: int | None) -> CompiledQuery:
    stmt = compiler.build_select(select, COLUMNS)
    return compiler.compile(stmt if limit is None else stmt.limit(limit))


@pytest.mark.parametrize("limit", [None, 11])
@pytest.mark.parametrize("where", list(WHERES), ids=list(WHERES))
@pytest.mark.parametrize("obj", [T, Q], ids=["table", "query"])
def test_a_kept_read_binds_as_sqlalchemy_compiles(where: str, limit: int | None,
                                                  obj: SourceObject) -> None:
    compiler = _pg()
    select = Select(obj, where=WHERES[where])
    first = compiled_read(compiler, select, COLUMNS, limit=limit)
    assert first == _reference(compiler, select, limit)
    # Found again (no build) and bound with the values of a select of the same shape.
    moved = Select(obj, where=tuple(_shifted(p) for p in WHERES[where]))
    again = compiled_read(compiler, moved, COLUMNS, limit=limit)
    assert again == _reference(compiler, moved, limit)
    if WHERES[where]:
        assert again.params != first.params


def _shift_simple(pred: Compare | IsNull) -> Compare | IsNull:
    shifted = _shifted(pred)
    assert isinstance(shifted, Compare | IsNull)
    return shifted


def _shifted(pred: Predicate) -> Predicate:
    if isinstance(pred, Compare):
        value = pred.value
        if isinstance(value, datetime):
            value = value.replace(year=2030)
        elif isinstance(value, bool):
            value = not value
        elif isinstance(value, int | float | Decimal):
            value = value + 1
        elif isinstance(value, str):
            value = value + "y"
        elif isinstance(value, date):
            value = value.replace(year=2031)
        return Compare(pred.expr, pred.op, value)
    if isinstance(pred, AnyOf):
        return AnyOf(tuple(_shift_simple(p) for p in pred.predicates))
    return pred


def test_a_value_of_another_type_is_another_shape() -> None:
    compiler = _pg()
    aware = compiled_read(compiler, Select(T, where=(Compare(Column("updated_at"), ">=", AWARE),)),
                          COLUMNS)
    naive = Select(T, where=(Compare(Column("updated_at"), ">=", datetime(2024, 1, 1)),))
    assert compiled_read(compiler, naive, COLUMNS) == _reference(compiler, naive, None)
    assert compiled_read(compiler, naive, COLUMNS).sql != aware.sql  # WITH TIME ZONE or not


def test_positional_paramstyles_keep_their_order() -> None:
    cfg = SourceConfig(name="ms", db_type="sqlserver", host="localhost", database="d",
                       username="u")
    compiler = SqlServerConnector(cfg, None)
    select = Select(T, where=WHERES["naive_and_int"])
    got = compiled_read(compiler, select, COLUMNS)
    assert got == _reference(compiler, select, None)
    assert got.positional == (datetime(2024, 1, 1), 7)


def test_projections_are_part_of_the_key() -> None:
    compiler = _pg()
    select = Select(T)
    plain = compiled_read(compiler, select, COLUMNS, projections=("a",))
    assert compiled_read(compiler, select, COLUMNS, projections=("b",)) is not plain
    kept = [k for k in READ_MEMO._layouts if isinstance(k, tuple) and k[1] == T]
    assert len([k for k in kept if k[3] in (("a",), ("b",))]) == 2


def test_the_memo_is_bounded_and_keeps_the_recent() -> None:
    memo = ReadMemo(2)
    compiler = _pg()

    def read(n: int) -> CompiledQuery:
        select = Select(SourceObject(table=f"t{n}"))
        return memo.compiled(("k", n), [], lambda: compiler.build_select(select, COLUMNS),
                             compiler.dialect)

    read(1)
    read(2)
    read(1)
    read(3)  # drops t2, the least recently used
    assert len(memo) == 2 and set(memo._layouts) == {("k", 1), ("k", 3)}


def test_a_layout_it_does_not_know_is_used_once_and_not_kept() -> None:
    memo = ReadMemo(8)
    compiler = _pg()
    select = Select(T, where=(Compare(Column("id"), ">", 5),))
    # Values that are not the statement's: binding them later would be wrong.
    got = memo.compiled("odd", [6], lambda: compiler.build_select(select, COLUMNS),
                        compiler.dialect)
    assert got.params == {"p0": 5}
    assert len(memo) == 0
