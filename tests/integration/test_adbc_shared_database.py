"""One ADBC database per source, shared by the open sessions that read it (postgresql/read.py).

The rows each session streams are compared with the same query read by psycopg; the
sharing itself is seen on the sessions' database handles and the process's registry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from dataloader_sdk.connectors.postgresql.read import AdbcSession, shared_databases
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

QUERY = "SELECT g AS id, 'v' || g AS v FROM generate_series(1, 500) g"


@pytest.fixture
def conninfo(pg_server: PostgresServer, pg_database: str) -> str:
    return pg_server.dsn(pg_database)


def _rows(batches: Iterator[pa.RecordBatch]) -> list[tuple[Any, ...]]:
    table = pa.Table.from_batches(list(batches))
    return list(zip(table["id"].to_pylist(), table["v"].to_pylist(), strict=True))


def _expected(conninfo: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo) as conn:
        return [tuple(r) for r in conn.execute(QUERY).fetchall()]


def test_sessions_of_one_source_share_a_database_closed_by_the_last(conninfo: str) -> None:
    registry = shared_databases()
    before = registry.open_count()
    expected = _expected(conninfo)
    first, second = AdbcSession(lambda: conninfo), AdbcSession(lambda: conninfo)
    try:
        assert _rows(first.stream(QUERY)) == expected
        assert _rows(second.stream(QUERY)) == expected
        assert first._db is not None and first._db is second._db
        assert registry.open_count() == before + 1
        first.close()
        # The other session still holds it: its next read works on the same database.
        assert registry.open_count() == before + 1
        assert _rows(second.stream(QUERY)) == expected
    finally:
        first.close()
        second.close()
    assert registry.open_count() == before
    second.close()  # idempotent: releasing twice must not close another user's database
    assert registry.open_count() == before


def test_another_connection_string_gets_its_own_database(
    conninfo: str, pg_server: PostgresServer,
) -> None:
    other = conninfo + " application_name=another"
    first, second = AdbcSession(lambda: conninfo), AdbcSession(lambda: other)
    try:
        assert _rows(first.stream(QUERY)) == _rows(second.stream(QUERY)) == _expected(conninfo)
        assert first._db is not second._db
    finally:
        first.close()
        second.close()


def test_sessions_read_concurrently_from_one_database(conninfo: str) -> None:
    expected = _expected(conninfo)
    sessions = [AdbcSession(lambda: conninfo) for _ in range(4)]
    results: dict[int, list[tuple[Any, ...]]] = {}
    errors: list[BaseException] = []

    def read(i: int) -> None:
        try:
            for _ in range(5):
                results[i] = _rows(sessions[i].stream(QUERY))
                assert results[i] == expected
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a concurrent read hung"
        assert not errors, errors
        assert sorted(results) == [0, 1, 2, 3]
        assert len({id(s._db) for s in sessions}) == 1
    finally:
        for session in sessions:
            session.close()
