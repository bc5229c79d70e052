"""The PostgreSQL fixture really starts a server we can query."""

from __future__ import annotations

import pytest

from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def test_server_answers_and_database_is_fresh(pg_server: PostgresServer, pg_database: str) -> None:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database)) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert version is not None and int(version[0]) >= 130000
    assert tables == (0,)
