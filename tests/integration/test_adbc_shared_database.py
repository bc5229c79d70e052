"""One ADBC database per source, shared by the open sessions that read it (postgresql/read.py).

The rows each session streams are compared with the same query read by psycopg; the
sharing itself is seen on the sessions' database handles and the process's registry.
"""

from __future__ import annotations

import socket
import threading
import time
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
        assert first._db_key is not None and first._db_key == second._db_key
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
        assert first._db_key != second._db_key
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
        assert len({s._db_key for s in sessions}) == 1
    finally:
        for session in sessions:
            session.close()


def test_a_source_that_does_not_answer_holds_up_no_other(conninfo: str) -> None:
    """A database being created for a silent server (a socket that accepts and never
    answers, so libpq waits for ``connect_timeout``) must not block another source."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts connections; nobody ever answers them
    port = silent.getsockname()[1]
    stuck = AdbcSession(lambda: f"host=127.0.0.1 port={port} user=x dbname=x "
                                "connect_timeout=20")
    failed: list[BaseException] = []

    def read_silent() -> None:
        try:
            stuck.stream("SELECT 1")
        except BaseException as exc:  # expected: the connect times out
            failed.append(exc)

    waiting = threading.Thread(target=read_silent, daemon=True)
    other = AdbcSession(lambda: conninfo)
    held: list[socket.socket] = []  # accepted, never answered
    try:
        waiting.start()
        deadline = time.monotonic() + 10
        while not _accept(silent, held):  # the silent server has the connect now
            assert time.monotonic() < deadline, "the connect never reached the socket"
            time.sleep(0.01)
        started = time.monotonic()
        assert _rows(other.stream(QUERY)) == _expected(conninfo)
        assert waiting.is_alive(), "the silent source was expected to still be waiting"
        assert time.monotonic() - started < 15  # not queued behind the 20 s timeout
    finally:
        other.close()
        for conn in held:  # the waiting connect fails now instead of at its timeout
            conn.close()
        silent.close()
        waiting.join(timeout=30)
        stuck.close()
    assert not waiting.is_alive() and failed, "the silent source's read should have failed"


def _accept(server: socket.socket, held: list[socket.socket]) -> bool:
    """Take a connection waiting in ``server``'s backlog into ``held`` (kept open,
    never answered); whether there was one."""
    server.setblocking(False)
    try:
        conn, _ = server.accept()
    except BlockingIOError:
        return False
    held.append(conn)
    return True
