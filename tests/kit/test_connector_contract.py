"""The kit's connector-contract check on the built-in connectors it can reach here:
SQLite through ``sqlalchemy`` (a URL) and PostgreSQL. Every rule must hold."""

from __future__ import annotations

import pytest

from dataloader_sdk.plugins import PluginHost
from dataloader_sdk.testing import CONTRACT_CHECKS, SqlAlchemyContractSource, run_contract_check

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("check", CONTRACT_CHECKS)
def test_builtin_connector_keeps_the_contract(
    check: str, contract_source: tuple[str, SqlAlchemyContractSource],
) -> None:
    db_type, source = contract_source
    run_contract_check(check, PluginHost().connector(db_type), source)
