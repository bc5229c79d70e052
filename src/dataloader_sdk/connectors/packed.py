"""Python values to Arrow arrays by packing their buffers, without ``pyarrow.array``.

``pyarrow.array`` (and ``pa.scalar``, ``Table.from_pydict`` ...) imports pandas on its
first call whenever pandas is installed, to ask whether its argument is a pandas object:
about 0.1-1 s and 60 MB in a process that otherwise never needs pandas, such as a batch
reading PostgreSQL through ADBC. A few small columns of plain values (the boundary rows of
``connectors/postgresql/together.py``) are instead packed into Arrow's buffers here: a
validity bitmap and the values as C integers, floats or offsets plus bytes, the
layouts the Arrow columnar format defines. Every conversion is integer arithmetic on
the value (days or microseconds since the epoch), so none rounds.

Only the types listed in :func:`packed_array` are packed; any other type, or a value of
the wrong Python type, gives ``None`` and the caller reads the rows another way.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["packed_array"]

_EPOCH_DAY = date(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
#: The largest byte offset a ``string``/``binary`` column holds (32-bit offsets).
_MAX_OFFSET = 2**31 - 1


def packed_array(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array | None:
    """``values`` (``None`` for null) as an Arrow array of ``arrow_type``, or ``None``
    when the type is not one packed here or a value is not of its Python type."""
    import pyarrow as pa

    try:
        if pa.types.is_string(arrow_type) or pa.types.is_binary(arrow_type):
            return _variable(values, arrow_type)
        fixed = _fixed(arrow_type)
        if fixed is None:
            return None
        code, to_c = fixed
        data = array.array(code, (0 if v is None else to_c(v) for v in values))
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    if pa.types.is_boolean(arrow_type):
        buffer = pa.py_buffer(_bits([bool(v) for v in data]))
    else:
        buffer = pa.py_buffer(data.tobytes())
    return pa.Array.from_buffers(arrow_type, len(values), [_validity(values), buffer])


def _fixed(t: pa.DataType) -> tuple[str, Callable[[Any], int | float]] | None:
    """The ``array`` type code of ``t``'s values and the conversion of one value."""
    import pyarrow as pa

    ints = {pa.int16(): "h", pa.int32(): "i", pa.int64(): "q"}
    if t in ints:
        return _code(ints[t], 8 * t.byte_width), _exact(int)
    if t in (pa.float32(), pa.float64()):
        return ("f" if t == pa.float32() else "d"), _exact(float)
    if t == pa.bool_():
        return "b", lambda v: int(_exact(bool)(v))
    if t == pa.date32():
        return _code("i", 32), _days
    if t == pa.time64("us"):
        return _code("q", 64), _time_us
    if pa.types.is_timestamp(t) and t.unit == "us":
        return _code("q", 64), (_naive_us if t.tz is None else _aware_us(t.tz))
    return None


def _code(code: str, bits: int) -> str:
    if array.array(code).itemsize * 8 != bits:  # C's int sizes are the platform's
        raise ValueError(f"array code {code!r} is not {bits} bits here")
    return code


def _exact(kind: type) -> Callable[[Any], Any]:
    # bool is an int subclass, and an int is not a float: each value must be its column's
    # own Python type, so a driver that decoded something else is never packed.
    def check(v: Any) -> Any:
        if type(v) is not kind:
            raise TypeError(f"{type(v).__name__} is not {kind.__name__}")
        return v

    return check


def _days(v: Any) -> int:
    if type(v) is not date:
        raise TypeError("not a date")
    return (v - _EPOCH_DAY).days


def _time_us(v: Any) -> int:
    if type(v) is not time or v.tzinfo is not None:
        raise TypeError("not a time without zone")
    return ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond


def _naive_us(v: Any) -> int:
    if type(v) is not datetime or v.tzinfo is not None:
        raise TypeError("not a datetime without zone")
    return (v - _EPOCH) // _MICROSECOND


def _aware_us(tz: str) -> Callable[[Any], int]:
    if tz not in ("UTC", "+00:00"):
        raise ValueError(f"zone {tz!r} is not packed")

    def convert(v: Any) -> int:
        if type(v) is not datetime or v.utcoffset() is None:
            raise TypeError("not a datetime with zone")
        return (v - _EPOCH_UTC) // _MICROSECOND

    return convert


def _variable(values: Sequence[Any], t: pa.DataType) -> pa.Array | None:
    import pyarrow as pa

    text = pa.types.is_string(t)
    offsets = array.array(_code("i", 32), [0])
    chunks: list[bytes] = []
    end = 0
    for v in values:
        if v is not None:
            if text and type(v) is str:
                raw = v.encode()
            elif not text and type(v) is bytes:
                raw = v
            else:
                return None
            chunks.append(raw)
            end += len(raw)
            if end > _MAX_OFFSET:
                return None
        offsets.append(end)
    return pa.Array.from_buffers(t, len(values), [
        _validity(values), pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(chunks))])


def _validity(values: Sequence[Any]) -> pa.Buffer | None:
    import pyarrow as pa

    if all(v is not None for v in values):
        return None
    return pa.py_buffer(_bits([v is not None for v in values]))


def _bits(flags: Sequence[bool]) -> bytes:
    """Arrow's bitmap: bit ``i % 8`` of byte ``i // 8`` is flag ``i``."""
    out = bytearray((len(flags) + 7) // 8)
    for i, flag in enumerate(flags):
        if flag:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)
