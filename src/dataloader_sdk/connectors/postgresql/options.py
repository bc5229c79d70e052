"""The ``postgresql`` connector's options, checked and parsed once per source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from dataloader_sdk.connectors.checks import (
    choice_option,
    positive_ints,
    required_fields,
    string_map_option,
    unknown_options,
)
from dataloader_sdk.connectors.jdbc import property_problems
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["OPTIONS", "READ_PATHS", "SSLMODES", "PostgresOptions", "ReadPath"]

ReadPath = Literal["adbc", "connectorx"]
READ_PATHS: tuple[ReadPath, ...] = get_args(ReadPath)
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
OPTIONS = ("sslmode", "connect_timeout", "application_name", "batch_rows", "read_path",
           "jdbc_properties", "fetchsize")
#: The JDBC driver class of PostgreSQL (its properties are allowlisted in connectors.jdbc).
POSTGRES_DRIVER = "org.postgresql.Driver"


@dataclass(frozen=True)
class PostgresOptions:
    """``options`` of a ``postgresql`` source (docs/connectors/postgresql.md)."""

    sslmode: str | None = None
    connect_timeout: int = 30
    application_name: str = "dataloader-sdk"
    read_path: ReadPath = "adbc"
    jdbc_properties: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` for PostgreSQL, at once."""
        out = [*required_fields(config, ("host", "database", "username"), "postgresql"),
               *unknown_options(config, OPTIONS),
               *positive_ints(config, ("connect_timeout", "batch_rows", "fetchsize")),
               *choice_option(config, "sslmode", SSLMODES),
               *choice_option(config, "read_path", READ_PATHS)]
        if not isinstance(config.options.get("application_name", ""), str):
            out.append(FieldProblem("options.application_name", "must be a string"))
        # Spark JDBC reads pass allowlisted driver properties only.
        props = config.options.get("jdbc_properties", {})
        bad = string_map_option(config, "jdbc_properties")
        out.extend(bad if bad or not isinstance(props, dict) else property_problems(
            POSTGRES_DRIVER, props, "options.jdbc_properties"))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> PostgresOptions:
        """The options of a config that passed :meth:`problems`."""
        opts = config.options
        sslmode = opts.get("sslmode")
        props = opts.get("jdbc_properties", {})
        return cls(
            sslmode=sslmode if isinstance(sslmode, str) else None,
            connect_timeout=int(opts.get("connect_timeout", 30)),  # type: ignore[arg-type]
            application_name=str(opts.get("application_name", "dataloader-sdk")),
            read_path="connectorx" if opts.get("read_path") == "connectorx" else "adbc",
            jdbc_properties={str(k): str(v) for k, v in props.items()}
            if isinstance(props, dict) else {},
        )
