"""Vectorized checks of whole columns: timestamps in the forms logs write, costs.

Like `tokenstat.sources.tabular`, each function converts an Arrow column with compute
kernels and returns ``[(row, reason)]`` for the few values it could not use, so that only
bad rows are looked at in Python.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.sources.base import parse_timestamp
from tokenstat.sources.limits import timestamps_in_window

UTC_US = pa.timestamp("us", tz="UTC")
# ISO 8601 date or date-time, optional fraction and zone: what Arrow's cast parses
_ISO = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ZONED = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_DATE_PART = r"^\d{4}-\d{2}-\d{2}"
_EPOCH = r"^\d{9,19}(?:\.\d+)?$"
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def _chunked(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def parse_timestamps(
    column: pa.Array | pa.ChunkedArray, field: str = "ts"
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """UTC microsecond timestamps and ``[(row, reason)]`` for values that are not times.

    Times outside the plausible window (`tokenstat.sources.limits.time_window`) are
    reported too. Accepts timestamps, dates, epoch numbers (seconds, milliseconds, microseconds or
    nanoseconds, told apart by size) and ISO 8601 text with or without a fraction and a
    zone (``2026-03-01``, ``2026-03-01 10:00:00.040``, ``2026-03-01T10:00:00+02:00``);
    a time without a zone is taken as UTC.
    """
    array = _chunked(column)
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        # compared in the column's own unit: no value is too large to check
        values, outside = timestamps_in_window(array)
        missing = [
            (i, f"missing {field}") for i in pc.indices_nonzero(pc.is_null(array)).to_pylist()
        ]
        return values, missing + outside
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        values = _from_epoch(pc.cast(array, pa.float64()))
    elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        values = _from_text(pc.cast(array, pa.string()))
    elif pa.types.is_null(array.type):
        values = pa.nulls(len(array), UTC_US)
    else:
        values = pa.nulls(len(array), UTC_US)
        return values, [
            (i, f"{field} should be a date/time, not {array.type}") for i in range(len(array))
        ]
    missing = pc.is_null(values)
    problems = []
    for i in pc.indices_nonzero(missing).to_pylist():
        raw = array[i].as_py()
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            problems.append((i, f"missing {field}"))
        else:
            problems.append((i, f"not a date or time: {raw!r}"))
    values, outside = timestamps_in_window(values)
    return values, problems + outside


def _from_epoch(seconds_or_finer: pa.Array) -> pa.Array:
    """Epoch numbers to UTC timestamps; the unit is guessed from the size of each value."""
    x = seconds_or_finer
    scale = pc.if_else(
        pc.less(pc.abs(x), 1e11),
        1e6,
        pc.if_else(pc.less(pc.abs(x), 1e14), 1e3, pc.if_else(pc.less(pc.abs(x), 1e17), 1.0, 1e-3)),
    )
    micros = pc.round(pc.multiply(x, scale))
    in_range = pc.and_(pc.greater(micros, -6.2e16), pc.less(micros, 2.5e17))
    micros = pc.if_else(in_range, micros, None)
    return pc.cast(pc.cast(micros, pa.int64()), UTC_US)


def _from_text(text: pa.Array) -> pa.Array:
    text = pc.utf8_trim_whitespace(text)
    values = pa.nulls(len(text), UTC_US)
    iso = pc.fill_null(pc.match_substring_regex(text, _ISO), False)
    zoned = pc.and_(iso, pc.fill_null(pc.match_substring_regex(text, _ZONED), False))
    # a trailing "-05" of a date is not a zone
    date_only = pc.fill_null(pc.match_substring_regex(text, _DATE_PART + "$"), False)
    zoned = pc.and_(zoned, pc.invert(date_only))
    naive = pc.and_(iso, pc.invert(zoned))
    if pc.any(zoned).as_py():
        values = pc.coalesce(values, _cast_each(pc.if_else(zoned, text, None), UTC_US))
    if pc.any(naive).as_py():
        parsed = _cast_each(pc.if_else(naive, text, None), pa.timestamp("us"))
        values = pc.coalesce(values, pc.assume_timezone(parsed, "UTC"))
    epoch = pc.fill_null(pc.match_substring_regex(text, _EPOCH), False)
    if pc.any(epoch).as_py():
        numbers = pc.cast(pc.if_else(epoch, text, None), pa.float64())
        values = pc.coalesce(values, _from_epoch(numbers))
    return values


def _cast_each(text: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast text to a timestamp type; when one value fails (a 30th of February), cast the
    values one by one so that only that one becomes null."""
    try:
        return pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = []
    for value in text.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            parsed = parse_timestamp(value)
        except ValueError:
            out.append(None)
            continue
        out.append(parsed if target.tz else parsed.replace(tzinfo=None))
    return pa.array(out, target)


def parse_costs(
    column: pa.Array | pa.ChunkedArray, field: str = "cost_reported"
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Float64 costs (USD) and ``[(row, reason)]`` for values that are not numbers.

    Empty values stay null (no cost reported)."""
    array = _chunked(column)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        return pc.cast(array, pa.float64()), []
    if pa.types.is_decimal(array.type):
        return pc.cast(array, pa.float64()), []
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.float64()), []
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return pa.nulls(len(array), pa.float64()), [
            (i, f"{field} should be a number, not {array.type}") for i in range(len(array))
        ]
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    empty = pc.fill_null(pc.equal(text, ""), True)
    good = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    problems = [
        (i, f"{field} is not a number: {array[i].as_py()!r}")
        for i in pc.indices_nonzero(pc.and_(pc.invert(good), pc.invert(empty))).to_pylist()
    ]
    values = pc.cast(pc.if_else(good, text, None), pa.float64())
    return values, problems
