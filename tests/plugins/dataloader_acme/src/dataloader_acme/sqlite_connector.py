"""``acme_sqlite``: a SQLite connector on dataloader-sdk's SQL template, as a plugin writes it.

It reads a SQLite file through the standard library's ``sqlite3`` module and states only
what differs from the template: the dialect, the options, the type map, how to describe a
table, how to start a read, and how to run a probe. Quoting, bound parameters, the
column cache, the schema, batch sizes, conforming batches, probe answers and classifying
errors are the template's. Every import from dataloader_sdk is public.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from dataloader_sdk.connectors import (
    Chunk,
    SourceColumn,
    SqlConnector,
    SqlConnectorFactory,
    datetime_text,
    positive_ints,
    required_fields,
    unknown_options,
)
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import MaxOf, MinOf, RowCount, Select, SourceConfig, SourceObject
from dataloader_sdk.secrets import Secret
from dataloader_sdk.statements import SelectStatement


@dataclass(frozen=True)
class AcmeSqliteOptions:
    """The source's options, checked once (``problems``) and parsed once (``parse``)."""

    path: str
    timeout: float = 5.0

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        return [*required_fields(config, ("database",), "acme_sqlite"),
                *unknown_options(config, ("timeout", "batch_rows")),
                *positive_ints(config, ("timeout", "batch_rows"))]

    @classmethod
    def parse(cls, config: SourceConfig) -> AcmeSqliteOptions:
        return cls(path=str(config.database),
                   timeout=float(config.options.get("timeout", 5)))  # type: ignore[arg-type]


def arrow_type(declared: str) -> pa.DataType:
    """The type map: a column's declared SQLite type → its Arrow type."""
    name = declared.upper()
    if "INT" in name:
        return pa.int64()
    if name in ("BOOLEAN", "BOOL"):
        return pa.bool_()
    if name == "DATE":
        return pa.date32()
    if name in ("DATETIME", "TIMESTAMP"):
        return pa.timestamp("us")
    if any(word in name for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    return pa.string()


def _param(value: Any) -> Any:
    """A bound value as sqlite3 stores it: dates and timestamps as ISO text."""
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class AcmeSqliteConnector(SqlConnector):
    """A SQLite file read through ``sqlite3``."""

    # SQLAlchemy's SQLite dialect compiles for sqlite3's ``qmark`` parameters; the
    # compiled query's ``positional`` holds the values in placeholder order.
    dialect = sqlite.dialect()

    def __init__(self, config: SourceConfig, secret: Secret | None,
                 options: AcmeSqliteOptions | None = None) -> None:
        super().__init__(config, secret)
        self.options = options or AcmeSqliteOptions.parse(config)
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:  # read-only; the reader may be drained on the writer's thread
                self._conn = sqlite3.connect(f"file:{self.options.path}?mode=ro", uri=True,
                                             timeout=self.options.timeout,
                                             check_same_thread=False)
            except sqlite3.Error as exc:
                raise self.classify_error(exc, action="connecting") from None
        return self._conn

    def _rows(self, sql: str, params: Sequence[Any], *, action: str,
              obj: SourceObject | None = None) -> list[Any]:
        try:
            return self.conn.execute(sql, [_param(p) for p in params]).fetchall()
        except sqlite3.Error as exc:
            raise self.classify_error(exc, action=action, obj=obj) from None

    def check(self) -> None:
        self._rows("SELECT 1", (), action="running SELECT 1")

    def _release(self) -> None:  # close() closes unfinished readers first, then this
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _table_info(self, obj: SourceObject) -> list[Any]:
        rows = self._rows("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, ?)",
                          (obj.table, obj.schema or "main"), action="reading columns of",
                          obj=obj)
        if not rows:
            known = self._rows("SELECT name FROM sqlite_master WHERE type IN "
                               "('table', 'view') ORDER BY name", (), action="listing tables")
            raise self.missing_table_error(obj, [r[0] for r in known])
        return rows

    def _describe(self, obj: SourceObject) -> list[SourceColumn]:
        if obj.query is not None:  # a query's columns have no declared type: text
            src = self.from_clause(obj, ())
            cursor = self.conn.execute(self.compile(
                sa.select(sa.literal_column("*")).select_from(src).limit(0)).sql)
            return [SourceColumn(d[0], "query column", pa.string()) for d in cursor.description]
        return [SourceColumn(name, declared, arrow_type(declared), not notnull)
                for name, declared, notnull, _ in self._table_info(obj)]

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        if obj.query is not None:
            return ()
        keyed = sorted((pk, name) for name, _, _, pk in self._table_info(obj) if pk)
        return tuple(name for _, name in keyed)

    def _probe_value(self, obj: SourceObject, request: MaxOf | MinOf | RowCount,
                     stmt: SelectStatement) -> Any:
        # The template's probe() converts the answer by the type map and refuses unsafe
        # cursors; no _change_signature: strategies compare counts and maxima.
        compiled = self.compile(stmt)
        return self._rows(compiled.sql, compiled.positional, action="probing", obj=obj)[0][0]

    def read_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def _stream(self, select: Select, columns: Sequence[SourceColumn], schema: pa.Schema,
                batch_rows: int) -> Iterator[Chunk]:
        compiled = self.compile(self.build_select(select, columns))
        cursor = self.conn.execute(compiled.sql, [_param(p) for p in compiled.positional])

        def chunks() -> Iterator[Chunk]:
            try:
                while rows := cursor.fetchmany(batch_rows):
                    yield rows
            finally:  # drained, failed or abandoned: the template closes this generator
                cursor.close()

        return chunks()


class AcmeSqliteConnectorFactory(SqlConnectorFactory[AcmeSqliteOptions, AcmeSqliteConnector]):
    needs_secret = False
    summary = "SQLite files through sqlite3 (the sample plugin's template connector)"
    options = AcmeSqliteOptions
    connector = AcmeSqliteConnector
