"""The demo's SQLite source: three realistic tables, generated fast and deterministically.

``customers`` (full loads), ``orders`` (incremental on ``updated_at`` with a lookback) and
``events`` (append-only on an increasing integer id). Timestamps are stored as text in the
exact format SQLAlchemy's SQLite ``DATETIME`` type writes and binds
(``YYYY-MM-DD HH:MM:SS.ffffff``), so a watermark bound as a parameter compares correctly as
text. Amounts are exact decimal strings (SQLite's NUMERIC affinity would turn them into
binary floats).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["TS_FORMAT", "ChangeSummary", "SourceCounts", "apply_changes", "create_source"]

TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_CHUNK = 20_000
_EPOCH = datetime(2024, 1, 1)

_SCHEMA = """
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    country     TEXT NOT NULL,
    segment     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    status       TEXT NOT NULL,
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX orders_updated_at ON orders (updated_at);
CREATE TABLE countries (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL
);
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    payload      TEXT,
    occurred_at  TIMESTAMP NOT NULL
);
"""

_FIRST = ("Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Edsger", "Frances",
          "Dennis", "Radia", "Guido", "Sophie", "Tim", "Hedy", "Alan", "Katherine")
_LAST = ("Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Dijkstra",
         "Allen", "Ritchie", "Perlman", "van Rossum", "Wilson", "Berners-Lee", "Lamarr")
_COUNTRIES = ("NL", "DE", "FR", "GB", "US", "BR", "IN", "JP", "ZA", "AU")
_SEGMENTS = ("consumer", "smb", "enterprise")
_COUNTRY_NAMES = (("NL", "Netherlands"), ("DE", "Germany"), ("FR", "France"),
                  ("GB", "United Kingdom"), ("US", "United States"), ("BR", "Brazil"),
                  ("IN", "India"), ("JP", "Japan"), ("ZA", "South Africa"), ("AU", "Australia"))
_STATUSES = ("placed", "paid", "shipped", "delivered", "returned", "cancelled")
_NEXT_STATUS = {"placed": "paid", "paid": "shipped", "shipped": "delivered",
                "delivered": "returned", "returned": "returned", "cancelled": "cancelled"}
_CURRENCIES = ("EUR", "USD", "GBP")
_EVENT_KINDS = ("page_view", "add_to_cart", "checkout", "payment", "shipment_update")


@dataclass(frozen=True)
class SourceCounts:
    """Rows per source table."""

    customers: int
    orders: int
    events: int


@dataclass(frozen=True)
class ChangeSummary:
    """What :func:`apply_changes` did to the source between the two loads."""

    customers_updated: int
    customers_inserted: int
    orders_updated: int
    orders_inserted: int
    late_order_id: int
    late_order_updated_at: str
    orders_watermark: str
    events_inserted: int


def _ts(value: datetime) -> str:
    # isoformat is ~5x faster than strftime and yields the same text as TS_FORMAT.
    return value.isoformat(" ", "microseconds")


def _amount(rng: random.Random) -> str:
    # Cents drawn as an integer so the text is an exact two-place decimal.
    cents = 100 + int(rng.random() * 249_900)
    return f"{cents // 100}.{cents % 100:02d}"


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    # rng.choice goes through randrange's rejection sampling; a float is enough here and
    # keeps 100,000-row generation well under a second per table.
    return options[int(rng.random() * len(options))]


def _micros(rng: random.Random, days: int) -> timedelta:
    return timedelta(microseconds=int(rng.random() * days * 86_400_000_000))


def _chunks(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert(conn: sqlite3.Connection, sql: str, rows: Iterator[tuple[object, ...]]) -> None:
    for chunk in _chunks(rows):
        conn.executemany(sql, chunk)


def _customer(rng: random.Random, cid: int, base: datetime) -> tuple[object, ...]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = base + timedelta(seconds=rng.randrange(0, 90 * 86400),
                               microseconds=rng.randrange(1_000_000))
    updated = created + timedelta(seconds=rng.randrange(0, 30 * 86400))
    email = f"{first}.{last}.{cid}@example.com".lower().replace(" ", "")
    return (cid, f"{first} {last}", email, rng.choice(_COUNTRIES), rng.choice(_SEGMENTS),
            _ts(created), _ts(updated))


def _order(
    rng: random.Random, oid: int, customers: int, created: datetime, updated: datetime
) -> tuple[object, ...]:
    return (oid, 1 + int(rng.random() * customers), _pick(rng, _STATUSES), _amount(rng),
            _pick(rng, _CURRENCIES), _ts(created), _ts(updated))


def _event(rng: random.Random, eid: int, orders: int, at: datetime) -> tuple[object, ...]:
    kind = _pick(rng, _EVENT_KINDS)
    payload = None if kind == "page_view" else f'{{"step": {1 + int(rng.random() * 9)}}}'
    return (eid, 1 + int(rng.random() * orders), kind, payload, _ts(at))


def create_source(path: Path, *, rows: int, seed: int, customers: int = 5_000) -> SourceCounts:
    """Create the SQLite source at ``path`` (which must not exist) with generated data.

    Args:
        path: the database file to create.
        rows: rows of ``orders``; ``events`` gets half as many.
        seed: seed of the deterministic random generator.
        customers: rows of ``customers``.

    Returns:
        The number of rows written per table.
    """
    rng = random.Random(seed)
    events = max(rows // 2, 1)
    conn = sqlite3.connect(path)
    try:
        # A throwaway file: durability settings only slow the bulk insert down.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(_SCHEMA)
        with conn:
            # A reference table that never changes: check_and_load skips it on reload.
            conn.executemany("INSERT INTO countries VALUES (?, ?)", _COUNTRY_NAMES)
            _insert(conn, "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (_customer(rng, cid, _EPOCH) for cid in range(1, customers + 1)))

            def orders() -> Iterator[tuple[object, ...]]:
                # Orders arrive over a year; each was last touched within 30 days.
                for oid in range(1, rows + 1):
                    created = _EPOCH + _micros(rng, 365)
                    yield _order(rng, oid, customers, created, created + _micros(rng, 30))

            _insert(conn, "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", orders())
            step = timedelta(seconds=365 * 86400 / events)
            _insert(conn, "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                    (_event(rng, eid, rows, _EPOCH + step * eid) for eid in range(1, events + 1)))
    finally:
        conn.close()
    return SourceCounts(customers=customers, orders=rows, events=events)


def _max_text(conn: sqlite3.Connection, query: str) -> str:
    value = conn.execute(query).fetchone()[0]
    return str(value)


def _sample(rng: random.Random, population: int, k: int) -> Sequence[int]:
    return sorted(rng.sample(range(1, population + 1), min(k, population)))


def apply_changes(path: Path, *, seed: int) -> ChangeSummary:
    """Change the source the way a busy OLTP database would between two loads.

    * ``customers``: ~1% updated (segment, updated_at) and 50 new customers;
    * ``orders``: ~1% move to their next status with a newer ``updated_at``, ~2% are new,
      and one *late-arriving* order commits with an ``updated_at`` 20 minutes older than
      the current maximum (the watermark after the first load) — inside the 1 h lookback,
      so an incremental load without the lookback would miss it;
    * ``events``: ~2% new events with increasing ids.
    """
    rng = random.Random(seed + 1)
    conn = sqlite3.connect(path)
    try:
        with conn:
            n_customers = int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])
            n_orders = int(conn.execute("SELECT max(id) FROM orders").fetchone()[0])
            n_events = int(conn.execute("SELECT max(id) FROM events").fetchone()[0])
            wm_text = _max_text(conn, "SELECT max(updated_at) FROM orders")
            watermark = datetime.strptime(wm_text, TS_FORMAT)

            def later() -> datetime:
                return watermark + timedelta(seconds=rng.randrange(1, 3600),
                                             microseconds=rng.randrange(1_000_000))

            cust_ids = _sample(rng, n_customers, max(n_customers // 100, 1))
            conn.executemany(
                "UPDATE customers SET segment = ?, updated_at = ? WHERE id = ?",
                [(rng.choice(_SEGMENTS), _ts(later()), cid) for cid in cust_ids],
            )
            new_customers = 50
            conn.executemany(
                "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
                [_customer(rng, cid, watermark)
                 for cid in range(n_customers + 1, n_customers + new_customers + 1)],
            )

            order_ids = _sample(rng, n_orders, max(n_orders // 100, 1))
            current = dict(conn.execute(
                "SELECT id, status FROM orders WHERE id IN (SELECT value FROM json_each(?))",
                (str(list(order_ids)),),
            ).fetchall())
            conn.executemany(
                "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?",
                [(_NEXT_STATUS[current[oid]], _ts(later()), oid) for oid in order_ids],
            )
            new_orders = max(n_orders // 50, 1)
            inserted = []
            for oid in range(n_orders + 1, n_orders + new_orders + 1):
                at = later()
                inserted.append(_order(rng, oid, n_customers, at, at))
            conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", inserted)
            late_id = n_orders + new_orders + 1
            late_at = watermark - timedelta(minutes=20)
            conn.execute("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                         _order(rng, late_id, n_customers, late_at, late_at))

            new_events = max(n_events // 50, 1)
            last_event_at = datetime.strptime(
                _max_text(conn, "SELECT max(occurred_at) FROM events"), TS_FORMAT
            )
            _insert(conn, "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                    (_event(rng, eid, late_id, last_event_at + timedelta(seconds=eid - n_events))
                     for eid in range(n_events + 1, n_events + new_events + 1)))
    finally:
        conn.close()
    return ChangeSummary(
        customers_updated=len(cust_ids), customers_inserted=new_customers,
        orders_updated=len(order_ids), orders_inserted=new_orders + 1,
        late_order_id=late_id, late_order_updated_at=_ts(late_at),
        orders_watermark=wm_text, events_inserted=new_events,
    )
