"""The ``oracle`` connector's options, checked and parsed once per source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dataloader_sdk.connectors.checks import (
    choice_option,
    positive_ints,
    required_fields,
    unknown_options,
)
from dataloader_sdk.connectors.options import option_names, options_from
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["OracleOptions"]


@dataclass(frozen=True)
class OracleOptions:
    """``options`` of an ``oracle`` source (docs/connectors/oracle.md)."""

    service_name: str | None = None
    sid: str | None = None
    tcp_connect_timeout: float = 20
    protocol: Literal["tcp", "tcps"] = "tcp"

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` for Oracle, at once."""
        out = [*required_fields(config, ("host", "username"), "oracle"),
               *unknown_options(config, option_names(OracleOptions, "batch_rows", "fetchsize")),
               *positive_ints(config, ("batch_rows", "tcp_connect_timeout", "fetchsize"))]
        opts = config.options
        given = [n for n, v in (("database", config.database),
                                ("options.service_name", opts.get("service_name")),
                                ("options.sid", opts.get("sid"))) if v]
        if len(given) != 1:
            out.append(FieldProblem(
                "options.service_name",
                "set exactly one of database (the service name), options.service_name or "
                f"options.sid (got: {', '.join(given) or 'none'})"))
        for key in ("service_name", "sid"):
            if key in opts and not isinstance(opts[key], str):
                out.append(FieldProblem(f"options.{key}", "must be a string"))
        if choice_option(config, "protocol", ("tcp", "tcps")):
            out.append(FieldProblem("options.protocol", "must be 'tcp' or 'tcps'"))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> OracleOptions:
        """The options of a config that passed :meth:`problems`."""
        service = config.options.get("service_name")
        return options_from(cls, config, service_name=service
                            if isinstance(service, str) and service else config.database)
