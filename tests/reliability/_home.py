"""A small project home for reliability tests: SQLite source, SQLite control DB, delta_rs.

The reference read of the source is raw ``sqlite3``, never the connector under test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dataloader_sdk.config import Settings
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

TARGET = TargetName("bronze", "orders")
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand, so leases and retries expire without sleeping."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_source(path: Path, ids: range) -> None:
    """An ``orders`` table: id, int cursor ``seq`` (= id), text payload."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, seq INTEGER, "
                     "v TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(i, i, f"v{i}") for i in ids])
    conn.close()


def source_ids(path: Path) -> list[int]:
    """The source's ids, read with raw sqlite3."""
    conn = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT id FROM orders"))
    finally:
        conn.close()


def open_loader(
    home: Path,
    *,
    environment: str = "dataloader",
    clock: Callable[[], datetime] | None = None,
    lease_seconds: int = 3600,
    store_kwargs: dict[str, object] | None = None,
) -> DataLoader:
    """A loader over ``home`` (settings from its dataloader.toml when present)."""
    settings = Settings.load(home=home, environment=environment)
    if not (home / "dataloader.toml").exists():
        settings.write()
    from dataloader_sdk.control.store import ControlStore

    Path(settings.control_url.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                       exist_ok=True)
    store = ControlStore.open(settings.control_url, settings.environment,  # type: ignore[arg-type]
                              **(store_kwargs or {}))  # type: ignore[arg-type]
    host = PluginHost()
    engine = host.engine("delta_rs").open(_engine_settings(settings.delta_root))
    kwargs: dict[str, object] = {"host": host, "lease_seconds": lease_seconds}
    if clock is not None:
        kwargs["clock"] = clock
    return DataLoader(store, engine, **kwargs)  # type: ignore[arg-type]


def _engine_settings(root: str) -> object:
    from dataloader_sdk.engines.base import EngineSettings

    return EngineSettings(root=root)


def register(
    loader: DataLoader, source: Path, *, name: str = "orders", strategy: str = "append_only",
    options: dict[str, object] | None = None, target: TargetName = TARGET,
) -> None:
    """Add the source (once) and one table reading ``orders``."""
    if "src" not in {s.name for s in loader.store.list_sources()}:
        loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                       options={"url": f"sqlite:///{source}"}), actor="t")
    loader.add_table(TableConfig(
        name=name, source="src", source_table="orders", target=target, strategy=strategy,
        strategy_options=options if options is not None else {"watermark_column": "seq"},
        interval_seconds=60,
    ), actor="t")


def target_ids(loader: DataLoader, target: TargetName = TARGET) -> list[int]:
    """The Delta table's ids (duplicates kept, so a duplicate shows)."""
    if not loader.engine.exists(target):
        return []
    return sorted(loader.engine.read(target).column("id").to_pylist())
