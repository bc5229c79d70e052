"""Both control environments of one control database, on SQLite and on the test PostgreSQL,
plus a reader of control rows that does not go through the store (raw sqlite3 / psycopg)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName


@dataclass
class ControlEnvs:
    """The URL, both stores, and how to read rows independently."""

    url: str
    backend: str
    test: ControlStore
    prod: ControlStore
    tmp: Path
    dsn: str | None = None

    def raw(self, env: str, sql: str, *params: object) -> list[dict[str, Any]]:
        """Rows of ``sql`` (``{t}`` is replaced by the environment's table prefix)."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.tmp / f"{env}.db")
            conn.row_factory = sqlite3.Row
            try:
                rows = conn.execute(sql.format(t=""), params).fetchall()
                return [dict(r) for r in rows]
            finally:
                conn.close()
        import psycopg
        from psycopg.rows import dict_row

        assert self.dsn is not None
        with psycopg.connect(self.dsn, row_factory=dict_row) as conn:
            text = sql.format(t=f"{env}.").replace("?", "%s")
            return list(conn.execute(text, params).fetchall())  # type: ignore[arg-type]

    def table_row(self, env: str, name: str) -> dict[str, Any] | None:
        """The raw ``table_control`` row of ``name``; JSON columns decoded."""
        rows = self.raw(env, "SELECT * FROM {t}table_control WHERE name = ?", name)
        if not rows:
            return None
        row = rows[0]
        for key in ("state", "strategy_options"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
        return row

    def audit(self, env: str, action: str) -> list[dict[str, Any]]:
        """The audit rows of ``action``, oldest first."""
        return self.raw(env, "SELECT entity_name, action, actor, change_set, environment "
                        "FROM {t}table_control_history WHERE action = ? ORDER BY id", action)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[
    pytest.mark.postgres, pytest.mark.integration])])
def envs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ControlEnvs]:
    """Both environments, migrated, with source ``src`` in each."""
    dsn = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/dataloader.db"
    else:
        server = request.getfixturevalue("pg_server")
        database = request.getfixturevalue("pg_database")
        url, dsn = server.url(database), server.dsn(database)
    test = ControlStore.open(url, "dataloader_test")
    prod = ControlStore.open(url, "dataloader")
    for store in (test, prod):
        store.add_source(SourceConfig("src", "postgresql", host="src-db", database="src",
                                      username="loader", secret="env:SRC_PASSWORD"),
                         actor="setup")
    try:
        yield ControlEnvs(url, request.param, test, prod, tmp_path, dsn)
    finally:
        test.close()
        prod.close()


def incremental(name: str, cursor: str = "updated_at", **kw: Any) -> TableConfig:
    """An incremental table on source ``src``."""
    options = {"watermark_column": cursor, "primary_keys": ["id"], **kw.pop("options", {})}
    return TableConfig(name, "src", TargetName.parse(f"bronze.{name}"), source_table=name,
                       strategy="incremental", strategy_options=options,
                       interval_seconds=600, **kw)
