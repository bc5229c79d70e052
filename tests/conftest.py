"""Shared fixtures: one real PostgreSQL server per test run, fresh databases per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.postgres import PostgresServer, start_postgres
from tests.servers.workers import shared_server


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test run (started once, stopped at the end).

    On an xdist worker it is the controller's server (tests/servers/workers.py).
    """
    shared = shared_server(request.config, "postgres")
    if shared is not None:
        yield PostgresServer.attach(shared)
        return
    server = start_postgres(max_connections=200)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_database(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database for one test; yields its name."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def delta_root(tmp_path: Path) -> Path:
    """A directory for local Delta tables."""
    root = tmp_path / "delta"
    root.mkdir()
    return root


# Secret-leak scanning of every test's logs, output and control DBs (tests/leakscan.py).
from tests.leakscan import (  # noqa: E402, F401
    leak_scan,
    pytest_runtest_call,
    pytest_runtest_makereport,
)

# MariaDB (tests/servers/mariadb.py): registered here so the server starts once per run.
from tests.servers.mariadb import mariadb_database, mariadb_server  # noqa: E402, F401

# pytest-xdist: one server of each kind for all workers, and per-worker groups and TMPDIR.
from tests.servers.workers import (  # noqa: E402, F401
    pytest_configure,
    pytest_configure_node,
    pytest_xdist_make_scheduler,
)
