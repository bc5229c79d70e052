"""pytest plugin (``pytest11`` entry point): the conformance marker and engine fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dataloader_sdk.engines.base import Engine, EngineSettings

if TYPE_CHECKING:
    from dataloader_sdk.testing.machine import EngineFactory


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``conformance`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", "conformance: the dataloader-sdk model-based strategy conformance suite"
    )


def _delta_rs(root: Path) -> Engine:
    from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory

    return DeltaRsEngineFactory().open(EngineSettings(root=str(root)))


@pytest.fixture
def delta_rs_engine_factory() -> EngineFactory:
    """Opens the embedded delta-rs engine under a directory."""
    return _delta_rs
