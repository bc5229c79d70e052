"""A populated project for the UI tests: SQLite control DB, both environments, users.

Written through the store's public API (as an operator would with the CLI), except the
run history, which the runner writes: its rows go in through ``ControlStore.record_run``.
``SECRET_VALUE`` is what the source's secret reference resolves to; the route matrix
checks that no page ever contains it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dataloader_sdk.config import Settings
from dataloader_sdk.control import ControlStore
from dataloader_sdk.model import RunRecord, SourceConfig, TableConfig, TargetName

__all__ = ["PASSWORDS", "SECRET_ENV", "SECRET_VALUE", "populate_project"]

SECRET_ENV = "DL_UI_TEST_ERP_PASSWORD"
#: The resolvable secret of source ``erp``; never allowed in any response body.
SECRET_VALUE = "ui-secret-Zq8w3Xv1-never-on-a-page"
#: username -> password; the usernames are the roles.
PASSWORDS = {"viewer": "viewer-pass-1234", "editor": "editor-pass-1234",
             "approver": "approver-pass-1234", "approver2": "approver2-pass-1234"}
ROLES = {"viewer": "viewer", "editor": "editor", "approver": "approver",
         "approver2": "approver"}


def _source_db(home: Path) -> Path:
    """A small SQLite source database (what the tables read)."""
    path = home / "erp.db"
    with sqlite3.connect(path) as conn:
        for name in ("orders", "customers", "invoices", "payments", "shipments"):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {name} "
                         "(id INTEGER PRIMARY KEY, updated_at TEXT)")
    return path


def _tables(source_db: Path) -> list[TableConfig]:
    del source_db
    out = []
    for i, name in enumerate(("orders", "customers", "invoices", "payments", "shipments")):
        out.append(TableConfig(
            name=name, source="erp", source_table=name, target=TargetName("bronze", name),
            strategy="full", interval_seconds=3600 * (i + 1), priority=i,
            freshness_sla_seconds=7200))
    return out


def populate_project(home: Path, *, now: datetime | None = None) -> Settings:
    """Create a project in ``home``: sources, tables and runs in both environments.

    The pre-prod environment (``dataloader_test``) has one table more and one changed
    table, so there is something to promote. One prod table needs attention, one failed.
    Users: see :data:`PASSWORDS`.
    """
    from dataloader_sdk.ui.auth import hash_password

    now = now or datetime.now(timezone.utc)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dataloader.toml").write_text(
        'control_url = "sqlite:///.dataloader/dataloader.db"\n', encoding="utf-8")
    source_db = _source_db(home)
    settings = Settings.load(home=home, require_file=True)
    for environment in ("dataloader", "dataloader_test"):
        store: ControlStore = Settings.load(home=home, environment=environment).open_store()
        try:
            store.add_source(SourceConfig(
                name="erp", db_type="sqlalchemy", secret=f"env:{SECRET_ENV}",
                options={"url": f"sqlite:///{source_db}"}), actor="setup")
            for cfg in _tables(source_db):
                store.add_table(cfg, actor="setup")
            if environment == "dataloader_test":
                store.update_table(
                    TableConfig(name="orders", source="erp", source_table="orders",
                                target=TargetName("bronze", "orders"), strategy="full",
                                interval_seconds=900, priority=9,
                                freshness_sla_seconds=7200), actor="setup",
                    expected_version=store.get_table("orders").version)
                store.add_table(TableConfig(
                    name="returns", source="erp", source_table="orders",
                    target=TargetName("bronze", "returns"), strategy="full"), actor="setup")
            else:
                # The state machine's own path: idle -> queued -> failed (-> needs_attention).
                for name, path in (("payments", ("queued", "failed", "needs_attention")),
                                   ("invoices", ("queued", "failed"))):
                    for status in path:
                        store.set_status(name, status, actor="setup",  # type: ignore[arg-type]
                                         reason="test data")
                for k in range(12):
                    started = now - timedelta(hours=12 - k)
                    failed = k == 11
                    store.record_run(RunRecord(
                        run_id=f"run-{k:03d}", table_id=store.get_table("orders").table_id,
                        table="orders", strategy="full", engine="delta_rs",
                        status="failed" if failed else "succeeded", started_at=started,
                        finished_at=started + timedelta(seconds=20 + k * 3),
                        rows_read=1000 + k * 100, rows_written=0 if failed else 1000 + k * 100,
                        steps_committed=0 if failed else 1,
                        error_class="SourceTransientError" if failed else None,
                        error_message="connection reset by peer" if failed else None))
                for user, role in ROLES.items():
                    store.add_ui_user(user, role=role,
                                      password_hash=hash_password(PASSWORDS[user]))
        finally:
            store.close()
    return settings
