"""The ``sqlalchemy`` connector's options: the URL (never with a password), parsed once."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dataloader_sdk.connectors.checks import positive_ints, unknown_options
from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.secrets import redact

__all__ = ["OPTIONS", "SqlAlchemyOptions"]

OPTIONS = ("url", "drivername", "batch_rows")


def _url(config: SourceConfig) -> sa.URL:
    """The configured URL without a password (raises ArgumentError/ValueError if invalid)."""
    raw = config.options.get("url")
    if isinstance(raw, str) and raw:
        return sa.engine.make_url(raw)
    return sa.URL.create(
        str(config.options["drivername"]), username=config.username, host=config.host,
        port=config.port, database=config.database,
    )


@dataclass(frozen=True)
class SqlAlchemyOptions:
    """``options`` of a ``sqlalchemy`` source (docs/connectors/sqlalchemy.md)."""

    #: ``options.url``, or a URL built from ``options.drivername`` and the fields.
    url: sa.URL

    @staticmethod
    def problems(config: SourceConfig) -> list[FieldProblem]:
        """Problems of ``config`` (all at once); never echoes a password."""
        out = unknown_options(config, OPTIONS)
        opts = config.options
        url, driver = opts.get("url"), opts.get("drivername")
        if url is not None and not isinstance(url, str):
            out.append(FieldProblem("options.url", "must be a string"))
        elif driver is not None and not isinstance(driver, str):
            out.append(FieldProblem("options.drivername", "must be a string"))
        elif not url and not (driver and config.database):
            out.append(FieldProblem(
                "options.url",
                "is required (e.g. 'sqlite:///data/app.db'), or set options.drivername and "
                "database",
            ))
        else:
            try:
                parsed = _url(config)
            except (sa.exc.ArgumentError, ValueError) as exc:
                out.append(
                    FieldProblem("options.url", f"is not a SQLAlchemy URL: {redact(str(exc))}")
                )
            else:
                if parsed.password is not None:
                    out.append(FieldProblem(
                        "options.url",
                        f"must not contain a password ({parsed.render_as_string()}); store it "
                        "in a secret and set the source's secret reference (e.g. env:DB_PW)",
                    ))
        out.extend(positive_ints(config, ("batch_rows",)))
        return out

    @classmethod
    def parse(cls, config: SourceConfig) -> SqlAlchemyOptions:
        """The options of a config that passed :meth:`problems`."""
        return cls(url=_url(config))
