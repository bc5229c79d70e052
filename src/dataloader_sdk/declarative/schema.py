"""The JSON Schema of a config file (``dataloader config schema``), for editors and checks.

Draft 2020-12. It checks the file's shape and types; what depends on a plugin (a
strategy's options, a connector's fields) is checked afterwards by the same validators a
single edit goes through, and reported with line numbers too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FILE_VERSION", "config_schema"]

#: The version of the file format this SDK reads and writes.
FILE_VERSION = 1

_REFERENCE = r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$"
_NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$"
_TARGET = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){1,2}$"


def _opt(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def config_schema() -> dict[str, Any]:
    """The JSON Schema (a plain dict) of a ``dataloader config`` YAML file."""
    source = {
        "type": "object",
        "description": "A source connection. `secret` is a reference (env:NAME, "
                       "file:/path, databricks:scope/key), never the secret itself.",
        "required": ["db_type"],
        "additionalProperties": False,
        "properties": {
            "db_type": {"type": "string", "minLength": 1,
                        "description": "postgresql, sqlserver, oracle, snowflake, "
                                       "clickhouse, mysql, sqlite, or a plugin's"},
            "host": _opt("string"),
            "port": _opt("integer", minimum=1, maximum=65535),
            "database": _opt("string"),
            "username": _opt("string"),
            "secret": _opt("string", pattern=_REFERENCE),
            "options": {"type": "object"},
            "enabled": {"type": "boolean"},
        },
    }
    table = {
        "type": "object",
        "description": "A table to load. Set exactly one of source_table or source_query.",
        "required": ["source", "target"],
        "additionalProperties": False,
        "properties": {
            "source": {"type": "string", "pattern": _NAME},
            "source_schema": _opt("string"),
            "source_table": _opt("string"),
            "source_query": _opt("string"),
            "target": {"type": "string", "pattern": _TARGET,
                       "description": "schema.table or catalog.schema.table"},
            "strategy": {"type": "string", "minLength": 1,
                         "description": "full, incremental, append_only, rolling, "
                                        "check_and_load, chunked_backfill, or a plugin's"},
            "strategy_options": {"type": "object"},
            "interval_seconds": _opt("integer", minimum=1),
            "priority": {"type": "integer"},
            "enabled": {"type": "boolean"},
            "freshness_sla_seconds": _opt("integer", minimum=1),
            "read": {
                "type": ["object", "null"],
                "description": "How rows are read: path connector (default) or jdbc "
                               "(a Spark engine reads the window with Spark JDBC in "
                               "ranges of partition_column).",
                "additionalProperties": False,
                "properties": {
                    "path": {"enum": ["connector", "jdbc"]},
                    "partition_column": _opt("string"),
                    "partitions": _opt("integer", minimum=1),
                    "fetch_size": _opt("integer", minimum=1),
                },
            },
            "maintenance": {
                "type": ["object", "null"],
                "description": "When the Delta table is compacted or clustered, "
                               "checkpointed and vacuumed (docs/maintenance.md); settings "
                               "left out keep "
                               "their defaults. A vacuum_retention_hours below 168 needs "
                               "allow_short_retention: true.",
                "additionalProperties": False,
                "properties": {
                    **{name: {"type": "boolean"} for name in (
                        "enabled", "allow_short_retention", "cluster")},
                    **{name: {"type": "integer", "minimum": 1} for name in (
                        "compact_min_files", "small_file_bytes", "checkpoint_every",
                        "vacuum_retention_hours", "vacuum_every_hours",
                        "cluster_every_commits", "cluster_max_bytes")},
                },
            },
        },
    }
    environment = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sources": {"type": "object", "propertyNames": {"pattern": _NAME},
                        "additionalProperties": {"$ref": "#/$defs/source"}},
            "tables": {"type": "object", "propertyNames": {"pattern": _NAME},
                       "additionalProperties": {"$ref": "#/$defs/table"}},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dataloader-sdk.dev/schemas/config-v1.json",
        "title": "dataloader-sdk configuration (sources and tables)",
        "description": "Either `sources`/`tables` of one environment, or `environments` "
                       "holding them per environment (dataloader, dataloader_test).",
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {
            "version": {"const": FILE_VERSION},
            "sources": environment["properties"]["sources"],  # type: ignore[index]
            "tables": environment["properties"]["tables"],  # type: ignore[index]
            "environments": {
                "type": "object",
                "propertyNames": {"enum": ["dataloader", "dataloader_test"]},
                "additionalProperties": {"$ref": "#/$defs/environment"},
            },
        },
        "$defs": {"source": source, "table": table, "environment": environment},
    }
