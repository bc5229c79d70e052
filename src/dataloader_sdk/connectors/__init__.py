"""Source connectors: the contract, the SQL template, and one package per database.

What a plugin author imports (every name below; nothing private is needed):

* the contract (:mod:`.base`): :class:`Connector`, :class:`ConnectorFactory`,
  :class:`SourceColumn`, the optional capabilities :class:`ReusableConnector`,
  :class:`JdbcCapable` and :class:`ResolverAware`, :data:`DEFAULT_BATCH_ROWS`,
  :func:`factory_summary`;
* the SQL template (:mod:`.sql`): :class:`SqlConnector`, which owns the read skeleton
  (:class:`JdbcSqlConnector`, from :mod:`.jdbc_render`, when Spark's JDBC source can
  read the database: it renders the window and partition SQL with the connector's own
  dialect and template steps), the
  factory that states only its parts (:class:`SqlConnectorFactory`, with typed
  :class:`ConnectorOptions`), and
  its compile and error steps (:class:`CompiledQuery`, :func:`bind_type`,
  :func:`referenced_columns`, :func:`classify_message`, :func:`typed_cursor_value`);
* batches (:mod:`.arrow`): :func:`conform`, :func:`sliced`, :func:`rows_to_batch`,
  :func:`schema_of`, :func:`stream_reader`;
* values (:mod:`.values`): :func:`to_arrow`, :func:`to_python`, :func:`datetime_text`,
  :func:`loose_timestamp`, :func:`loose_date`;
* option checks for ``validate`` (:mod:`.checks`);
* Spark JDBC (:mod:`.jdbc`): :class:`JdbcFlavor`, :class:`JdbcOptions`, :func:`jdbc_options_for`,
  :func:`check_url_fields`, :func:`property_problems`, :data:`JDBC_PROPERTY_ALLOWLIST`.

The built-in connectors live in ``postgresql/``, ``sqlserver/``, ``oracle/``,
``snowflake/``, ``clickhouse/`` and ``sqlalchemy_url/``, each with the same parts
(``connector``, ``types``, ``options`` where it has options, ``jdbc``). Names are loaded
on first use, so importing this package imports neither SQLAlchemy nor any driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataloader_sdk.connectors.arrow import (
        Chunk,
        conform,
        rows_to_batch,
        schema_of,
        sliced,
        stream_reader,
    )
    from dataloader_sdk.connectors.base import (
        DEFAULT_BATCH_ROWS,
        Connector,
        ConnectorFactory,
        JdbcCapable,
        ResolverAware,
        ReusableConnector,
        SourceColumn,
        factory_summary,
    )
    from dataloader_sdk.connectors.checks import (
        batch_rows_option,
        bool_options,
        choice_option,
        is_positive_int,
        positive_ints,
        required_fields,
        string_map_option,
        string_options,
        unknown_options,
    )
    from dataloader_sdk.connectors.jdbc import (
        JDBC_PROPERTY_ALLOWLIST,
        JdbcFlavor,
        JdbcOptions,
        check_url_fields,
        jdbc_options_for,
        property_problems,
    )
    from dataloader_sdk.connectors.jdbc_render import JdbcSqlConnector
    from dataloader_sdk.connectors.sql import (
        CompiledQuery,
        ConnectorOptions,
        ErrorKind,
        SqlConnector,
        SqlConnectorFactory,
        bind_type,
        classify_message,
        referenced_columns,
        typed_cursor_value,
    )
    from dataloader_sdk.connectors.values import (
        datetime_text,
        loose_date,
        loose_timestamp,
        to_arrow,
        to_python,
    )

#: Public name → the module that defines it (loaded on first access).
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Chunk", "conform", "rows_to_batch", "schema_of", "sliced",
                     "stream_reader"), "arrow"),
    **dict.fromkeys(("DEFAULT_BATCH_ROWS", "Connector", "ConnectorFactory", "JdbcCapable",
                     "ResolverAware", "ReusableConnector", "SourceColumn",
                     "factory_summary"), "base"),
    **dict.fromkeys(("batch_rows_option", "bool_options", "choice_option", "is_positive_int",
                     "positive_ints", "required_fields", "string_map_option",
                     "string_options", "unknown_options"), "checks"),
    **dict.fromkeys(("JDBC_PROPERTY_ALLOWLIST", "JdbcFlavor", "JdbcOptions", "check_url_fields",
                     "jdbc_options_for", "property_problems"), "jdbc"),
    "JdbcSqlConnector": "jdbc_render",
    **dict.fromkeys(("CompiledQuery", "ConnectorOptions", "ErrorKind", "SqlConnector",
                     "SqlConnectorFactory", "bind_type", "classify_message",
                     "referenced_columns", "typed_cursor_value"), "sql"),
    **dict.fromkeys(("datetime_text", "loose_date", "loose_timestamp", "to_arrow", "to_python"),
                    "values"),
}

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "JDBC_PROPERTY_ALLOWLIST",
    "Chunk",
    "CompiledQuery",
    "Connector",
    "ConnectorFactory",
    "ConnectorOptions",
    "ErrorKind",
    "JdbcCapable",
    "JdbcFlavor",
    "JdbcOptions",
    "JdbcSqlConnector",
    "ResolverAware",
    "ReusableConnector",
    "SourceColumn",
    "SqlConnector",
    "SqlConnectorFactory",
    "batch_rows_option",
    "bind_type",
    "bool_options",
    "check_url_fields",
    "choice_option",
    "classify_message",
    "conform",
    "datetime_text",
    "factory_summary",
    "is_positive_int",
    "jdbc_options_for",
    "loose_date",
    "loose_timestamp",
    "positive_ints",
    "property_problems",
    "referenced_columns",
    "required_fields",
    "rows_to_batch",
    "schema_of",
    "sliced",
    "stream_reader",
    "string_map_option",
    "string_options",
    "to_arrow",
    "to_python",
    "typed_cursor_value",
    "unknown_options",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
