"""Soak verification: each Delta table against its source, and the staleness figure.

The source is read with raw ``sqlite3`` (read-only URI) or ``psycopg``, the target with
``deltalake`` directly; nothing here goes through the SDK's connectors or engines.

Every soak table has a unique key (``id``, or ``seq`` for append_only). Per table:

* **lost**: source keys with no target row;
* **duplicated**: target rows beyond one per key, plus target keys the source does not
  hold (phantoms: rows deleted at the source that a ``full``/``rolling`` load kept);
* **stale**: keys present on both sides whose values differ (an update not applied).

For ``append_only`` this is exact multiset equality; for ``incremental``, key-set equality
with the latest values; for ``full`` and ``rolling`` (every source row is inside the
window), equality.
"""

# Identifiers are the soak's own fixed names (t000...), quoted; values are bound.
# ruff: noqa: S608
from __future__ import annotations

import bisect
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from benchmarks._soak_sources import TableSpec

Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableCheck:
    """The verdict for one table."""

    name: str
    strategy: str
    backend: str
    source_rows: int
    target_rows: int
    lost: int
    duplicated: int
    stale: int
    example: str = ""

    @property
    def ok(self) -> bool:
        """Nothing lost, duplicated or stale."""
        return self.lost == self.duplicated == self.stale == 0


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite sources and naive Delta columns hold UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
    return value


def _norm_sqlite(spec: TableSpec, row: Row) -> Row:
    out = []
    for col, value in zip(spec.columns, row, strict=True):
        if col == "updated_at":
            value = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        elif col == "day":
            value = date.fromisoformat(value)
        out.append(value)
    return tuple(out)


def read_source(spec: TableSpec, pg_conninfo: str | None) -> list[Row]:
    """Every source row, normalised (UTC-aware timestamps, dates, ints, text)."""
    cols = ", ".join(f'"{c}"' for c in spec.columns)
    sql = f'SELECT {cols} FROM "{spec.name}"'
    if spec.path is not None:
        conn = sqlite3.connect(f"file:{spec.path}?mode=ro", uri=True, timeout=30)
        try:
            return [_norm_sqlite(spec, r) for r in conn.execute(sql)]
        finally:
            conn.close()
    import psycopg

    assert pg_conninfo is not None
    with psycopg.connect(pg_conninfo) as pg:
        return [tuple(_norm(v) for v in r) for r in pg.execute(sql)]


def read_target(uri: str, spec: TableSpec) -> list[Row]:
    """Every target row's source columns (lineage columns left out), or [] if no table."""
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(uri):
        return []
    table = DeltaTable(uri).to_pyarrow_table(columns=list(spec.columns))
    columns = [table.column(c).to_pylist() for c in spec.columns]
    return [tuple(_norm(v) for v in row) for row in zip(*columns, strict=True)]


def compare(spec: TableSpec, source: list[Row], target: list[Row]) -> TableCheck:
    """Lost, duplicated and stale rows of one table (see the module docstring)."""
    src = {r[0]: r for r in source}
    tgt_count = Counter(r[0] for r in target)
    tgt: dict[Any, Row] = {}
    for r in target:
        tgt.setdefault(r[0], r)
    lost = [k for k in src if k not in tgt]
    duplicated = sum(c - 1 for c in tgt_count.values()) + sum(1 for k in tgt if k not in src)
    stale = [k for k in src if k in tgt and tgt[k] != src[k]]
    example = ""
    if lost:
        example = f"lost {spec.key}={lost[0]}: {src[lost[0]]!r}"
    elif stale:
        example = f"stale {spec.key}={stale[0]}: source {src[stale[0]]!r} target {tgt[stale[0]]!r}"
    elif duplicated:
        extra = next((k for k, c in tgt_count.items() if c > 1 or k not in src), None)
        example = f"duplicated {spec.key}={extra} x{tgt_count.get(extra, 0)}"
    return TableCheck(spec.name, spec.strategy, spec.backend, len(source), len(target),
                      len(lost), duplicated, len(stale), example)


@dataclass(frozen=True)
class Staleness:
    """Per change: seconds from its source commit to the end of the first succeeded run
    that started after it (an upper bound on how long the change was missing from Delta)."""

    changes: int
    covered: int
    worst_seconds: float
    p50_seconds: float
    p95_seconds: float
    worst_table: str


def staleness(changes: dict[str, list[float]], runs: dict[str, list[tuple[float, float]]]
              ) -> Staleness:
    """Staleness of every change (see ``benchmarks/soak.py``'s docstring for the definition).

    ``changes``: per table, the wall times (epoch seconds) of committed source changes.
    ``runs``: per table, ``(started, finished)`` of succeeded runs. A change at ``e`` is
    certainly read by every such run that started after ``e``.
    """
    lags: list[float] = []
    worst, worst_table = 0.0, ""
    total = 0
    for table, times in changes.items():
        spans = sorted(runs.get(table, []))
        starts = [s for s, _ in spans]
        # The earliest finish among runs starting at or after index i (runs can overlap).
        earliest = [0.0] * len(spans)
        best = float("inf")
        for i in range(len(spans) - 1, -1, -1):
            best = min(best, spans[i][1])
            earliest[i] = best
        for e in times:
            total += 1
            i = bisect.bisect_right(starts, e)
            if i == len(spans):
                continue
            lag = earliest[i] - e
            lags.append(lag)
            if lag > worst:
                worst, worst_table = lag, table
    lags.sort()

    def pct(p: float) -> float:
        return lags[min(len(lags) - 1, int(p * len(lags)))] if lags else 0.0

    return Staleness(total, len(lags), worst, pct(0.5), pct(0.95), worst_table)
