"""The audit history on SQLite and PostgreSQL: filters, pages, field diffs, references only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dataloader_sdk.control import ControlStore
from dataloader_sdk.control.audit_query import AuditQuery
from dataloader_sdk.control.database import create_control_engine, resolve_environment
from dataloader_sdk.errors import ValidationError
from dataloader_sdk.model import SourceConfig
from dataloader_sdk.model.operations import FieldChange, TableChanges, TableSelection
from tests.operations.bulk_support import Control, control_fixture, seed  # noqa: F401

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand (each call returns the current value)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(control: Control, clock: Clock) -> Iterator[ControlStore]:
    """A store whose audit times come from ``clock``: seed at T0, edits an hour apart."""
    ControlStore.open(control.url).close()  # migrate
    target = resolve_environment(control.url, "dataloader")
    s = ControlStore(create_control_engine(target), target, "dataloader", clock=clock)
    seed(s)  # 8 entries at T0 by "seed"
    clock.now = T0 + timedelta(hours=1)
    s.bulk_update(TableSelection(name_glob="sales_*"), TableChanges({"priority": 5}),
                  actor="alice")
    clock.now = T0 + timedelta(hours=2)
    s.bulk_update(TableSelection(source="crm"), TableChanges({"interval_seconds": 60}),
                  actor="bob")
    clock.now = T0 + timedelta(hours=3)
    s.update_source(SourceConfig("erp", "sqlalchemy", options={"url": "sqlite:///erp2.db"},
                                 secret="env:ERP_PASSWORD_V2"), actor="carol")
    yield s
    s.close()


def _ids(page: object) -> list[str]:
    return [f"{e.entity}:{e.action}" for e in page.entries]  # type: ignore[attr-defined]


def test_filters(store: ControlStore, control: Control) -> None:
    everything = store.query_audit(AuditQuery(limit=100))
    assert everything.total == len(control.raw.audit()) == 8 + 3 + 2 + 1
    assert [e.id for e in everything.entries] == sorted(
        (e.id for e in everything.entries), reverse=True)  # newest first

    assert _ids(store.query_audit(AuditQuery(table="sales_orders"))) == [
        "sales_orders:bulk", "sales_orders:create"]
    by_source = store.query_audit(AuditQuery(source="crm", limit=100))
    assert sorted(_ids(by_source)) == sorted([
        "leads:bulk", "contacts:bulk", "leads:create", "contacts:create", "crm:create"])
    assert store.query_audit(AuditQuery(actor="bob")).total == 2
    assert store.query_audit(AuditQuery(action="bulk")).total == 5
    bulk_of_alice = store.query_audit(AuditQuery(actor="alice", action="bulk"))
    change_set = bulk_of_alice.entries[0].change_set
    assert change_set is not None
    assert {e.change_set for e in bulk_of_alice.entries} == {change_set}
    assert sorted(_ids(store.query_audit(AuditQuery(change_set=change_set)))) == [
        "sales_items:bulk", "sales_orders:bulk", "sales_returns:bulk"]
    window = store.query_audit(AuditQuery(since=T0 + timedelta(minutes=30),
                                          until=T0 + timedelta(hours=3)))
    assert {e.actor for e in window.entries} == {"alice", "bob"} and window.total == 5
    assert store.query_audit(AuditQuery(since=T0 + timedelta(hours=3))).total == 1
    assert store.query_audit(AuditQuery(table="nope")).total == 0


def test_pages(store: ControlStore) -> None:
    all_ids = [e.id for e in store.query_audit(AuditQuery(limit=100)).entries]
    pages = [store.query_audit(AuditQuery(limit=5, page=n)) for n in (1, 2, 3, 4)]
    assert [len(p.entries) for p in pages] == [5, 5, 4, 0]
    assert [e.id for p in pages for e in p.entries] == all_ids
    assert pages[0].pages == 3 and pages[0].has_more and not pages[2].has_more


def test_entries_carry_field_diffs_and_secret_references_only(store: ControlStore) -> None:
    entry = store.query_audit(AuditQuery(table="sales_items", action="bulk")).entries[0]
    assert entry.changes == (FieldChange("priority", "changed", 100, 5),
                             FieldChange("version", "changed", 1, 2))
    source = store.query_audit(AuditQuery(actor="carol")).entries[0]
    assert source.entity_kind == "source" and source.entity == "erp"
    assert {c.field: (c.before, c.after) for c in source.changes} == {
        "options.url": ("sqlite:///erp.db", "sqlite:///erp2.db"),
        "secret_ref": ("env:ERP_PASSWORD", "env:ERP_PASSWORD_V2"),
        "version": (1, 2),
    }


def test_bad_queries_list_every_problem(store: ControlStore) -> None:
    with pytest.raises(ValidationError) as info:
        store.query_audit(AuditQuery(limit=0, page=0, action="explode",  # type: ignore[arg-type]
                                     since=datetime(2026, 1, 1)))
    assert {p.field for p in info.value.problems} == {"limit", "page", "action", "since"}
