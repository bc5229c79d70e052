"""The shared SQL base compiles structured selects safely for every dialect we target."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.dialects import mssql, mysql, oracle, postgresql, sqlite
from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.sql import SqlConnector, bind_type, classify_message
from dataloader_sdk.errors import SourcePermanentError, SourceTransientError
from dataloader_sdk.model import (
    AnyOf,
    Coalesce,
    Column,
    Compare,
    IsNull,
    MaxOf,
    MinOf,
    RowCount,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.secrets import Secret

EVIL = 'x"; DROP TABLE y; --'

DIALECTS: dict[str, Dialect] = {
    "postgresql": postgresql.psycopg.dialect(),  # type: ignore[no-untyped-call]
    "sqlite": sqlite.dialect(),
    "mysql": mysql.pymysql.dialect(),  # type: ignore[no-untyped-call]
    "mssql": mssql.pyodbc.dialect(),  # type: ignore[no-untyped-call]
    "oracle": oracle.oracledb.dialect(),  # type: ignore[no-untyped-call]
}

TS = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
VALUES: tuple[Any, ...] = (TS, Decimal("12345678901234567890.123456789"), 9_007_199_254_740_993,
                           date(2024, 1, 2), "o'clock")


def connector(dialect: Dialect) -> SqlConnector:
    conn = SqlConnector(SourceConfig(name="src1", db_type="test"), None)
    conn.dialect = dialect
    return conn


def cols(*names: str) -> list[SourceColumn]:
    return [SourceColumn(n, "t", pa.string()) for n in names]


def evil_select() -> Select:
    return Select(
        SourceObject(table=EVIL, schema="sales"),
        columns=("id", EVIL),
        where=(
            Compare(Coalesce(("updated_at", "created_at")), ">=", VALUES[0]),
            Compare(Column("amount"), "<", VALUES[1]),
            Compare(Column("id"), ">", VALUES[2]),
            AnyOf((Compare(Column("day"), "<=", VALUES[3]), IsNull(Column("day")))),
            Compare(Column(EVIL), "=", VALUES[4]),
            IsNull(Column("deleted_at"), negate=True),
        ),
    )


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_values_are_typed_bind_params_and_never_literals(name: str) -> None:
    c = connector(DIALECTS[name])
    compiled = c.compile(c.build_select(evil_select(), cols("id", EVIL)))
    # every value travels as a parameter, with its Python type intact
    assert list(compiled.params.values()) == list(VALUES)
    assert type(compiled.params["p2"]) is int
    for text in ("2024", "12345678901234567890", "9007199254740993", "o'clock", "clock"):
        assert text not in compiled.sql
    assert "coalesce(" in compiled.sql.lower()
    assert " OR " in compiled.sql and "IS NULL" in compiled.sql and "IS NOT NULL" in compiled.sql
    if DIALECTS[name].positional:
        assert compiled.positional == VALUES


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_hostile_identifier_stays_one_quoted_identifier(name: str) -> None:
    c = connector(DIALECTS[name])
    sql = c.compile(c.build_select(evil_select(), cols("id", EVIL))).sql
    quoted = DIALECTS[name].identifier_preparer.quote(EVIL)
    assert quoted != EVIL
    # Remove every correctly quoted occurrence: no statement separator may remain.
    assert ";" not in sql.replace(quoted, "<ident>")
    assert "DROP TABLE" not in sql.replace(quoted, "<ident>")


def test_postgres_quoting_doubles_the_embedded_quote() -> None:
    c = connector(DIALECTS["postgresql"])
    sql = c.compile(c.build_select(Select(SourceObject(table=EVIL)), cols(EVIL))).sql
    assert '"x""; DROP TABLE y; --"' in sql


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_source_query_is_wrapped_verbatim(name: str) -> None:
    query = "SELECT a, b FROM t WHERE note = ':not_a_param' AND code LIKE 'A%'"
    c = connector(DIALECTS[name])
    select = Select(SourceObject(query=query), where=(Compare(Column("a"), ">", 5),))
    compiled = c.compile(c.build_select(select, cols("a", "b")))
    assert "':not_a_param'" in compiled.sql  # not turned into a bind parameter
    assert list(compiled.params) == ["p0"] and compiled.params["p0"] == 5
    percent = "%%" if DIALECTS[name].paramstyle in ("pyformat", "format") else "%"
    assert f"LIKE 'A{percent}'" in compiled.sql
    assert compiled.sql.count("(SELECT a, b FROM t") == 1


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_probes_compile_with_bound_values(name: str) -> None:
    c = connector(DIALECTS[name])
    obj = SourceObject(table="orders", schema="s")
    where = (Compare(Column("id"), ">=", 10),)
    max_sql = c.compile(c.build_probe(obj, MaxOf(Coalesce(("a", "b")), where)))
    assert "max(coalesce(" in max_sql.sql.lower() and dict(max_sql.params) == {"p0": 10}
    min_sql = c.compile(c.build_probe(obj, MinOf(Column("a"))))
    assert "min(" in min_sql.sql.lower() and not min_sql.params
    count_sql = c.compile(c.build_probe(obj, RowCount(where)))
    assert "count(*)" in count_sql.sql.lower() and "10" not in count_sql.sql


def test_bind_types_are_explicit() -> None:
    assert type(bind_type(True)).__name__ == "Boolean"
    assert type(bind_type(1)).__name__ == "BigInteger"
    assert type(bind_type(Decimal("1.5"))).__name__ == "Numeric"
    assert bind_type(TS).timezone is True  # type: ignore[attr-defined]
    assert bind_type(datetime(2024, 1, 1)).timezone is False  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        bind_type(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('FATAL: password authentication failed for user "x"', "permanent"),
        ('database "nope" does not exist', "permanent"),
        ("no such table: missing", "permanent"),
        ("permission denied for table t", "permanent"),
        ('syntax error at or near "FROM"', "permanent"),
        ("connection refused", "transient"),
        ("timeout expired", "transient"),
        ("the database system is shutting down", "transient"),
        ("could not serialize access due to concurrent update (serialization failure)",
         "transient"),
        ("something nobody has seen", "permanent"),
    ],
)
def test_message_classification(message: str, kind: str) -> None:
    assert classify_message(message) == kind


def test_classified_error_names_source_and_object_and_hides_secret() -> None:
    c = SqlConnector(SourceConfig(name="src1", db_type="test"), Secret("hunter2-pw"))
    err = c.classify_error(RuntimeError("connection refused; password=hunter2-pw"),
                           action="reading", obj=SourceObject(table="t", schema="s"))
    assert isinstance(err, SourceTransientError)
    assert "'src1'" in str(err) and "s.t" in str(err) and "hunter2-pw" not in str(err)
    err2 = c.classify_error(RuntimeError("no such table: t"), action="reading")
    assert isinstance(err2, SourcePermanentError)


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_a_cached_compilation_carries_each_statements_own_values(name: str) -> None:
    """The second statement of the same shape reuses the first's compilation (the cache
    grows by nothing) and still gets its own values, not the first's."""
    from dataloader_sdk.connectors.sql.compile import COMPILED_CACHE

    c = connector(DIALECTS[name])
    obj = SourceObject(table="orders", schema="sales")

    def compiled(value: Any, low: int) -> Any:
        where = (Compare(Column("updated_at"), ">=", value), Compare(Column("id"), ">", low))
        return c.compile(c.build_select(Select(obj, where=where), cols("id", "updated_at")))

    first = compiled(TS, 1)
    size = len(COMPILED_CACHE)
    later = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    second = compiled(later, 7)
    assert len(COMPILED_CACHE) == size  # a hit: nothing compiled anew
    assert second.sql == first.sql
    assert (first.params["p0"], first.params["p1"]) == (TS, 1)
    assert (second.params["p0"], second.params["p1"]) == (later, 7)
    if first.positional:
        assert second.positional == (later, 7)
    # Another shape (a different operator) is another compilation, not the cached one.
    other = c.compile(c.build_select(
        Select(obj, where=(Compare(Column("updated_at"), ">", later),)), cols("id")))
    assert other.sql != first.sql and other.params["p0"] == later


def test_a_source_query_is_compiled_every_time_with_its_own_values() -> None:
    """A user's query has no cache key (it is emitted verbatim): compiled per statement."""
    c = connector(DIALECTS["postgresql"])
    obj = SourceObject(query="SELECT id, updated_at FROM sales.orders WHERE note <> ':x'")
    sqls = [c.compile(c.build_select(
        Select(obj, where=(Compare(Column("id"), ">", n),)), cols("id"))) for n in (1, 2)]
    assert sqls[0].sql == sqls[1].sql and ":x" in sqls[0].sql
    assert [s.params["p0"] for s in sqls] == [1, 2]
