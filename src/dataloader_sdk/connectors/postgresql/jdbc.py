"""Spark JDBC options of a ``postgresql`` source: the URL and the driver class."""

from __future__ import annotations

from sqlalchemy.engine import Dialect

from dataloader_sdk.connectors.jdbc import JdbcFlavor, check_url_fields, property_problems
from dataloader_sdk.connectors.postgresql.options import POSTGRES_DRIVER
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig

__all__ = ["POSTGRES_DRIVER", "POSTGRES_JDBC_PACKAGE", "postgres_jdbc_options"]

#: Maven coordinates of the PostgreSQL JDBC driver (for ``spark.jars.packages``).
POSTGRES_JDBC_PACKAGE = "org.postgresql:postgresql:42.7.4"


def _url(config: SourceConfig) -> str:
    """``jdbc:postgresql://host:port/db``; ``options.jdbc_properties`` is checked too."""
    problems: list[FieldProblem] = []
    if not config.host:
        problems.append(FieldProblem("host", "a JDBC read needs the source host"))
    if not config.database:
        problems.append(FieldProblem("database", "a JDBC read needs the database name"))
    extra = config.options.get("jdbc_properties", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        problems.append(
            FieldProblem("options.jdbc_properties", "must be an object of string values"))
    else:
        problems.extend(property_problems(POSTGRES_DRIVER, extra, "options.jdbc_properties"))
    if problems:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", problems)
    port = config.port or 5432
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    return f"jdbc:postgresql://{config.host}:{port}/{config.database}"


def _dialect() -> Dialect:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()  # type: ignore[no-untyped-call]


#: JDBC options for a ``postgresql`` source (``options.jdbc_properties`` may add driver
#: properties from ``JDBC_PROPERTY_ALLOWLIST``, e.g. ``sslmode``); see :class:`JdbcFlavor`.
postgres_jdbc_options = JdbcFlavor(driver=POSTGRES_DRIVER, dialect_name="postgresql",
                                   url=_url, dialect=_dialect)
