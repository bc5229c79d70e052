"""The ``sqlserver`` connector's ODBC stand-in: SQL Server's code paths against PostgreSQL.

No SQL Server runs on the test machines. The stand-in is the test PostgreSQL server
reached through Debian's ``odbc-postgresql`` driver (``PostgreSQL Unicode``), read by a
subclass of the product connector that overrides only what faces the dialect: the
SQLAlchemy dialect (PostgreSQL's, with ``qmark`` parameters as ODBC takes them), the
connection attributes (psqlODBC keywords), the default-schema statement, the
``INFORMATION_SCHEMA`` type names (mapped to the SQL Server type each stands in for), the
server-side casts of bound values and the projections' SQL. Everything else (pyodbc,
arrow-odbc, the catalog queries, the type map, conforming, error classification) is the
product's code, run for real over unixODBC.

It registers as ``db_type="sqlserver_standin"`` through :func:`standin_host`. It cannot
answer ChangeSignature (SQL Server's change tracking and rowversion catalogs do not exist
on PostgreSQL): it answers None.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from dataloader_sdk.connectors.sqlserver import SqlServerConnector, SqlServerConnectorFactory
from dataloader_sdk.connectors.sqlserver import types as ms
from dataloader_sdk.model import ScalarValue, SourceObject
from dataloader_sdk.plugins import PluginHost, hookimpl

if TYPE_CHECKING:
    from dataloader_sdk.connectors.base import ConnectorFactory
    from dataloader_sdk.plugins import Registry

__all__ = ["STANDIN_DB_TYPE", "StandInSqlServerConnector", "standin_host"]

STANDIN_DB_TYPE = "sqlserver_standin"
STANDIN_DRIVER = "PostgreSQL Unicode"

#: PostgreSQL ``information_schema`` type names → the SQL Server type each stands in for.
STANDIN_TYPE_NAMES: dict[str, str] = {
    "bigint": "bigint", "integer": "int", "smallint": "smallint", "boolean": "bit",
    "numeric": "decimal", "double precision": "float", "real": "real",
    "character varying": "nvarchar", "character": "nchar", "text": "nvarchar",
    "date": "date", "timestamp without time zone": "datetime2",
    "timestamp with time zone": "datetimeoffset", "time without time zone": "time",
    "bytea": "varbinary", "uuid": "uniqueidentifier", "xml": "xml",
}


def _arg(compiler: SQLCompiler, element: Any, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(ms._GuidText, "postgresql")
def _guid(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower(CAST({_arg(compiler, element, **kw)} AS TEXT))"


@compiles(ms._Utc, "postgresql")
def _utc(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({_arg(compiler, element, **kw)} AT TIME ZONE 'UTC')"


@compiles(ms._AsText, "postgresql")
def _text(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_arg(compiler, element, **kw)} AS TEXT)"


@compiles(ms.RowCountAll, "postgresql")
def _count(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "count(*)"


class StandInSqlServerConnector(SqlServerConnector):
    """The product connector with PostgreSQL's dialect-facing parts (see the module)."""

    dialect: Dialect = PGDialect(paramstyle="qmark")  # type: ignore[no-untyped-call]
    default_schema_sql = "SELECT current_schema()"

    def connection_attributes(self, password: str | None) -> list[tuple[str, str | None]]:
        c = self.config
        return [
            ("Driver", self.options.driver or STANDIN_DRIVER), ("Server", c.host),
            ("Port", str(c.port or 5432)), ("Database", c.database),
            ("Uid", c.username), ("Pwd", password), ("BoolsAsChar", "0"),
        ]

    def _type_name(self, name: str) -> str:
        name = name.lower()
        return STANDIN_TYPE_NAMES.get(name, name)

    def cast_type(self, value: ScalarValue) -> sa.types.TypeEngine[Any]:
        if isinstance(value, bool):
            return sa.Boolean()
        if isinstance(value, int):
            return sa.BigInteger()
        if isinstance(value, Decimal):
            return sa.Numeric()
        if isinstance(value, float):
            return sa.Float(53)
        if isinstance(value, datetime):
            return sa.DateTime(timezone=value.tzinfo is not None)
        if isinstance(value, date):
            return sa.DATE()
        if isinstance(value, str):
            return sa.Unicode()
        raise TypeError(f"cannot bind a {type(value).__name__} value in a predicate")

    def _change_signature(self, obj: SourceObject) -> str | None:
        return None  # no change tracking or rowversion catalogs on PostgreSQL


class StandInSqlServerConnectorFactory(SqlServerConnectorFactory):
    """Opens :class:`StandInSqlServerConnector`\\ s (validation is the product's)."""

    summary = "test stand-in: the sqlserver connector over ODBC against PostgreSQL"
    connector = StandInSqlServerConnector


class StandInPlugin:
    """Registers ``sqlserver_standin`` (pass it to a :class:`PluginHost`)."""

    @hookimpl
    def dataloader_register_connectors(self, registry: Registry[ConnectorFactory]) -> None:
        registry.add(STANDIN_DB_TYPE, StandInSqlServerConnectorFactory())


def standin_host() -> PluginHost:
    """A plugin host with every installed plugin plus the stand-in connector."""
    return PluginHost([StandInPlugin()])
