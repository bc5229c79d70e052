"""The ``sqlserver`` connector's options, checked and parsed once per source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from dataloader_sdk.connectors.checks import (
    bool_options,
    choice_option,
    positive_ints,
    required_fields,
    unknown_options,
)
from dataloader_sdk.connectors.options import option_names, options_from
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["DEFAULT_DRIVER", "READ_PATHS", "ReadPath", "SqlServerOptions"]

#: How a read streams: arrow-odbc's Arrow batches, or pyodbc rows.
ReadPath = Literal["arrow_odbc", "pyodbc"]
READ_PATHS: tuple[ReadPath, ...] = get_args(ReadPath)

DEFAULT_DRIVER = "ODBC Driver 18 for SQL Server"
_INT_OPTIONS = ("batch_rows", "login_timeout", "max_text_size", "max_binary_size", "fetchsize")


@dataclass(frozen=True)
class SqlServerOptions:
    """``options`` of a ``sqlserver`` source (docs/connectors/sqlserver.md)."""

    driver: str | None = None
    encrypt: bool = True
    trust_server_certificate: bool = False
    read_path: ReadPath = "arrow_odbc"
    login_timeout: int = 30
    max_text_size: int = 1 << 16
    max_binary_size: int = 1 << 16

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` for SQL Server, at once."""
        out = [*required_fields(config, ("host", "database", "username"), "sqlserver"),
               *unknown_options(config, option_names(SqlServerOptions, "batch_rows",
                                                      "fetchsize")),
               *positive_ints(config, _INT_OPTIONS),
               *bool_options(config, ("encrypt", "trust_server_certificate"))]
        driver = config.options.get("driver")
        if "driver" in config.options and (not isinstance(driver, str) or not driver
                                           or any(c in driver for c in "{};")):
            # Braces and semicolons would add attributes to the connection string.
            out.append(FieldProblem("options.driver",
                                    f"must be an ODBC driver name such as {DEFAULT_DRIVER!r}"))
        out.extend(choice_option(config, "read_path", READ_PATHS))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> SqlServerOptions:
        """The options of a config that passed :meth:`problems`."""
        return options_from(cls, config)
