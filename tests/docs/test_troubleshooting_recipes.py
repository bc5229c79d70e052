"""Every SQL recipe in docs/troubleshooting.md runs, on SQLite and PostgreSQL, and is right.

A recipe is a ```sql fence preceded by ``<!-- recipe: ID (backend, ...) -->``. Each runs
against a control DB populated by real loads (tests/docs/_scenario.py), through the raw
driver (sqlite3 / psycopg), the way an operator runs it. Its result must equal the rows
this test computes in Python from the raw tables (a full ``SELECT *``, no SQL logic), and
the scenario's known facts are checked too, so an empty or wrong answer cannot pass.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.docs._scenario import DAY1, DAY2, DEAD_WORKER, populate

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
BACKENDS = ("sqlite", "postgresql")
_RECIPE = re.compile(
    r"<!-- recipe: (?P<id>[a-z0-9-]+) \((?P<backends>[a-z, ]+)\) -->\n```sql\n(?P<sql>.*?)```",
    re.DOTALL,
)

Row = tuple[Any, ...]
Tables = dict[str, list[dict[str, Any]]]


def recipes() -> dict[tuple[str, str], str]:
    """``(recipe id, backend) -> SQL`` for every recipe in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    found: dict[tuple[str, str], str] = {}
    for match in _RECIPE.finditer(text):
        for backend in (b.strip() for b in match["backends"].split(",")):
            assert backend in BACKENDS, f"recipe {match['id']}: unknown backend {backend!r}"
            key = (match["id"], backend)
            assert key not in found, f"recipe {key} appears twice"
            found[key] = match["sql"].strip().rstrip(";")
    # Every ```sql fence in the guide is a recipe (none escapes the test by a typo).
    assert text.count("```sql") == len({m.start() for m in _RECIPE.finditer(text)})
    return found


# -- normalising values: both drivers' answers compare equal to Python's -----------------

def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?", value):
            return _norm(datetime.fromisoformat(value))
        if value[:1] in "{[":
            try:
                return json.loads(value)
            except ValueError:
                return value
    return value


def _rows(rows: list[Row]) -> list[Row]:
    return [tuple(_norm(v) for v in row) for row in rows]


# -- the reference: plain Python over the raw tables ---------------------------------------

def _history(t: Tables) -> list[dict[str, Any]]:
    return [{k: _norm(v) for k, v in r.items()} for r in t["historical_metadata"]]


def _last_failures(t: Tables) -> list[Row]:
    failed = [r for r in _history(t) if r["status"] == "failed"]
    failed.sort(key=lambda r: r["run_id"])
    failed.sort(key=lambda r: r["started_at"], reverse=True)
    return [(r["table_name"], r["started_at"], r["error_class"], r["error_message"])
            for r in failed[:20]]


def _needs_attention(t: Tables) -> list[Row]:
    out = []
    for table in sorted(t["table_control"], key=lambda r: r["name"]):
        if table["status"] != "needs_attention":
            continue
        runs = [r for r in _history(t) if r["table_id"] == table["table_id"]]
        last = max(r["started_at"] for r in runs)
        out += [(table["name"], table["retry_count"], r["started_at"], r["error_class"],
                 r["error_message"]) for r in runs if r["started_at"] == last]
    return out


def _runs_per_table(t: Tables) -> list[Row]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _history(t):
        by[r["table_name"]].append(r)
    return [(name, len(rs), sum(r["status"] == "succeeded" for r in rs),
             sum(r["status"] == "failed" for r in rs), max(r["started_at"] for r in rs))
            for name, rs in sorted(by.items())]


def _rows_per_day(t: Tables) -> list[Row]:
    by: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in _history(t):
        if r["status"] == "succeeded":
            by[(r["started_at"][:10], r["table_name"])].append(r["rows_written"])
    return [(day, name, len(rows), sum(rows)) for (day, name), rows in sorted(by.items())]


def _stuck_leases(t: Tables) -> list[Row]:
    now = _norm(datetime.now(timezone.utc))
    stuck = [{k: _norm(v) for k, v in r.items()} for r in t["table_control"]]
    stuck = [r for r in stuck if r["status"] == "running" and r["lease_expires_at"] < now]
    stuck.sort(key=lambda r: r["lease_expires_at"])
    return [(r["name"], r["lease_owner"], r["lease_expires_at"], r["run_generation"])
            for r in stuck]


def _watermark_history(t: Tables) -> list[Row]:
    runs = sorted((r for r in _history(t) if r["table_name"] == "orders"),
                  key=lambda r: r["started_at"], reverse=True)
    return [(r["started_at"], r["status"], r["rows_read"], r["rows_written"],
             r["watermark_before"], r["watermark_after"]) for r in runs[:10]]


def _audit_trail(t: Tables) -> list[Row]:
    rows = [{k: _norm(v) for k, v in r.items()} for r in t["table_control_history"]]
    rows = [r for r in rows if r["entity_kind"] == "table" and r["entity_name"] == "orders"]
    rows.sort(key=lambda r: (r["at"], r["id"]))
    return [(r["at"], r["action"], r["actor"], r["before"], r["after"]) for r in rows]


EXPECTED: dict[str, Callable[[Tables], list[Row]]] = {
    "last-failures": _last_failures,
    "needs-attention": _needs_attention,
    "runs-per-table": _runs_per_table,
    "rows-per-day": _rows_per_day,
    "stuck-leases": _stuck_leases,
    "watermark-history": _watermark_history,
    "audit-trail": _audit_trail,
}

# What the scenario did, independent of both the recipes and the reference above.
D1, D2 = DAY1.date().isoformat(), DAY2.date().isoformat()
KNOWN: dict[str, Callable[[list[Row]], bool]] = {
    "last-failures": lambda rows: [r[0] for r in rows] == ["ghost", "ghost"]
    and all(r[2] == "SourcePermanentError" and "no_such_table" in r[3] for r in rows),
    "needs-attention": lambda rows: [r[:2] for r in rows] == [("ghost", 2)],
    "runs-per-table": lambda rows: [r[:4] for r in rows] == [
        ("customers", 2, 2, 0), ("ghost", 2, 0, 2), ("orders", 2, 2, 0)],
    # Day 2 re-reads the watermark's own row (>=) plus two new and one updated order.
    # Day 2's orders run re-reads the row at the watermark (id 5) with the three changed
    # rows; it hashes to the last commit's boundary digest, so only the three are merged.
    "rows-per-day": lambda rows: rows == [
        (D1, "customers", 1, 3), (D1, "orders", 1, 5), (D2, "customers", 1, 3),
        (D2, "orders", 1, 3)],
    "stuck-leases": lambda rows: [r[:2] for r in rows] == [("events", DEAD_WORKER)],
    "watermark-history": lambda rows: [(r[1], r[4], r[5]) for r in rows] == [
        ("succeeded", {"type": "int", "value": "5"}, {"type": "int", "value": "8"}),
        ("succeeded", None, {"type": "int", "value": "5"})],
    "audit-trail": lambda rows: [(r[1], r[2]) for r in rows] == [
        ("create", "alice"), ("update", "carol")]
    and rows[1][3]["interval_seconds"] == 3600 and rows[1][4]["interval_seconds"] == 900,
}


# -- the two populated control databases -----------------------------------------------

class ControlDB:
    """Runs SQL on a populated control DB through the raw driver, as an operator would."""

    def __init__(self, backend: str, connect: Callable[[], Any]) -> None:
        self.backend = backend
        self._connect = connect

    def query(self, sql: str) -> list[Row]:
        conn = self._connect()
        try:
            cur = conn.cursor()
            if self.backend == "postgresql":
                cur.execute("SET search_path TO dataloader")
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def tables(self) -> Tables:
        out: Tables = {}
        conn = self._connect()
        try:
            for name in ("table_control", "historical_metadata", "table_control_history"):
                cur = conn.cursor()
                prefix = "dataloader." if self.backend == "postgresql" else ""
                cur.execute(f"SELECT * FROM {prefix}{name}")
                columns = [d[0] for d in cur.description]
                out[name] = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
        finally:
            conn.close()
        return out


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> ControlDB:
    work = tmp_path_factory.mktemp("recipes_sqlite")
    populate(f"sqlite:///{work / 'dataloader.db'}", work)
    return ControlDB("sqlite", lambda: sqlite3.connect(work / "dataloader.db"))


@pytest.fixture(scope="module")
def postgres_db(pg_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlDB]:
    import psycopg

    name = "recipes_" + uuid.uuid4().hex[:10]
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        populate(pg_server.url(name), tmp_path_factory.mktemp("recipes_pg"))
        yield ControlDB("postgresql", lambda: psycopg.connect(pg_server.dsn(name)))
    finally:
        with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_recipe_has_an_expectation_on_both_backends() -> None:
    found = recipes()
    ids = {recipe_id for recipe_id, _ in found}
    assert ids == set(EXPECTED) == set(KNOWN)
    for recipe_id in ids:
        assert {b for i, b in found if i == recipe_id} == set(BACKENDS), recipe_id


def _params() -> list[Any]:
    pg = [pytest.mark.postgres, pytest.mark.integration]
    return [pytest.param(i, b, id=f"{i}-{b}", marks=pg if b == "postgresql" else ())
            for i, b in sorted(recipes())]


@pytest.mark.parametrize(("recipe_id", "backend"), _params())
def test_recipe(recipe_id: str, backend: str, request: pytest.FixtureRequest) -> None:
    fixture = "postgres_db" if backend == "postgresql" else "sqlite_db"
    db: ControlDB = request.getfixturevalue(fixture)
    got = _rows(db.query(recipes()[(recipe_id, backend)]))
    assert got == EXPECTED[recipe_id](db.tables())
    assert KNOWN[recipe_id](got), got
