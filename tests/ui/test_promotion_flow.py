"""Promotion through the UI: diff with risk flags, request, refused self-approval,
approval by a second user, rollback. Outcomes are read with raw ``sqlite3``."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from tests.ui._client import csrf_token, sign_in, text_of
from tests.ui.conftest import control_db


def _prod(home: Path, name: str) -> tuple[int, int] | None:
    with control_db(home, "dataloader") as conn:
        row = conn.execute("SELECT priority, interval_seconds FROM table_control "
                           "WHERE name = ?", (name,)).fetchone()
    return None if row is None else (int(row[0]), int(row[1] or 0))


def _promotion(home: Path, promotion_id: int) -> tuple[str, str, str | None]:
    with control_db(home, "dataloader") as conn:
        row = conn.execute("SELECT status, requested_by, approved_by FROM promotions "
                           "WHERE promotion_id = ?", (promotion_id,)).fetchone()
    return row[0], row[1], row[2]


def _request(client: FlaskClient, **fields: object) -> tuple[int, str, str]:
    response = client.post("/promotion/request",
                           data={"csrf_token": csrf_token(client), **fields})
    return response.status_code, text_of(response), response.headers.get("Location") or ""


def test_diff_shows_changed_and_added_tables(viewer: FlaskClient) -> None:
    body = text_of(viewer.get("/promotion/"))
    table = body[body.index('id="promotion-diff"'):]
    assert "orders" in table and "returns" in table
    assert "interval_seconds" in table and "900" in table  # prod 3600 -> test 900
    assert "customers" not in table.split("</table>")[0]  # unchanged tables are left out


def test_request_self_approval_refused_second_user_approves_then_rollback(
        ui_app: object, ui_home: Path) -> None:
    assert _prod(ui_home, "orders") == (0, 3600) and _prod(ui_home, "returns") is None
    first = sign_in(ui_app, "approver")  # type: ignore[arg-type]
    status, _, location = _request(first, tables=["orders", "returns"],
                                   **{"choice-orders": "keep", "choice-returns": "keep"},
                                   note="faster orders")
    assert status == 302 and "/promotion/" in location
    promotion_id = int(location.rstrip("/").rsplit("/", 1)[-1])
    assert _promotion(ui_home, promotion_id) == ("requested", "ui:approver", None)
    assert _prod(ui_home, "orders") == (0, 3600)  # a request changes nothing in prod

    # The requester cannot approve it, even with the approver role.
    token = csrf_token(first)
    refused = first.post(f"/promotion/{promotion_id}/approve", data={"csrf_token": token},
                         follow_redirects=True)
    assert "cannot approve it too" in text_of(refused)
    assert _promotion(ui_home, promotion_id)[0] == "requested"
    assert _prod(ui_home, "orders") == (0, 3600)

    second = sign_in(ui_app, "approver2")  # type: ignore[arg-type]
    approved = second.post(f"/promotion/{promotion_id}/approve",
                           data={"csrf_token": csrf_token(second)}, follow_redirects=True)
    assert "approved and applied" in text_of(approved)
    assert _promotion(ui_home, promotion_id) == ("applied", "ui:approver", "ui:approver2")
    assert _prod(ui_home, "orders") == (9, 900) and _prod(ui_home, "returns") is not None

    rolled = second.post(f"/promotion/{promotion_id}/rollback",
                         data={"csrf_token": csrf_token(second)}, follow_redirects=True)
    assert "rolled back" in text_of(rolled)
    assert _promotion(ui_home, promotion_id)[0] == "rolled_back"
    assert _prod(ui_home, "orders") == (0, 3600) and _prod(ui_home, "returns") is None
    with control_db(ui_home, "dataloader") as conn:
        actors = {r[0] for r in conn.execute(
            "SELECT actor FROM table_control_history WHERE action = 'promote'")}
    assert actors == {"ui:approver2"}


def test_editor_requests_but_cannot_approve(editor: FlaskClient, ui_home: Path) -> None:
    status, _, location = _request(editor, tables=["orders"], **{"choice-orders": "reset"})
    assert status == 302
    promotion_id = int(location.rstrip("/").rsplit("/", 1)[-1])
    response = editor.post(f"/promotion/{promotion_id}/approve",
                           data={"csrf_token": csrf_token(editor)})
    assert response.status_code == 403
    assert _promotion(ui_home, promotion_id)[0] == "requested"


def test_bad_watermark_choice_is_shown_next_to_its_table(
        editor: FlaskClient, ui_home: Path) -> None:
    status, body, _ = _request(editor, tables=["orders"], **{"choice-orders": "backfill"})
    assert status == 422
    row = body[body.index('name="choice-orders"'):]
    assert "a backfill needs its first cursor value" in row[:3000]
    with control_db(ui_home, "dataloader") as conn:
        assert conn.execute("SELECT count(*) FROM promotions").fetchone()[0] == 0


def test_nothing_checked_is_refused(editor: FlaskClient) -> None:
    status, body, _ = _request(editor)
    assert status == 422 and "check at least one table" in body


def test_detail_lists_items_and_unknown_id_is_404(
        editor: FlaskClient, viewer: FlaskClient) -> None:
    _, _, location = _request(editor, tables=["returns"], **{"choice-returns": "keep"})
    body = text_of(viewer.get(location))
    assert "returns" in body and "ui:editor" in body
    assert 'id="promotion-approve"' not in body  # a viewer sees no approve button
    assert viewer.get("/promotion/99999").status_code == 404
