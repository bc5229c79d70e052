"""The Spark engine's typed settings, parsed once from EngineSettings (no Spark needed)."""

from __future__ import annotations

import sys

import pytest

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.spark import SparkEngineFactory, SparkSettings
from dataloader_sdk.engines.spark.settings import DEFAULT_INLINE_LIMIT
from dataloader_sdk.errors import ConfigError


def test_path_root_with_defaults() -> None:
    settings = SparkSettings.parse(EngineSettings(root="/data/delta"))
    assert settings == SparkSettings(root="/data/delta")
    assert settings.inline_limit_bytes == DEFAULT_INLINE_LIMIT
    assert settings.default_staging_dir == "/data/delta/_dl_staging"
    assert SparkSettings.parse(EngineSettings(root="s3://b/x")).default_staging_dir is None


def test_catalog_root_and_options_are_typed() -> None:
    settings = SparkSettings.parse(EngineSettings(
        root="uc:main",
        storage_options={"staging_dir": "/Volumes/main/dl/staging", "inline_limit_mb": "8"},
    ))
    assert settings == SparkSettings(
        catalog_mode=True, default_catalog="main", staging_dir="/Volumes/main/dl/staging",
        inline_limit_bytes=8 * 1024 * 1024,
    )
    assert SparkSettings.parse(EngineSettings(root="uc:")).default_catalog is None
    assert SparkSettings.parse(
        EngineSettings(root="/r", storage_options={"inline_limit_mb": "0"})
    ).inline_limit_bytes == 0


@pytest.mark.parametrize("value", ["lots", "1.5", "-1"])
def test_a_malformed_option_is_named(value: str) -> None:
    with pytest.raises(ConfigError, match=r"inline_limit_mb.*" + value):
        SparkSettings.parse(EngineSettings(root="/r", storage_options={"inline_limit_mb": value}))


def test_root_is_required() -> None:
    with pytest.raises(ConfigError, match=r"settings\.root"):
        SparkSettings.parse(EngineSettings(root=""))
    with pytest.raises(ConfigError, match="catalog_mode"):
        SparkSettings()


def test_unknown_options_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    settings = SparkSettings.parse(EngineSettings(root="/r", storage_options={"aws_region": "x"}))
    assert settings == SparkSettings(root="/r")
    assert "aws_region" in caplog.text


def test_factory_opens_from_typed_settings_without_spark() -> None:
    engine = SparkEngineFactory().open(EngineSettings(
        root="/r", storage_options={"staging_dir": "/s", "inline_limit_mb": "2"}))
    assert (engine.root, engine.staging_dir, engine.inline_limit_bytes) == ("/r", "/s", 2 << 20)
    assert engine.settings.staging_dir == "/s"
    assert "pyspark" not in sys.modules or engine._spark is None
