"""Spark JDBC options of a ``postgresql`` source: the URL and the driver class."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataloader_sdk.connectors.jdbc import (
    JdbcOptions,
    check_url_fields,
    jdbc_options_for,
    property_problems,
)
from dataloader_sdk.connectors.postgresql.options import POSTGRES_DRIVER
from dataloader_sdk.errors import FieldProblem, ValidationError
from dataloader_sdk.model import SourceConfig, SourceObject

if TYPE_CHECKING:
    from dataloader_sdk.secrets import Secret

__all__ = ["POSTGRES_DRIVER", "POSTGRES_JDBC_PACKAGE", "postgres_jdbc_options"]

#: Maven coordinates of the PostgreSQL JDBC driver (for ``spark.jars.packages``).
POSTGRES_JDBC_PACKAGE = "org.postgresql:postgresql:42.7.4"


def postgres_jdbc_options(
    config: SourceConfig,
    secret: Secret | None,
    obj: SourceObject | None = None,
    *,
    fetchsize: int | None = None,
) -> JdbcOptions:
    """JDBC options for a ``postgresql`` source.

    Args:
        config: the source (host, port, database, username; ``options.jdbc_properties``
            may add driver properties from ``JDBC_PROPERTY_ALLOWLIST``, e.g. ``sslmode``).
        secret: the resolved password.
        obj: the table (quoted by the PostgreSQL dialect) or query to read, if any.
        fetchsize: rows per round trip; default ``options.fetchsize`` or 10,000.

    Raises:
        ValidationError: host or database missing or not plain names (they would change
            the URL), a property outside the allowlist, or bad options.
    """
    from sqlalchemy.dialects import postgresql

    problems: list[FieldProblem] = []
    if not config.host:
        problems.append(FieldProblem("host", "a JDBC read needs the source host"))
    if not config.database:
        problems.append(FieldProblem("database", "a JDBC read needs the database name"))
    extra = config.options.get("jdbc_properties", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        problems.append(
            FieldProblem("options.jdbc_properties", "must be an object of string values")
        )
    else:
        problems.extend(property_problems(POSTGRES_DRIVER, extra, "options.jdbc_properties"))
    if problems:
        raise ValidationError(f"source {config.name!r} for a Spark JDBC read", problems)
    port = config.port or 5432
    check_url_fields(config.name, host=config.host, port=port, database=config.database)
    return jdbc_options_for(
        config, secret, obj, url=f"jdbc:postgresql://{config.host}:{port}/{config.database}",
        driver=POSTGRES_DRIVER, dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        dialect_name="postgresql", fetchsize=fetchsize)
