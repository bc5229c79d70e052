"""History pages: the audit log filtered, with field-level diffs; the run history."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.ui._client import text_of
from tests.ui.conftest import control_db


def test_audit_filters_by_table_and_shows_field_diff(viewer: FlaskClient, ui_home: Path) -> None:
    with control_db(ui_home) as conn:
        expected = conn.execute("SELECT count(*) FROM table_control_history WHERE "
                                "entity_kind = 'table' AND entity_name = 'payments'"
                                ).fetchone()[0]
    body = text_of(viewer.get("/history/?table=payments"))
    assert f"({expected} entries)" in body
    table = body[body.index('id="audit-table"'):]
    assert "payments" in table and "orders" not in table
    assert "needs_attention" in table  # the status change's before/after


def test_audit_filters_by_action_and_actor(viewer: FlaskClient) -> None:
    body = text_of(viewer.get("/history/?action=create&actor=setup"))
    assert "(created)" in body or "create" in body
    assert "status" not in body[body.index('id="audit-table"'):].split("<tbody>")[1][:200]
    none = text_of(viewer.get("/history/?actor=nobody"))
    assert "No audit entries match." in none


def test_bad_filters_are_reported_next_to_their_fields(viewer: FlaskClient) -> None:
    response = viewer.get("/history/?action=explode&since=yesterday&page=0")
    assert response.status_code == 422
    body = text_of(response)
    assert 'id="err-action"' in body and 'id="err-since"' in body
    assert "is not a positive whole number" in body


def test_audit_paging(viewer: FlaskClient) -> None:
    first = text_of(viewer.get("/history/?limit=10"))
    assert 'rel="next"' in first  # the populated project has more than 10 entries
    second = text_of(viewer.get("/history/?limit=10&page=2"))
    assert "Page 2 of" in second and 'rel="prev"' in second
    assert "limit=10" in second.split('rel="prev"')[0].rsplit("href=", 1)[-1]


def test_run_history_all_and_one_table(viewer: FlaskClient, ui_home: Path) -> None:
    with control_db(ui_home) as conn:
        orders_runs = conn.execute("SELECT count(*) FROM historical_metadata "
                                   "WHERE table_name = 'orders'").fetchone()[0]
    body = text_of(viewer.get("/history/runs?table=orders&limit=200"))
    assert body.count("<tr><td>") == orders_runs
    assert "SourceTransientError" in body and "connection reset by peer" in body
    with control_db(ui_home) as conn:
        total = conn.execute("SELECT count(*) FROM historical_metadata").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT table_name FROM historical_metadata")}
    everything = text_of(viewer.get("/history/runs?limit=200"))
    assert everything.count("<tr><td>") == total
    assert all(f"<td>{t}</td>" in everything for t in tables)
