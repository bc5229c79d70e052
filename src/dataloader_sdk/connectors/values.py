"""Python values from drivers, as Arrow arrays and as probe answers (public helpers).

A connector whose driver hands rows of Python values (DBAPI cursors, ODBC, ...) turns a
column of them into an Arrow array of the declared type with :func:`to_arrow`, and a
``MAX``/``MIN`` probe answer into the watermark value with :func:`to_python`. The rules
are explicit and identical for every database: exact decimals (floats through ``repr``),
integers that refuse fractions, timestamps in any representation a loosely typed source
holds (ISO text, Julian days, unix time; see :func:`loose_timestamp`), naive values in a
zoned column taken as UTC. A value that does not fit raises ``ValueError`` with a capped
preview of the value (source data never reaches a log whole).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa

__all__ = [
    "datetime_text",
    "looks_ordered_as_text",
    "loose_date",
    "loose_timestamp",
    "to_arrow",
    "to_python",
]


def _as_decimal(v: Any) -> Decimal:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, float):
        # repr is the shortest text that round-trips: what the user stored, not 2**-n noise.
        return Decimal(repr(v))
    return Decimal(str(v))


# SQLite's own rule (the date functions' 'auto' modifier): a number from 0 to this is a
# Julian day number, anything else a count of seconds since 1970-01-01 (unix time).
_JULIAN_MAX = Decimal("5373484.499999")
_UNIX_EPOCH_JD_MS = 210_866_760_000_000  # Julian day 2440587.5 (1970-01-01) in ms
_UNIX_ZERO = datetime(1970, 1, 1)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _from_number(v: int | float | Decimal) -> datetime:
    """A Julian day or unix-time number as a naive UTC datetime (SQLite's 'auto' rule).

    Julian days are rounded to the millisecond exactly as SQLite's date functions do (a
    REAL Julian day cannot hold microseconds), unix time to the microsecond. Both maps
    are monotonic, so two stored numbers never swap order.
    """
    exact = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    if not exact.is_finite():
        raise ValueError(f"{v!r} is not a timestamp")
    try:
        if 0 <= exact <= _JULIAN_MAX:
            millis = int(exact * 86_400_000 + Decimal("0.5"))
            return _UNIX_ZERO + timedelta(milliseconds=millis - _UNIX_EPOCH_JD_MS)
        return _UNIX_ZERO + timedelta(microseconds=int(exact.scaleb(6).to_integral_value()))
    except OverflowError:
        raise ValueError(f"{v!r} is outside the years 1-9999") from None


def loose_timestamp(v: Any) -> datetime:
    """A timestamp in any representation a loosely typed source holds.

    ISO text with ``T`` or space (or any one separator), any number of fractional digits
    (kept to the microsecond), with ``Z``/``z`` or an offset; a date alone (midnight); a
    Julian day or unix time as a number or numeric text; a ``datetime``. An offset is
    converted to UTC and dropped, so the result is naive and every representation lies on
    one time line (values written without an offset are taken as UTC, the only reading
    that needs no guess). Raises ``ValueError``/``TypeError`` otherwise, never a NULL.
    """
    if isinstance(v, bytes | bytearray | memoryview):
        v = bytes(v).decode("utf-8")
    if isinstance(v, str):
        text = v.strip()
        if _NUMBER.match(text):
            return _from_number(Decimal(text))
        if text[-1:] in ("z", "Z"):
            text = text[:-1] + "+00:00"
        elif len(text) > 6 and text[-7] == " " and text[-6] in "+-":
            text = text[:-7] + text[-6:]  # SQLite accepts a space before the offset
        v = datetime.fromisoformat(text)
    elif isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return _from_number(v)
    elif isinstance(v, date) and not isinstance(v, datetime):
        return datetime(v.year, v.month, v.day)
    if not isinstance(v, datetime):
        raise TypeError(f"{v!r} is not a timestamp")
    return v if v.tzinfo is None else v.astimezone(timezone.utc).replace(tzinfo=None)


def loose_date(v: Any) -> date:
    """A date in any representation a loosely typed source holds.

    Text keeps the date as written (``'2024-01-01T23:00-05:00'`` is 2024-01-01, the
    calendar day the row names); numbers are Julian days or unix time (the UTC day).
    """
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        v = bytes(v).decode("utf-8")
    if isinstance(v, str) and not _NUMBER.match(v.strip()):
        return date.fromisoformat(v.strip()[:10])
    return loose_timestamp(v).date()


def looks_ordered_as_text(value: str) -> str | None:
    """What ``value`` holds when text order would misplace it among its kind, else None.

    Numbers (``'10'`` sorts before ``'9'``) and timestamps or dates (``'T'`` sorts after
    ``' '``; offsets and fractional digits break the order) kept in a text column.
    """
    text = value.strip()
    if _NUMBER.match(text):
        return "numbers"
    if len(text) >= 10 and text[:4].isdigit() and text[4] == "-":
        try:
            loose_timestamp(text)
        except (TypeError, ValueError):
            return None
        return "timestamps or dates"
    return None


def _as_datetime(v: Any, aware: bool) -> datetime:
    out = loose_timestamp(v)
    # Naive values in a tz-declared column are taken as UTC (the only safe reading).
    return out.replace(tzinfo=timezone.utc) if aware else out


def _as_date(v: Any) -> date:
    return loose_date(v)


def _as_int(v: Any) -> int:
    """An integer; a fraction is refused (``int(4.5)`` would silently read 4)."""
    if isinstance(v, int):
        return v
    if isinstance(v, float | Decimal):
        if v != v or v % 1:
            raise ValueError(f"{v!r} is not an integer")
        return int(v)
    if isinstance(v, bytes | bytearray | memoryview):
        v = bytes(v).decode("utf-8")
    return int(str(v).strip())


def _as_time(v: Any) -> time:
    if isinstance(v, time):
        return v
    if hasattr(v, "total_seconds"):  # MySQL drivers return TIME as timedelta
        micros = round(v.total_seconds() * 1_000_000)
        return time(micros // 3_600_000_000, micros // 60_000_000 % 60,
                    micros // 1_000_000 % 60, micros % 1_000_000)
    return time.fromisoformat(str(v).strip())


def _as_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8")
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8")
    return bytes(v)


#: The conversion of each Arrow type family (a timestamp's depends on its zone; any
#: other type is text).
_CONVERTERS: tuple[tuple[Callable[[pa.DataType], bool], Callable[[Any], Any]], ...] = (
    (pa.types.is_boolean, bool), (pa.types.is_integer, _as_int),
    (pa.types.is_floating, float), (pa.types.is_decimal, _as_decimal),
    (pa.types.is_date, _as_date), (pa.types.is_time, _as_time),
    (pa.types.is_binary, _as_bytes),
)


def _converter(t: pa.DataType) -> Callable[[Any], Any]:
    if pa.types.is_timestamp(t):
        aware = t.tz is not None
        return lambda v: _as_datetime(v, aware)
    return next((convert for matches, convert in _CONVERTERS if matches(t)), _as_str)


_CONVERSION_ERRORS = (TypeError, ValueError, ArithmeticError)


def _bad_value(value: Any, t: pa.DataType) -> ValueError:
    # Python's own messages quote the whole value (int(), fromisoformat(), decode());
    # a source value is data that must not reach logs whole: a capped preview only.
    from dataloader_sdk.secrets import value_preview

    return ValueError(f"source value {value_preview(value)} ({type(value).__name__}) "
                      f"is not a valid {t}")


def to_python(value: Any, t: pa.DataType) -> Any:
    """A raw DBAPI value converted to the Python value of Arrow type ``t``."""
    if value is None:
        return None
    try:
        return _converter(t)(value)
    except _CONVERSION_ERRORS:
        raise _bad_value(value, t) from None


def to_arrow(values: Sequence[Any], t: pa.DataType) -> pa.Array:
    """A column of raw DBAPI values as an Arrow array of exactly type ``t``."""
    convert = _converter(t)
    try:
        return pa.array([None if v is None else convert(v) for v in values], type=t)
    except _CONVERSION_ERRORS as exc:  # ArrowInvalid is a ValueError too
        for v in values:  # find the culprit only on failure: the fast path stays one loop
            try:
                if v is not None:
                    convert(v)
            except _CONVERSION_ERRORS:
                raise _bad_value(v, t) from None
        from dataloader_sdk.secrets import value_preview

        raise ValueError(f"cannot build a {t} column: {value_preview(str(exc), 120)}") from None


def datetime_text(value: datetime) -> str:
    """A timestamp as exact text a server casts back: ``YYYY-MM-DD HH:MM:SS.ffffff``, in
    UTC with an explicit ``+00:00`` offset when ``value`` is aware."""
    if value.tzinfo is not None:
        utc = value.astimezone(timezone.utc).replace(tzinfo=None)
        return utc.isoformat(" ", "microseconds") + " +00:00"
    return value.isoformat(" ", "microseconds")
