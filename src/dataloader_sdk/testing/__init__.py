"""Test kit for dataloader-sdk and its plugin authors.

Four tools, each importable from here (``docs/testing.md``, ``docs/plugins.md``):

* **Conformance** (:func:`run_conformance`, :data:`CASES`): random source changes,
  loads and injected crashes against a reference model of every strategy. A
  third-party connector runs it against itself by providing a :class:`SourceHarness`::

      import pytest
      from dataloader_sdk.testing import CASES, run_conformance

      @pytest.mark.conformance
      @pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
      def test_my_connector(case, my_source_harness, delta_rs_engine_factory, tmp_path):
          run_conformance(case, my_source_harness, delta_rs_engine_factory, workdir=tmp_path)

* **Connector contract** (:func:`run_contract_check`, :data:`CONTRACT_CHECKS`): the
  documented rules of a connector (type map, empty schema, bounded memory, probe
  precision, error classes, resources released after a crashed load), given a
  :class:`ContractSource` that makes tables of the :data:`SHAPES` in the source.
* **Table shapes** (:data:`SHAPES`, :func:`run_shape_load`, :data:`SHAPE_LOADS`): tables
  beyond the conformance one (composite key, no key, wide, names that need quoting),
  each loaded with the strategies that apply and compared with the source.
* **An in-memory control store** (:class:`InMemoryControlStore`): the
  :class:`~dataloader_sdk.control.protocol.ControlStoreProtocol` without a database,
  for unit tests of a strategy or connector.
* **Crash injection** (:class:`FaultyEngine`, :data:`CRASH_POINTS`).

The pytest plugin (entry point ``pytest11``: ``dataloader_sdk``) registers the
``conformance`` marker and provides the ``delta_rs_engine_factory`` fixture. Importing this
package needs ``hypothesis`` only when a suite runs.
"""

from __future__ import annotations

from dataloader_sdk.testing.cases import CASES, TODAY, ConformanceCase, case
from dataloader_sdk.testing.contract import (
    CONTRACT_CHECKS,
    ContractSkipped,
    check_connector,
    run_contract_check,
)
from dataloader_sdk.testing.contract_sources import (
    ContractSource,
    ShapeSource,
    SqlAlchemyContractSource,
    open_file_handles,
)
from dataloader_sdk.testing.faults import CRASH_POINTS, CrashPoint, FaultyEngine, InjectedCrash
from dataloader_sdk.testing.machine import NOW, EngineFactory, run_conformance
from dataloader_sdk.testing.memory_store import InMemoryControlStore
from dataloader_sdk.testing.reference import SignatureMode
from dataloader_sdk.testing.shape_loads import SHAPE_LOADS, ShapeLoad, run_shape_load
from dataloader_sdk.testing.shapes import SHAPES, ColumnKind, ShapeColumn, TableShape, shape
from dataloader_sdk.testing.sim import SimRow, SimTable, SourceHarness, SqlAlchemySourceHarness

__all__ = [
    "CASES",
    "CONTRACT_CHECKS",
    "CRASH_POINTS",
    "NOW",
    "SHAPES",
    "SHAPE_LOADS",
    "TODAY",
    "ColumnKind",
    "ConformanceCase",
    "ContractSkipped",
    "ContractSource",
    "CrashPoint",
    "EngineFactory",
    "FaultyEngine",
    "InMemoryControlStore",
    "InjectedCrash",
    "ShapeColumn",
    "ShapeLoad",
    "ShapeSource",
    "SignatureMode",
    "SimRow",
    "SimTable",
    "SourceHarness",
    "SqlAlchemyContractSource",
    "SqlAlchemySourceHarness",
    "TableShape",
    "case",
    "check_connector",
    "open_file_handles",
    "run_conformance",
    "run_contract_check",
    "run_shape_load",
    "shape",
]
