"""Every strategy, on every source stand-in and engine, against its reference model.

Random sequences of source changes and loads (some crashing mid-read, before the Delta
commit, or after it but before the control update) must leave the Delta table equal to
the reference model: 0 rows lost, 0 duplicated. Scale with DL_CONFORMANCE_EXAMPLES and
DL_CONFORMANCE_STEPS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dataloader_sdk.testing import CASES, ConformanceCase, EngineFactory, run_conformance
from dataloader_sdk.testing.sim import SqlAlchemySourceHarness
from tests.conformance.conftest import SOURCES

pytestmark = [pytest.mark.conformance, pytest.mark.integration]


@pytest.mark.parametrize("source_harness", SOURCES, indirect=True)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_strategy_matches_its_reference_model(
    case: ConformanceCase,
    source_harness: SqlAlchemySourceHarness,
    delta_rs_engine_factory: EngineFactory,
    tmp_path: Path,
) -> None:
    run_conformance(case, source_harness, delta_rs_engine_factory, workdir=tmp_path)
