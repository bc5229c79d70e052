"""The soak benchmark's short mode (benchmarks/soak.py) as a test.

Four worker processes load 20 tables from changing SQLite and PostgreSQL sources for
75 s while workers are SIGKILLed, sources vanish, lock up and refuse connections, and
control DB sessions are terminated; then the workers drain and every Delta table is
compared with its source read by raw drivers. Uses the session's PostgreSQL server.
"""

from __future__ import annotations

import pytest

from benchmarks.soak import SoakConfig, run_soak
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.integration]

FAULT_KINDS = ("worker_kill", "control_terminate", "source_refused", "source_missing",
               "source_locked")


@pytest.mark.timeout(900)
def test_short_soak_loses_and_duplicates_nothing(pg_server: PostgresServer) -> None:
    lines: list[str] = []
    report = run_soak(SoakConfig.short(), pg_dsn=pg_server.dsn(), log=lines.append)
    context = "\n".join(lines[-20:]) + f"\nproblems: {report['problems'][:5]}"

    rows = report["rows"]
    assert rows["lost"] == 0, context
    assert rows["duplicated"] == 0, context
    assert rows["stale"] == 0, context
    assert rows["source"] > 0 and rows["target"] == rows["source"], context

    tables = report["tables"]
    assert tables["not_loaded"] == [], context
    assert tables["loaded_after_last_change"] == tables["configured"] == 20
    assert tables["verified_ok"] == 20
    assert all(s["tables"] > 0 for s in tables["by_strategy"].values()), tables

    for kind in FAULT_KINDS:
        assert report["faults"].get(kind, 0) >= 1, (kind, report["faults"])
    assert report["fault_injector_errors"] == {}
    assert report["recovery"]["worker_restarts"] >= report["faults"]["worker_kill"]
    # Nothing may escape load_due, and no secret may reach a log of a soak process.
    assert report["escaped_from_load_due"]["by_class"] == {}, report["escaped_from_load_due"]
    assert report["secret_leaks"] == [], report["secret_leaks"]
    assert report["staleness_seconds"]["covered"] == report["staleness_seconds"]["changes"] > 0
    assert report["ok"]
