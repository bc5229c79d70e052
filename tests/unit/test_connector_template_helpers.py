"""The template's shared pieces: the probe skeleton, kept sessions, owned streams, and
projections stated as templates (connectors/sql/)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from dataloader_sdk.connectors import SourceColumn, SqlConnector
from dataloader_sdk.connectors.sql.functions import template_function
from dataloader_sdk.connectors.sql.resources import KeptSession, owned_stream
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import (
    ChangeSignature,
    Column,
    MaxOf,
    MinOf,
    RowCount,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.statements import SelectStatement

T = SourceObject(table="t")


class _Answers(SqlConnector):
    """A connector whose probe statement answers ``value`` (no database)."""

    dialect = sqlite.dialect()

    def __init__(self, value: Any) -> None:
        super().__init__(SourceConfig(name="s", db_type="x"), None)
        self.value = value
        self.signatures = 0

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        return [SourceColumn("n", "INTEGER", pa.int64()), SourceColumn("s", "TEXT", pa.string())]

    def _probe_value(self, obj: SourceObject, request: MaxOf | MinOf | RowCount,
                     stmt: SelectStatement) -> Any:
        assert "FROM t" in self.compile(stmt).sql
        return self.value

    def _change_signature(self, obj: SourceObject) -> str | None:
        self.signatures += 1
        return "sig"


def test_probe_skeleton_types_every_answer() -> None:
    assert _Answers(None).probe(T, MaxOf(Column("n"))) is None
    assert _Answers(None).probe(T, RowCount()) is None
    assert _Answers(3.0).probe(T, RowCount()) == 3
    assert _Answers("7").probe(T, MinOf(Column("n"))) == 7  # converted by the type map
    with pytest.raises(ValidationError, match="ordered by spelling"):
        _Answers("10").probe(T, MaxOf(Column("s")))  # a text cursor holding numbers


def test_change_signature_of_a_query_is_none_without_asking() -> None:
    conn = _Answers(None)
    assert conn.probe(SourceObject(query="SELECT 1 AS n"), ChangeSignature()) is None
    assert conn.signatures == 0
    assert conn.probe(T, ChangeSignature()) == "sig"


class _Resource:
    def __init__(self) -> None:
        self.opened = True
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


def test_kept_session_opens_once_reopens_dead_ones_and_closes_once() -> None:
    made: list[_Resource] = []

    def open_() -> _Resource:
        made.append(_Resource())
        return made[-1]

    kept = KeptSession(open_, alive=lambda r: r.opened)
    assert kept.get() is kept.get() and len(made) == 1
    made[0].opened = False
    assert kept.get() is made[1]
    kept.close()
    kept.close()
    assert made[1].closes == 1 and kept.current is None


def test_owned_stream_releases_on_a_failed_start_and_when_the_stream_ends() -> None:
    failed = _Resource()

    def boom(_r: _Resource) -> list[int]:
        raise RuntimeError("bad query")

    with pytest.raises(RuntimeError):
        owned_stream(failed, boom)
    assert failed.closes == 1
    drained = _Resource()
    assert list(owned_stream(drained, lambda _r: [1, 2])) == [1, 2]
    assert drained.closes == 1
    abandoned = _Resource()
    stream = owned_stream(abandoned, lambda _r: iter([1, 2]))
    assert next(stream) == 1
    stream.close()
    assert abandoned.closes == 1


def test_template_function_compiles_its_arguments_in_place() -> None:
    cast = template_function("test_cast", "CAST({} AS NUMBER({},{}))")
    stmt = sa.select(cast(sa.column("x"), sa.literal_column("10"), sa.literal_column("2")))
    assert "CAST(x AS NUMBER(10,2))" in str(stmt.compile(dialect=sqlite.dialect()))
