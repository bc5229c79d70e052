"""Bad input: a clear error naming what is wrong; nothing written to Delta; state unchanged."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from dataloader_sdk.errors import (
    DataLoaderError,
    SourcePermanentError,
    SourceTransientError,
    UnknownNameError,
    ValidationError,
)
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


@pytest.fixture
def source_table(pg_server: PostgresServer, pg_database: str) -> str:
    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, updated_at timestamptz)")
        conn.execute("INSERT INTO items VALUES (1, now()), (2, now())")
    return "items"


def configure(loader: DataLoader, source: SourceConfig, **table: Any) -> str:
    loader.store.add_source(source, actor="test")
    fields: dict[str, Any] = {"name": "items", "source": source.name, "source_table": "items",
                              "target": TargetName("bronze", "items"), "strategy": "full"}
    fields.update(table)
    loader.store.add_table(TableConfig(**fields), actor="test")
    return str(fields["name"])


def assert_nothing_changed(loader: DataLoader, name: str, error_class: str) -> None:
    record = loader.store.get_table(name)
    assert record.state.watermark is None and record.state.txn_version == 0
    assert not loader.engine.exists(record.config.target)
    (run,) = loader.store.runs(name)
    assert run.status == "failed"
    assert run.error_class == error_class
    assert run.rows_written == 0


def test_unknown_table_names_the_known_ones(loader: DataLoader) -> None:
    with pytest.raises(UnknownNameError, match="unknown table 'nope'"):
        loader.load_table("nope")
    assert loader.store.runs() == []


def test_unknown_source(loader: DataLoader) -> None:
    with pytest.raises(UnknownNameError, match="unknown source 'ghost'"):
        loader.check_source("ghost")


@pytest.mark.parametrize(
    ("table", "error", "expected"),
    [
        ({"strategy": "incremental",
          "strategy_options": {"watermark_column": "changed_at", "primary_keys": ["id"]}},
         ValidationError, "column 'changed_at' does not exist in the source"),
        ({"strategy": "incremental", "strategy_options": {"watermark_column": "updated_at"}},
         ValidationError, "primary_keys: is required"),
        ({"source_table": "no_such_table"}, SourcePermanentError, "no_such_table"),
        ({"strategy": "snapshot_v2"}, UnknownNameError, "unknown strategy 'snapshot_v2'"),
    ],
)
def test_bad_table_config_fails_cleanly(
    loader: DataLoader, pg_source: SourceConfig, source_table: str,
    table: dict[str, Any], error: type[DataLoaderError], expected: str,
) -> None:
    name = configure(loader, pg_source, **table)
    with pytest.raises(error, match=expected) as info:
        loader.load_table(name)
    assert "items" in str(info.value) or "no_such_table" in str(info.value)
    assert_nothing_changed(loader, name, error.__name__)


SourceChange = Callable[[SourceConfig, PostgresServer], SourceConfig]


@pytest.mark.parametrize(
    ("change", "error", "expected"),
    [
        (lambda s, pg: SourceConfig(**{**s.__dict__, "port": _closed_port()}),
         SourceTransientError, "pg"),
        (lambda s, pg: SourceConfig(**{**s.__dict__, "secret": "env:DL_WRONG_PW"}),
         SourcePermanentError, "password"),
        (lambda s, pg: SourceConfig(**{**s.__dict__, "database": "no_such_db"}),
         SourcePermanentError, "no_such_db"),
    ],
    ids=["unreachable", "wrong-password", "missing-database"],
)
def test_bad_source_fails_cleanly_without_leaking_the_password(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, source_table: str,
    change: SourceChange, error: type[DataLoaderError], expected: str,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "Wr0ng-Pa55-zz9"
    monkeypatch.setenv("DL_WRONG_PW", wrong)
    caplog.set_level(logging.DEBUG)
    name = configure(loader, change(pg_source, pg_server))
    with pytest.raises(error, match=expected) as info:
        loader.load_table(name)
    assert_nothing_changed(loader, name, error.__name__)
    (run,) = loader.store.runs(name)
    for text in (str(info.value), repr(info.value), caplog.text, str(run), run.error_message or ""):
        assert pg_server.password not in text
        assert wrong not in text


def test_secret_never_reaches_logs_history_or_reprs_on_success(
    loader: DataLoader, pg_source: SourceConfig, pg_server: PostgresServer, source_table: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    name = configure(loader, pg_source)
    run = loader.load_table(name)
    assert run.status == "succeeded"
    texts = [caplog.text, repr(run), repr(loader.store.get_source("pg")),
             repr(loader.store.get_table(name)), repr(loader.store.audit_log())]
    for text in texts:
        assert pg_server.password not in text


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
