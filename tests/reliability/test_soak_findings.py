"""Minimal reproductions of what the soak (benchmarks/soak.py) found.

Each test states the wanted behaviour; while the finding is open it is ``xfail`` with
``strict=True``, so the fix turns it into a failure that asks for the marker's removal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dataloader_sdk import DataLoader, Settings
from dataloader_sdk.model import SourceConfig, TableConfig, TargetName
from dataloader_sdk.plugins import PluginHost

pytestmark = [pytest.mark.integration]


def test_missing_sqlite_source_file_is_not_created(tmp_path: Path) -> None:
    # The soak renames a source file away for a few seconds and back; meanwhile a load
    # ran against the path. A reader must never create a source, and the error should
    # name the missing file rather than send the user looking for a missing table.
    loader = DataLoader.from_settings(Settings.default(tmp_path), host=PluginHost())
    source = tmp_path / "moved-away.db"
    loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                   options={"url": f"sqlite:///{source}"}), actor="test")
    loader.add_table(TableConfig(name="events", source="src", source_table="events",
                                 target=TargetName("bronze", "events"), strategy="full"),
                     actor="test")
    try:
        record = loader.load_table("events", raise_on_error=False)
    finally:
        loader.close()
    assert record.status == "failed"
    assert not source.exists(), "the load created the missing source file"
    assert "moved-away.db" in (record.error_message or "")


def test_capping_keeps_the_reason_between_two_quoted_words() -> None:
    from dataloader_sdk.secrets import cap_quoted_values

    # libpq's message when the source refuses the role (the soak's source_refused fault).
    message = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
               'FATAL:  too many connections for role "soak_reader"')
    assert "too many connections for role" in cap_quoted_values(message)


def test_claim_due_does_not_starve_tables_with_high_ids(tmp_path: Path) -> None:
    # The 200-table soak on a saturated machine: tables with short intervals are due
    # again before the backlog is worked off. Here capacity is one claim per tick and
    # three equal-priority tables are due every tick: each must still get its turn.
    from datetime import timedelta

    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.model import utcnow

    store = ControlStore.open(f"sqlite:///{tmp_path / 'dataloader.db'}")
    try:
        store.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                      options={"url": f"sqlite:///{tmp_path / 's.db'}"}),
                         actor="test")
        for name in ("a", "b", "c"):
            store.add_table(TableConfig(name=name, source="src", source_table=name,
                                        target=TargetName("bronze", name),
                                        interval_seconds=1), actor="test")
        now = utcnow()
        claimed: list[str] = []
        for _ in range(9):
            now += timedelta(seconds=2)
            store.enqueue_due(now=now)
            for claim in store.claim_due(owner="w", limit=1, lease_seconds=60, now=now):
                claimed.append(claim.table.name)
                store.finish(claim, status="succeeded", now=now)
    finally:
        store.close()
    assert set(claimed) == {"a", "b", "c"}, claimed
