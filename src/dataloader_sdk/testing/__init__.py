"""Test kit for dataloader-sdk and its plugin authors.

The conformance suite (:func:`run_conformance`) drives random source changes, loads and
injected crashes against a reference model of every strategy. A third-party connector
runs it against itself by providing a :class:`SourceHarness`::

    import pytest
    from dataloader_sdk.testing import CASES, run_conformance

    @pytest.mark.conformance
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
    def test_my_connector(case, my_source_harness, delta_rs_engine_factory, tmp_path):
        run_conformance(case, my_source_harness, delta_rs_engine_factory, workdir=tmp_path)

The pytest plugin (entry point ``pytest11``: ``dataloader_sdk``) registers the
``conformance`` marker and provides the ``delta_rs_engine_factory`` fixture. Importing this
package needs ``hypothesis`` only when a suite runs.
"""

from __future__ import annotations

from dataloader_sdk.testing.cases import CASES, TODAY, ConformanceCase, case
from dataloader_sdk.testing.faults import CRASH_POINTS, CrashPoint, FaultyEngine, InjectedCrash
from dataloader_sdk.testing.machine import NOW, EngineFactory, run_conformance
from dataloader_sdk.testing.memory_store import InMemoryControlStore
from dataloader_sdk.testing.sim import SimRow, SimTable, SourceHarness, SqlAlchemySourceHarness

__all__ = [
    "CASES",
    "CRASH_POINTS",
    "NOW",
    "TODAY",
    "ConformanceCase",
    "CrashPoint",
    "EngineFactory",
    "FaultyEngine",
    "InMemoryControlStore",
    "InjectedCrash",
    "SimRow",
    "SimTable",
    "SourceHarness",
    "SqlAlchemySourceHarness",
    "case",
    "run_conformance",
]
