"""Reference model for cursor loads: raw-driver reads parsed in Python, never the connector.

The parsers below are written from the SQLite, MariaDB and PostgreSQL documentation, not
from ``dataloader_sdk.connectors``: a stored ISO text (``T`` or space, fraction digits,
``Z``/offset → UTC), a Julian day REAL (SQLite rounds it to the millisecond), unix time
(integer or REAL seconds; SQLite's 'auto' rule decides Julian day vs unix time).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:\d{2})?$"
)
_EPOCH = datetime(1970, 1, 1)


def ref_timestamp(raw: Any) -> datetime:
    """A SQLite-stored timestamp as naive UTC."""
    if isinstance(raw, str):
        m = _ISO.match(raw.strip())
        assert m is not None, raw
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micros = int((frac or "0")[:6].ljust(6, "0"))
        out = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micros)
        if tz and tz not in ("Z", "z"):
            sign = -1 if tz[0] == "-" else 1
            out -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        return out
    exact = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    if 0 <= exact <= Decimal("5373484.499999"):  # Julian day, rounded to ms like SQLite
        ms = int((exact * 86_400_000 + Decimal("0.5")).to_integral_value(ROUND_FLOOR))
        return _EPOCH + timedelta(milliseconds=ms - 210_866_760_000_000)
    return _EPOCH + timedelta(microseconds=int(exact.scaleb(6).to_integral_value()))


def ref_date(raw: Any) -> date:
    """A SQLite-stored date: text keeps the date as written, numbers are UTC days."""
    if isinstance(raw, str):
        return date.fromisoformat(raw.strip()[:10])
    return ref_timestamp(raw).date()


def julian_day(t: datetime) -> float:
    """The Julian day REAL of ``t`` (naive UTC)."""
    return 2440587.5 + (t - _EPOCH) / timedelta(days=1)


def iso_text(t: datetime, sep: str, digits: int, offset_minutes: int | None) -> str:
    """``t`` (naive UTC) as ISO text at an offset (``None``: no suffix, 0 with ``Z``)."""
    local = t + timedelta(minutes=offset_minutes or 0)
    text = local.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}"[:digits]
    if offset_minutes is None:
        return text
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


@dataclass
class CursorModel:
    """The rows a cursor strategy must have loaded after each run (its contract).

    ``incremental`` reads ``W - lookback <= c <= H`` (everything ``<= H`` the first time),
    ``append_only`` reads ``W < c <= H``; ``H`` is the maximum cursor when the run starts;
    the watermark never moves back.
    """

    strategy: str
    lookback: Any = None
    watermark: Any = None
    loaded: dict[int, Any] = field(default_factory=dict)

    def run(self, rows: Iterable[tuple[int, Any]]) -> None:
        """One load over the source's rows ``(id, parsed cursor)``."""
        rows = list(rows)
        if not rows:
            return
        high = max(c for _, c in rows)
        low = self.watermark
        if low is not None and high < low:
            return
        for key, cursor in rows:
            if cursor > high:
                continue
            if low is not None:
                if self.strategy == "append_only" and not cursor > low:
                    continue
                floor = low - self.lookback if self.lookback else low
                if self.strategy == "incremental" and cursor < floor:
                    continue
            self.loaded[key] = cursor
        self.watermark = high
