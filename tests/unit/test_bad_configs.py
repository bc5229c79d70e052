"""Malformed table configs are refused at the edge, naming the field; nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.errors import ConfigError, UnknownNameError, ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

INC = {"watermark_column": "updated_at", "primary_keys": ["id"]}
ROLL = {"window_column": "day", "window": "7d"}
BF = {"chunk_column": "id", "chunk_size": 1000}

# (strategy, options, the field the error must name)
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    # full
    ("full", {"watermark_column": "x"}, "watermark_column"),
    ("full", {"primary_keys": "  "}, "primary_keys"),
    ("full", {"primary_keys": [1, 2]}, "primary_keys"),
    # incremental
    ("incremental", {"primary_keys": ["id"]}, "watermark_column"),
    ("incremental", {"watermark_column": "updated_at"}, "primary_keys"),
    ("incremental", {**INC, "lookback": "two hours"}, "lookback"),
    ("incremental", {**INC, "lookback": -1}, "lookback"),
    ("incremental", {**INC, "lookback": True}, "lookback"),
    ("incremental", {**INC, "null_cursor": "ignore"}, "null_cursor"),
    ("incremental", {**INC, "delete_mode": "flag"}, "delete_mode"),
    ("incremental", {**INC, "delete_mode": "purge", "delete_column": "gone"}, "delete_mode"),
    ("incremental", {**INC, "watermark_column": ""}, "watermark_column"),
    ("incremental", {**INC, "watermark_column": ["a", "a"]}, "watermark_column"),
    ("incremental", {**INC, "primary_key": ["id"]}, "primary_key"),
    # append_only
    ("append_only", {}, "watermark_column"),
    ("append_only", {"watermark_column": "id", "lookback": 10}, "lookback"),
    ("append_only", {"watermark_column": "id", "lookback": "1h"}, "lookback"),
    ("append_only", {"watermark_column": "id", "primary_keys": ["id"]}, "primary_keys"),
    # rolling
    ("rolling", {"window": "7d"}, "window_column"),
    ("rolling", {"window_column": "day"}, "window"),
    ("rolling", {**ROLL, "window": "0d"}, "window"),
    ("rolling", {**ROLL, "window": "a week"}, "window"),
    ("rolling", {**ROLL, "empty_window_threshold": -5}, "empty_window_threshold"),
    ("rolling", {**ROLL, "windows": "7d"}, "windows"),
    # check_and_load
    ("check_and_load", {"load": "rolling"}, "load"),
    ("check_and_load", {"load": "incremental", "load_options": {"watermark_column": "u"}},
     "load_options.primary_keys"),
    ("check_and_load", {"load_options": "full"}, "load_options"),
    ("check_and_load", {"max_skip_age": "forever"}, "max_skip_age"),
    # chunked_backfill
    ("chunked_backfill", {"chunk_size": 10}, "chunk_column"),
    ("chunked_backfill", {"chunk_column": "id"}, "chunk_size"),
    ("chunked_backfill", {**BF, "chunk_size": 0}, "chunk_size"),
    ("chunked_backfill", {**BF, "chunk_size": -100}, "chunk_size"),
    ("chunked_backfill", {**BF, "chunk_size": "soon"}, "chunk_size"),
    ("chunked_backfill", {**BF, "start": "yesterday"}, "start"),
    ("chunked_backfill", {**BF, "start": 100, "end": 10}, "end"),
    ("chunked_backfill", {**BF, "start": 1, "end": "2026-01-01"}, "end"),
    ("chunked_backfill", {**BF, "max_chunks_per_run": -1}, "max_chunks_per_run"),
    ("chunked_backfill", {**BF, "then": "rolling"}, "then"),
    ("chunked_backfill", {**BF, "then": "incremental", "then_options": {"primary_keys": ["id"]}},
     "then_options.watermark_column"),
]


@pytest.fixture
def loader(tmp_path: Path) -> Iterator[DataLoader]:
    dl = DataLoader.from_settings(Settings.default(tmp_path), host=PluginHost())
    dl.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                               options={"url": f"sqlite:///{tmp_path / 's.db'}"}), actor="t")
    yield dl
    dl.close()


def test_there_are_at_least_thirty_cases() -> None:
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize(("strategy", "options", "field"), MALFORMED)
def test_malformed_config_is_refused_and_nothing_is_written(
    loader: DataLoader, strategy: str, options: dict[str, Any], field: str
) -> None:
    config = TableConfig(name="sales.orders", source="src", source_table="orders",
                         target=TargetName("bronze", "orders"), strategy=strategy,
                         strategy_options=options)
    audit_before = loader.store.audit_log()
    with pytest.raises(ValidationError) as info:
        loader.add_table(config, actor="t")
    message = str(info.value)
    assert "sales.orders" in message
    assert field in {p.field for p in info.value.problems}, message
    assert loader.store.list_tables() == []
    assert loader.store.audit_log() == audit_before
    assert not loader.engine.exists(config.target)


@pytest.mark.parametrize(
    ("changes", "error", "expected"),
    [
        ({"strategy": "snapshot"}, UnknownNameError, "unknown strategy 'snapshot'"),
        ({"source": "nosuch"}, UnknownNameError, "unknown source 'nosuch'"),
        ({"source_table": None}, ValidationError, "source_table"),
        ({"interval_seconds": -5}, ValidationError, "interval_seconds"),
        ({"name": "bad name"}, ValidationError, "name"),
    ],
)
def test_other_table_fields_are_checked_too(
    loader: DataLoader, changes: dict[str, Any], error: type[ConfigError], expected: str
) -> None:
    fields: dict[str, Any] = {"name": "t", "source": "src", "source_table": "orders",
                              "target": TargetName("bronze", "t"), "strategy": "full"}
    fields.update(changes)
    with pytest.raises(error, match=expected):
        loader.add_table(TableConfig(**fields), actor="t")
    assert loader.store.list_tables() == []


def test_unknown_db_type_lists_the_registered_ones(loader: DataLoader) -> None:
    with pytest.raises(UnknownNameError, match=r"unknown db_type 'mssql'.*postgresql"):
        loader.add_source(SourceConfig(name="x", db_type="mssql"), actor="t")
    assert [s.name for s in loader.store.list_sources()] == ["src"]
