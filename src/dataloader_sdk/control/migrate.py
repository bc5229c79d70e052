"""Running the control-database migrations (Alembic) programmatically.

The migration scripts live in this package (``control/migrations``); no ``alembic.ini`` is
needed. Upgrades run in one transaction on the caller's engine, so a failed upgrade
leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any fixed 64-bit number: concurrent processes opening the same PostgreSQL control DB
# serialise their upgrades on it instead of racing to CREATE SCHEMA / CREATE TABLE.
_PG_MIGRATION_LOCK = 0x646C5F6D696772


def alembic_config(schema: str | None) -> Config:
    """An Alembic config pointing at the packaged migrations, for ``schema``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["schema"] = schema
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this version of the SDK."""
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("no control-database migrations found in " + str(MIGRATIONS_DIR))
    return head


def current_revision(engine: sa.Engine, schema: str | None) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    with engine.connect() as conn:
        if schema is not None and not sa.inspect(conn).has_schema(schema):
            return None
        context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
        return context.get_current_revision()


def upgrade(engine: sa.Engine, schema: str | None, revision: str = "head") -> None:
    """Create the schema if needed and migrate it to ``revision`` in one transaction.

    Idempotent: on an up-to-date database it changes nothing.
    """
    config = alembic_config(schema)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            if schema is not None:
                conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
