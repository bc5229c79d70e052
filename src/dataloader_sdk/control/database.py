"""Connecting to the control database of one environment.

``dataloader`` (prod) and ``dataloader_test`` (pre-prod) never share tables: on SQLite
each is its own file, on PostgreSQL its own schema (applied through
``schema_translate_map``, so the same ``Table`` objects serve both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from dataloader_sdk.errors import ConfigError

__all__ = [
    "ENVIRONMENTS",
    "Environment",
    "EnvironmentTarget",
    "create_control_engine",
    "resolve_environment",
]

Environment = Literal["dataloader", "dataloader_test"]
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)

# How long a SQLite writer waits for another writer before giving up (seconds).
_SQLITE_BUSY_TIMEOUT = 30.0


@dataclass(frozen=True)
class EnvironmentTarget:
    """Where one environment's control tables live.

    Attributes:
        url: The SQLAlchemy URL to connect to (for SQLite, the environment's own file).
        schema: The PostgreSQL schema holding the tables, ``None`` on SQLite.
        dialect: The backend name (``sqlite`` or ``postgresql``).
    """

    url: URL
    schema: str | None
    dialect: str


def resolve_environment(url: str, environment: str) -> EnvironmentTarget:
    """Work out where ``environment``'s tables live for the control ``url``.

    SQLite: the file stem is replaced by the environment name, so
    ``sqlite:///DIR/dataloader.db`` gives ``DIR/dataloader.db`` and ``DIR/dataloader_test.db``
    (the URL chooses the directory and extension). In-memory URLs are used as they are.
    PostgreSQL: the same database, schema named after the environment.

    Raises:
        ConfigError: Unknown environment, unparseable URL, or an unsupported backend.
    """
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"unknown control environment {environment!r}; use one of {', '.join(ENVIRONMENTS)}"
        )
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"control database URL could not be parsed ({exc}); use e.g. "
            "'sqlite:///path/dataloader.db' or 'postgresql+psycopg://user@host/db'"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            path = PurePath(database)
            parsed = parsed.set(database=str(path.with_name(environment + path.suffix)))
        return EnvironmentTarget(parsed, None, backend)
    if backend == "postgresql":
        return EnvironmentTarget(parsed, environment, backend)
    raise ConfigError(
        f"control database backend {backend!r} is not supported; use sqlite or postgresql"
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so that
    # every transaction can start with BEGIN IMMEDIATE (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL syncs at checkpoints, not at every commit: a killed process
        # loses nothing committed, a power failure may lose the last few transactions
        # (never corrupts). FULL cost ~3 ms of fsync per commit, three commits per run:
        # most of an unchanged table's run. The Delta commit is the truth either way; a
        # control state that fell behind is rolled forward from it (docs/control-database.md).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    # One writer at a time: taking the write lock up front means a claim's read and
    # write can never interleave with another worker's, and readers never have to
    # upgrade a shared lock (which is where SQLite deadlocks with SQLITE_BUSY).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_control_engine(
    target: EnvironmentTarget, *, busy_timeout: float = _SQLITE_BUSY_TIMEOUT,
    credential_provider: Callable[[], str] | None = None,
) -> Engine:
    """An engine for one environment, configured for safe concurrent claims.

    ``busy_timeout``: how long a SQLite writer waits for another one (seconds).
    ``credential_provider``: PostgreSQL only; called for the password of every new pooled
    connection (short-lived credentials such as Lakebase's, see
    :mod:`dataloader_sdk.control.lakebase`); the password is handed to the driver only.
    The caller owns the engine and must ``dispose()`` it.

    Raises:
        ConfigError: ``credential_provider`` with a SQLite URL.
    """
    if credential_provider is not None and target.dialect != "postgresql":
        raise ConfigError("a control DB credential provider (e.g. lakebase:INSTANCE) needs a "
                          f"postgresql control URL, got {target.dialect}")
    if target.dialect == "sqlite":
        engine = sa.create_engine(
            target.url, connect_args={"timeout": busy_timeout}
        )
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = sa.create_engine(
        target.url,
        pool_pre_ping=True,
        execution_options={"schema_translate_map": {None: target.schema}},
    )
    if credential_provider is not None:
        provider = credential_provider

        def _fresh_password(_dialect: Any, _record: Any, _cargs: Any, cparams: Any) -> None:
            # Every new DBAPI connection gets a fresh credential; pooled ones keep theirs
            # (the server checks a password only at login).
            cparams["password"] = provider()

        sa.event.listen(engine, "do_connect", _fresh_password)
    return engine
