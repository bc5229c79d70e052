"""Builds small dataloader homes for the Dagster tests, through the public API only.

Source data is written and read back with raw ``sqlite3`` (never through the SDK), so a
test's reference is independent of the code under test.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from deltalake import DeltaTable

from dataloader_sdk import DataLoader, Settings
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName


def make_source_db(path: Path, tables: dict[str, int]) -> None:
    """A SQLite file with ``tables`` (name → row count): ``id``, ``name``, ``updated_at``."""
    with sqlite3.connect(path) as conn:
        for table, rows in tables.items():
            conn.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
                         "updated_at TEXT NOT NULL)")
            conn.executemany(
                f'INSERT INTO "{table}" VALUES (?, ?, ?)',
                [(i, f"{table}-{i}", f"2024-01-01 00:00:{i % 60:02d}") for i in range(1, rows + 1)],
            )
    conn.close()


def source_ids(path: Path, table: str) -> list[int]:
    """The ids of a source table, read with raw sqlite3."""
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute(f'SELECT id FROM "{table}"'))
    finally:
        conn.close()


def delta_table(delta_root: Path | str, target: str) -> DeltaTable:
    """The Delta table of ``target`` (``schema.table``) under ``delta_root``, read directly.

    Found by its ``_delta_log`` rather than by rebuilding the engine's path layout.
    """
    schema, table = target.split(".")
    logs = sorted(Path(delta_root).glob(f"**/{schema}/{table}/_delta_log"))
    assert len(logs) == 1, f"expected one Delta table for {target}, found {logs}"
    return DeltaTable(str(logs[0].parent))


def make_home(home: Path, *, control_url: str | None = None,
              control_secret: str | None = None) -> Settings:
    """A project home with its ``dataloader.toml`` (SQLite control DB by default)."""
    settings = Settings.default(home)
    if control_url is not None:
        settings = replace(settings, control_url=control_url, control_secret=control_secret)
    settings.write()
    return Settings.load(home)


def add_sqlite_source(loader: DataLoader, name: str, path: Path, *,
                      timeout: float | None = None) -> None:
    """Register a SQLite file as a ``sqlalchemy`` source (``timeout``: busy wait, seconds)."""
    url = f"sqlite:///{path.resolve()}"
    if timeout is not None:
        url += f"?timeout={timeout}"
    loader.add_source(SourceConfig(name=name, db_type="sqlalchemy", options={"url": url}),
                      actor="test")


def add_table(loader: DataLoader, name: str, source: str, source_table: str, target: str, *,
              strategy: str = "full", options: dict[str, object] | None = None,
              interval_seconds: int = 3600, priority: int = 100,
              freshness_sla_seconds: int | None = None) -> None:
    """Register a table (due at once: never run, with an interval)."""
    loader.add_table(
        TableConfig(name=name, source=source, source_table=source_table,
                    target=TargetName.parse(target), strategy=strategy,
                    strategy_options=dict(options if options is not None else {"primary_keys": ["id"]}),  # type: ignore[arg-type]
                    interval_seconds=interval_seconds, priority=priority,
                    freshness_sla_seconds=freshness_sla_seconds),
        actor="test",
    )
