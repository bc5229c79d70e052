"""Every table shape of the kit loads correctly from SQLite and PostgreSQL with each
strategy that applies to it (composite key, no key, wide, hostile names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataloader_sdk.testing import EngineFactory, SqlAlchemyContractSource
from dataloader_sdk.testing.shape_loads import SHAPE_LOADS, ShapeLoad, run_shape_load

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("load", SHAPE_LOADS, ids=lambda load: load.id)
def test_every_shape_loads(load: ShapeLoad, contract_source: tuple[str, SqlAlchemyContractSource],
                          delta_rs_engine_factory: EngineFactory, tmp_path: Path) -> None:
    run_shape_load(load, contract_source[1], delta_rs_engine_factory, workdir=tmp_path / "run")
