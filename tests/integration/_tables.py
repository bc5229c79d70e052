"""Small incremental PostgreSQL tables for the batch tests (created with psycopg)."""

from __future__ import annotations

import psycopg

from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from tests.servers.postgres import PostgresServer


def incremental_tables(
    loader: DataLoader, source: SourceConfig, server: PostgresServer, db: str, *,
    prefix: str, tables: int, rows: int, interval_seconds: int | None = None,
) -> list[str]:
    """Create ``prefix0``... (``rows + i`` rows each: ``id``, ``v``, ``updated_at`` one
    second apart), add ``source`` and an ``incremental`` table of each; their names."""
    with psycopg.connect(server.dsn(db), autocommit=True) as conn:
        for i in range(tables):
            conn.execute(f"CREATE TABLE {prefix}{i} (id bigint PRIMARY KEY, v text, "
                         "updated_at timestamptz NOT NULL)")
            conn.execute(f"INSERT INTO {prefix}{i} SELECT g, 'v' || g, "
                         "'2026-11-01'::timestamptz + g * interval '1 second' "
                         "FROM generate_series(1, %s) g", (rows + i,))
    loader.store.add_source(source, actor="test")
    names = [f"{prefix}{i}" for i in range(tables)]
    for name in names:
        loader.store.add_table(TableConfig(
            name=name, source=source.name, source_table=name, source_schema="public",
            target=TargetName("bronze", name), strategy="incremental",
            interval_seconds=interval_seconds,
            strategy_options={"primary_keys": ["id"], "watermark_column": "updated_at"},
        ), actor="test")
    return names
