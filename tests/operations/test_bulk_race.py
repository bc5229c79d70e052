"""Two real processes race the same bulk edit: exactly one wins, the other gets a conflict
naming the tables, and nothing is half-applied (read back with raw sqlite3 / psycopg)."""

from __future__ import annotations

import multiprocessing
import queue
import time
from typing import Any

import pytest

from dataloader_sdk.control import ControlStore
from tests.operations.bulk_support import (  # noqa: F401 - fixtures
    Control,
    control_fixture,
    race_worker,
    seed,
)

SALES = ["sales_items", "sales_orders", "sales_returns"]


@pytest.mark.slow
def test_racing_bulk_edits_one_wins_the_other_conflicts(control: Control) -> None:
    store = ControlStore.open(control.url)
    seed(store)
    store.close()
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no shared pools
    barrier = ctx.Barrier(2)
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=race_worker, args=(control.url, p, barrier, results))
             for p in (1, 2)]
    for proc in procs:
        proc.start()
    outcomes: list[tuple[int, str, Any]] = []
    deadline = time.monotonic() + 180
    while len(outcomes) < 2 and time.monotonic() < deadline:
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    for proc in procs:
        proc.join(timeout=max(1.0, deadline - time.monotonic()))
    assert len(outcomes) == 2, f"a racer did not report: {outcomes}"
    assert not [o for o in outcomes if o[1] == "error"], outcomes
    applied = [o for o in outcomes if o[1] == "applied"]
    conflicts = [o for o in outcomes if o[1] == "conflict"]
    assert len(applied) == 1 and len(conflicts) == 1, outcomes
    winner, _, change_set = applied[0]
    assert conflicts[0][2] == SALES  # every table named

    rows = control.raw.tables()
    for name in SALES:  # all the winner's values, none of the loser's
        assert rows[name]["priority"] == winner
        assert rows[name]["strategy_options"] == {"note": f"p{winner}"}
        assert rows[name]["version"] == 2
    bulk = [r for r in control.raw.audit() if r["action"] == "bulk"]
    assert sorted(r["entity_name"] for r in bulk) == SALES
    assert {r["change_set"] for r in bulk} == {change_set}
    assert {r["actor"] for r in bulk} == {f"racer-{winner}"}
