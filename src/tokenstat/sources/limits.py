"""The limits every importer applies to what it reads (docs/importers.md, "Limits and bad input").

One place decides what a plausible value is, so every importer (built-in or third-party)
applies the same rules through the shared helpers (`tokenstat.sources.base`,
``records``, ``tabular``, ``columns``, ``jsonio``) and, as a last check on every batch, through
`screen_batch` in the import pipeline:

- a token or request count is an integer from 0 to `MAX_COUNT` per field per record;
- a time lies inside the plausible window (`time_window`): from 2015-01-01 to two days
  after now, or what ``TOKENSTAT_TIME_WINDOW`` (``FROM..TO``, ISO dates) says;
- a line or JSON record is at most `MAX_RECORD_BYTES` long, a CSV line at most
  `MAX_CSV_LINE_BYTES`, a CSV header at most `MAX_HEADER_BYTES`;
- JSON nests at most `MAX_DEPTH` levels, checked on the bytes before a parser sees them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.errors import ImportFormatError, ImportOptionError

# 10^15 tokens per field per record: far above any real request or market day (the largest
# public daily totals are ~10^13), and 9,223 such values still sum inside int64.
MAX_COUNT = 10**15
MAX_RECORD_BYTES = 8 << 20
# below the CSV reader's block (`tokenstat.sources.tabular.READ_BLOCK_BYTES`), so that one
# long line never makes the reader give up on the rest of the file
MAX_CSV_LINE_BYTES = 1 << 19
MAX_HEADER_BYTES = 128 << 10
MAX_DEPTH = 64
LIMIT_TEXT = "10^15"
DEFAULT_WINDOW_START = datetime(2015, 1, 1, tzinfo=UTC)
WINDOW_ENV = "TOKENSTAT_TIME_WINDOW"
BOM = b"\xef\xbb\xbf"


def is_count_field(name: str) -> bool:
    """Whether a canonical column holds a count the limits apply to (every ``*_tokens``
    column, whatever columns the schema gains, and ``requests``)."""
    return name.endswith("_tokens") or name == "requests"


def time_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(first, last) plausible UTC time of a record.

    Default: 2015-01-01 to ``now`` + 2 days. ``TOKENSTAT_TIME_WINDOW=FROM..TO`` (ISO dates or
    times, either side may be empty for the default) overrides it; a malformed value is an
    `ImportOptionError`.
    """
    now = now or datetime.now(UTC)
    first, last = DEFAULT_WINDOW_START, now + timedelta(days=2)
    spec = os.environ.get(WINDOW_ENV, "").strip()
    if spec:
        start, sep, end = spec.partition("..")
        try:
            if not sep:
                raise ValueError(spec)
            first = _bound(start) or first
            last = _bound(end) or last
        except ValueError:
            raise ImportOptionError(
                f"{WINDOW_ENV} should be FROM..TO with ISO dates, not {spec!r}",
                hint="e.g. TOKENSTAT_TIME_WINDOW=2010-01-01..2030-12-31",
            ) from None
    return first, last


def _bound(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def has_undecodable(text: str) -> bool:
    """Whether text decoded with ``errors="surrogateescape"`` held bytes that are not UTF-8."""
    return any("\udc80" <= char <= "\udcff" for char in text)


def window_text(window: tuple[datetime, datetime]) -> str:
    return f"{window[0]:%Y-%m-%d}..{window[1]:%Y-%m-%d}"


def check_count(number: int) -> int:
    """``number`` when it is a count inside the limits; ValueError with the reason otherwise."""
    if number < 0:
        raise ValueError(f"negative token count: {number}")
    if number > MAX_COUNT:
        raise ValueError(f"token count too large: {number} (limit {LIMIT_TEXT} per record)")
    return number


def check_time(value: datetime, window: tuple[datetime, datetime] | None = None) -> datetime:
    """``value`` (aware, UTC) when it lies in the plausible window; ValueError otherwise."""
    first, last = window or time_window()
    if not first <= value <= last:
        raise ValueError(f"time {value.isoformat()} is outside {window_text((first, last))}")
    return value


_UNITS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
UTC_US = pa.timestamp("us", tz="UTC")


def timestamps_in_window(array: pa.Array) -> tuple[pa.Array, list[tuple[int, str]]]:
    """A timestamp or date column (any unit; naive values are UTC) as UTC microsecond
    timestamps, with ``[(row, reason)]`` for the values outside the plausible window
    (`time_window`), which become null. Compared as integers in the column's own unit, so
    values no microsecond timestamp can hold (year 200000) are reported, not an error."""
    window = time_window()
    if pa.types.is_date(array.type):
        raw = pc.cast(pc.cast(array, pa.date32()), pa.int32())
        bounds = [int(t.timestamp()) // 86400 for t in window]
        wide = pa.int32()
    elif pa.types.is_timestamp(array.type):
        raw = pc.cast(array, pa.int64())
        per_second = _UNITS_PER_SECOND[array.type.unit]
        bounds = [int(t.timestamp()) * per_second for t in window]
        wide = pa.int64()
    else:
        raise TypeError(f"not a date or timestamp column: {array.type}")
    inside = pc.and_(
        pc.greater_equal(raw, pa.scalar(bounds[0], wide)),
        pc.less_equal(raw, pa.scalar(bounds[1], wide)),
    )
    outside = pc.fill_null(pc.invert(inside), False)
    problems: list[tuple[int, str]] = []
    if pc.any(outside).as_py():
        for i in pc.indices_nonzero(outside).to_pylist():
            problems.append((i, f"time {_show(array, raw, i)} is outside {window_text(window)}"))
        array = pc.if_else(outside, pa.scalar(None, array.type), array)
    if pa.types.is_date(array.type):
        naive = pc.cast(pc.cast(array, pa.date32()), pa.timestamp("us"))
        return pc.cast(naive, UTC_US), problems
    if array.type.tz:
        return pc.cast(array, UTC_US), problems
    return pc.cast(pc.cast(array, pa.timestamp("us")), UTC_US), problems


def _show(array: pa.Array, raw: pa.Array, index: int) -> str:
    try:
        return str(array[index].as_py())
    except (ValueError, OverflowError):  # beyond what Python's datetime holds
        return f"{raw[index].as_py()} ({array.type})"


# ---- JSON documents, checked on the bytes before a parser sees them ----------------------

# what matters to the check: string quotes and escapes, brackets, bare non-finite numbers,
# and integers too long for a 64-bit parser (they are quoted, then named as too large)
_STRUCTURE = re.compile(rb'[\\"\[\]{}]|-?Infinity|NaN|-?\d{19,}')
# the last delimiter of a piece and what follows it: a token never spans a delimiter
_LAST_DELIMITER = re.compile(rb'[\s,:\[\]{}"][^\s,:\[\]{}"]*\Z')


class NestingTooDeep(ImportFormatError):
    """JSON that nests deeper than `MAX_DEPTH` levels (found before parsing it)."""


class JsonGuard:
    """Follows a JSON byte stream fed in pieces, outside strings, with constant memory.

    ``feed(data)`` returns the piece with bare ``NaN``/``Infinity``/``-Infinity`` and
    integers of 19 digits or more quoted (``"NaN"``), so that a strict 64-bit streaming
    parser reads on and the field holding one is reported as not a number or too large.
    When the bracket depth passes ``limit`` it returns the piece up to that bracket, so the
    records before it can still be parsed, and the next ``feed`` raises `NestingTooDeep`.
    Pieces must not split a token: see `split_at_delimiter`.
    """

    def __init__(self, limit: int = MAX_DEPTH):
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self._skip_first = False  # the previous piece ended on a backslash inside a string
        self.failed: NestingTooDeep | None = None

    def feed(self, data: bytes) -> bytes:
        if self.failed is not None:
            raise self.failed
        start = 0
        if self._skip_first and data:
            self._skip_first = False
            start = 1
        escaped_until = -1
        quote_at: list[tuple[int, int]] = []
        for match in _STRUCTURE.finditer(data, start):
            pos = match.start()
            if pos < escaped_until:
                continue
            char = data[pos]
            if self.in_string:
                if char == 0x5C:  # backslash: the next byte is escaped
                    if pos + 1 >= len(data):
                        self._skip_first = True
                    escaped_until = pos + 2
                elif char == 0x22:
                    self.in_string = False
            elif char == 0x22:
                self.in_string = True
            elif char in (0x5B, 0x7B):
                self.depth += 1
                if self.depth > self.limit:
                    self.failed = NestingTooDeep(f"JSON nested deeper than {self.limit} levels")
                    return _quoted(data[:pos], quote_at)
            elif char in (0x5D, 0x7D):
                self.depth -= 1
            else:  # NaN, Infinity, a long integer, outside a string
                quote_at.append(match.span())
        return _quoted(data, quote_at)


def _quoted(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    if not spans:
        return data
    parts, last = [], 0
    for begin, end in spans:
        parts += [data[last:begin], b'"', data[begin:end], b'"']
        last = end
    parts.append(data[last:])
    return b"".join(parts)


def split_at_delimiter(data: bytes) -> tuple[bytes, bytes]:
    """(head, tail) of a piece of JSON such that no token of the head runs into the tail."""
    match = _LAST_DELIMITER.search(data)
    if match is None:
        return b"", data
    return data[: match.start() + 1], data[match.start() + 1 :]


def check_depth(data: bytes, limit: int = MAX_DEPTH) -> None:
    """Raise `NestingTooDeep` when one JSON text nests deeper than ``limit``."""
    if data.count(b"[") + data.count(b"{") > limit:
        guard = JsonGuard(limit)
        guard.feed(data)
        if guard.failed is not None:
            raise guard.failed


# ---- the last check of every batch in the pipeline ---------------------------------------


def screen_batch(
    batch: pa.RecordBatch, where: Path | str, bad: Callable[[str, str | None, str, str], None]
) -> pa.RecordBatch:
    """``batch`` without the rows whose counts or time are outside the limits.

    Each row left out is reported through ``bad(location, field, reason, raw)`` (e.g.
    `ReadContext.bad`), located by file and event id. Importers check these while parsing,
    with the line; this is the check that holds for any importer whatever it does. Cheap:
    vectorized, and rows are looked at one by one only when some fail.
    """
    if batch.num_rows == 0:
        return batch
    failed: pa.Array | None = None
    checks: list[tuple[str, pa.Array]] = []
    for name in batch.schema.names:
        if not is_count_field(name) or not pa.types.is_integer(batch.schema.field(name).type):
            continue
        column = batch.column(name)
        outside = pc.fill_null(
            pc.or_(pc.less(column, 0), pc.greater(column, pa.scalar(MAX_COUNT, column.type))),
            False,
        )
        checks.append((name, outside))
    if "ts" in batch.schema.names:
        first, last = time_window()
        ts = batch.column("ts")
        outside = pc.fill_null(
            pc.or_(
                pc.less(ts, pa.scalar(first, ts.type)), pc.greater(ts, pa.scalar(last, ts.type))
            ),
            False,
        )
        checks.append(("ts", outside))
    for _, outside in checks:
        failed = outside if failed is None else pc.or_(failed, outside)
    if failed is None or not pc.any(failed).as_py():
        return batch
    for index in pc.indices_nonzero(failed).to_pylist():
        row = {k: v[0] for k, v in batch.slice(index, 1).to_pydict().items()}
        for name, outside in checks:
            if outside[index].as_py():
                reason = _screen_reason(name, row[name])
                location = f"{where}: event {row.get('event_id')}"
                bad(location, name, reason, str(row)[:2000])
                break
    return batch.filter(pc.invert(failed))


def _screen_reason(name: str, value: object) -> str:
    if name == "ts":
        return f"time {value} is outside {window_text(time_window())}"
    try:
        check_count(int(value))  # type: ignore[call-overload]
    except ValueError as exc:
        return str(exc)
    return f"{name} is outside the limits"  # pragma: no cover - the check said it was
