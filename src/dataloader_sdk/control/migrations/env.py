"""Alembic environment for the control database.

Run only through :func:`dataloader_sdk.control.migrate.upgrade`, which hands over an open
connection (inside a transaction) and the environment's schema in ``config.attributes``;
there is no ``alembic.ini`` and no URL here, so migrations never open connections of
their own.
"""

from __future__ import annotations

from alembic import context

from dataloader_sdk.control.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - guards against running `alembic` by hand
    raise RuntimeError(
        "the control-database migrations run through dataloader_sdk.control "
        "(ControlStore.upgrade or `dataloader control upgrade`), not the alembic CLI"
    )
schema = config.attributes.get("schema")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # The version table lives with the tables, so each environment schema on
    # PostgreSQL migrates independently.
    version_table_schema=schema,
    include_schemas=False,
    render_as_batch=connection.dialect.name == "sqlite",
)

with context.begin_transaction():
    context.run_migrations()
