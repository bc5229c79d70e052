"""The ``clickhouse`` connector's options, checked and parsed once per source."""

from __future__ import annotations

from dataclasses import dataclass

from dataloader_sdk.connectors.checks import bool_options, positive_ints, unknown_options
from dataloader_sdk.connectors.options import option_names, options_from
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig

__all__ = ["ClickHouseOptions"]


@dataclass(frozen=True)
class ClickHouseOptions:
    """``options`` of a ``clickhouse`` source (docs/connectors/clickhouse.md)."""

    #: An embedded chDB directory (or ``:memory:``) instead of a server.
    chdb_path: str | None = None
    secure: bool = False
    verify: bool = True
    connect_timeout: int = 10
    send_receive_timeout: int = 300

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Every problem of ``config`` for ClickHouse, at once."""
        out = [*unknown_options(config, option_names(ClickHouseOptions, "batch_rows")),
               *positive_ints(config, ("connect_timeout", "send_receive_timeout", "batch_rows"))]
        opts = config.options
        chdb = opts.get("chdb_path")
        if "chdb_path" in opts and (not isinstance(chdb, str) or not chdb):
            out.append(FieldProblem("options.chdb_path", "must be a directory path or ':memory:'"))
        if chdb is None and not (isinstance(config.host, str) and config.host):
            out.append(FieldProblem(
                "host", "is required for db_type 'clickhouse' (or set options.chdb_path to "
                "use the embedded chDB engine)"))
        out.extend(bool_options(config, ("secure", "verify")))
        if config.database is not None and not config.database:
            out.append(FieldProblem("database", "must not be empty (omit it for 'default')"))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> ClickHouseOptions:
        """The options of a config that passed :meth:`problems`."""
        return options_from(cls, config)
