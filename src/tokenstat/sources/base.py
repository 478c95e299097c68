"""The importer contract.

An importer (a *source*) turns files of one format into batches of canonical usage rows
(`tokenstat.schema.USAGE_SCHEMA`). It knows nothing of the ledger or of reports:

- ``name``, ``description``, ``reads``: how ``tokenstat sources`` shows it;
- ``discover()``: default paths to read when the user names none (flag, then
  environment variable, then default directory); an empty list when there are none;
- ``detect(path, head)``: True when the first bytes of a file look like this format
  (used by ``tokenstat import auto``);
- ``read(path, ctx)``: yields ``pyarrow.RecordBatch`` es in the canonical schema. A record
  that cannot be used is reported with ``ctx.bad(...)`` and skipped; ``model`` may be left
  null (the import pipeline resolves ``model_raw`` through the catalog).

Optional class attributes:

- ``file_glob``: when a directory is named, only the files below it matching this pattern
  are read (files named explicitly are always read);
- ``incremental``: the source reads append-only line files through `iter_lines`; the
  pipeline then skips files unchanged since the last import (same size and mtime) and
  hands a grown file's start offset in ``ctx.start_offset`` (see `tokenstat.incremental`);
- ``keep``: which copy of a repeated ``event_id`` the ledger keeps: ``"first"`` (default)
  or ``"largest"`` (the copy with the most input + output tokens, for logs that write
  growing partial counts of the same event).

Built-in importers register through the same entry-point group third parties use
(``tokenstat.sources``), see `tokenstat.sources.registry`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.schema import USAGE_SCHEMA
from tokenstat.sources.limits import BOM, MAX_RECORD_BYTES, check_count, check_time

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class BadRecord:
    """A record that was not imported, and why."""

    location: str  # "file:line" or "file:record N"
    field: str | None
    reason: str
    raw: str | None = None

    def message(self) -> str:
        return str(ImportFormatError(self.reason, location=self.location, field=self.field))


@dataclass
class ReadContext:
    """What an importer may use while reading: options and places to report to."""

    options: dict[str, Any] = field(default_factory=dict)
    on_bad: Callable[[BadRecord], None] = lambda bad: None
    on_warning: Callable[[str], None] = lambda message: None
    # source-level facts to keep in the ledger, e.g. {"as_of": "..."}
    meta: dict[str, str] = field(default_factory=dict)
    # model -> (author, country) given by the data itself (market files)
    model_overrides: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # bytes read so far, for progress bars
    on_progress: Callable[[int], None] = lambda nbytes: None
    # incremental sources: where to start in the current file (a line start) and the line
    # number before it; `iter_lines` sets end_offset/end_line after the last complete line
    start_offset: int = 0
    start_line: int = 0
    end_offset: int = 0
    end_line: int = 0
    # incremental sources: what the importer kept from the previous read of this file
    # (empty when reading from the start); updated in place, stored as JSON
    file_state: dict[str, Any] = field(default_factory=dict)

    def bad(self, location: str, field_name: str | None, reason: str, raw: Any = None) -> None:
        text = None if raw is None else str(raw)[:2000]
        self.on_bad(BadRecord(location, field_name, reason, text))

    def warn(self, message: str) -> None:
        self.on_warning(message)


class Source:
    """Base class of importers; subclasses set the class attributes and ``read``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reads: ClassVar[str] = ""
    file_glob: ClassVar[str | None] = None
    incremental: ClassVar[bool] = False
    keep: ClassVar[str] = "first"

    def discover(self) -> list[Path]:
        return []

    def detect(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading, transparently decompressing ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def open_text(path: Path) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")


def iter_lines(
    path: Path, ctx: ReadContext, chunk_bytes: int = 1 << 20
) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its newline) from ``ctx.start_offset`` to the end of a file.

    Line numbers count from 1 at the start of the file (``ctx.start_line`` lines precede
    the start offset). Sets ``ctx.end_offset`` and ``ctx.end_line`` after the last line
    that ends with a newline: a last line without one is yielded too (it may be complete)
    but left out of the end position, so an incremental import reads it again once the
    writer has finished it. Reports bytes read through ``ctx.on_progress``. A UTF-8 byte
    order mark at the start of the file is skipped; a line longer than
    `tokenstat.sources.limits.MAX_RECORD_BYTES` is reported as a bad record and skipped
    without being held in memory.
    """
    lineno = ctx.start_line
    position = ctx.start_offset
    ctx.end_offset, ctx.end_line = position, lineno
    with open_binary(path) as handle:
        if position:
            handle.seek(position)
        rest = b""
        overlong = 0  # bytes of the current line skipped so far (it is too long)
        first = position == 0
        while chunk := handle.read(chunk_bytes):
            ctx.on_progress(len(chunk))
            if first:
                first = False
                if chunk.startswith(BOM):
                    chunk, position = chunk[len(BOM) :], position + len(BOM)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                lineno += 1
                position += overlong + len(line) + 1
                if overlong or len(line) > MAX_RECORD_BYTES:
                    _too_long(ctx, path, lineno, overlong + len(line))
                    overlong = 0
                    continue
                yield lineno, line
            if len(rest) > MAX_RECORD_BYTES:
                overlong += len(rest)
                rest = b""
            ctx.end_offset, ctx.end_line = position, lineno
        if overlong or len(rest) > MAX_RECORD_BYTES:
            _too_long(ctx, path, lineno + 1, overlong + len(rest))
        elif rest:
            yield lineno + 1, rest


def _too_long(ctx: ReadContext, path: Path, lineno: int, size: int) -> None:
    ctx.bad(
        f"{path}:{lineno}",
        None,
        f"line of {size} bytes is longer than the limit of {MAX_RECORD_BYTES} bytes",
    )


def read_head(path: Path, nbytes: int = 4096) -> bytes:
    """The first bytes of a file (decompressed), for format detection."""
    with open_binary(path) as handle:
        return handle.read(nbytes)


def make_event_id(source: str, *key: object) -> str:
    """A stable 128-bit id from a source name and a record's natural key."""
    text = "\x1f".join([source, *("" if k is None else str(k) for k in key)])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def parse_token_count(value: Any) -> int:
    """A token count as a non-negative int; accepts ints, integral floats and digit strings.

    Raises ValueError with a short reason otherwise.
    """
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"not an integer: {value!r}")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise ValueError(f"not an integer: {value!r}") from None
            if not math.isfinite(as_float) or not as_float.is_integer():
                raise ValueError(f"not an integer: {value!r}") from None
            number = int(as_float)
    else:
        raise ValueError(f"not an integer: {value!r}")
    return check_count(number)


def parse_timestamp(value: Any, *, window: bool = True) -> datetime:
    """A UTC datetime from an ISO date/datetime string, epoch seconds/ms, or a date, inside
    the plausible window (`tokenstat.sources.limits.time_window`) unless ``window`` is
    False (for facts about a file, such as when it was made, rather than record times).

    Naive datetimes are taken as UTC. Raises ValueError otherwise (a time outside the
    window, or one no calendar has, included).
    """
    try:
        parsed = _any_timestamp(value)
        return check_time(parsed) if window else parsed
    except (OverflowError, OSError):
        raise ValueError(f"not a date or time: {value!r}") from None


def _any_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"not a date or time: {value!r}")
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date or time: {value!r}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError(f"not a date or time: {value!r}")


class RowBuilder:
    """Accumulates canonical rows as columns and hands out RecordBatches.

    Importers that parse records one at a time call ``add(...)`` and ``yield from
    builder.flush_full()`` in their loop, then ``yield from builder.flush()`` at the end.
    """

    def __init__(self, source: str, batch_rows: int = BATCH_ROWS):
        self.source = source
        self.batch_rows = batch_rows
        self._columns: dict[str, list[Any]] = {name: [] for name in USAGE_SCHEMA.names}

    def __len__(self) -> int:
        return len(self._columns["event_id"])

    def add(
        self,
        *,
        event_id: str,
        ts: datetime,
        model_raw: str,
        grain: str = "request",
        model: str | None = None,
        provider: str | None = None,
        app: str | None = None,
        user: str | None = None,
        project: str | None = None,
        session: str | None = None,
        machine: str | None = None,
        input_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        output_tokens: int = 0,
        reasoning_tokens: int = 0,
        requests: int | None = 1,
        cost_reported: float | None = None,
    ) -> None:
        row = locals()
        for name, values in self._columns.items():
            values.append(self.source if name == "source" else row[name])

    def flush_full(self) -> Iterator[pa.RecordBatch]:
        if len(self) >= self.batch_rows:
            yield from self.flush()

    def flush(self) -> Iterator[pa.RecordBatch]:
        if len(self):
            yield pa.RecordBatch.from_pydict(self._columns, schema=_BUILD_SCHEMA)
            self._columns = {name: [] for name in USAGE_SCHEMA.names}


# Importers may leave ``model`` null: the pipeline resolves it from ``model_raw``.
_BUILD_SCHEMA = pa.schema([f.with_nullable(True) if f.name == "model" else f for f in USAGE_SCHEMA])


# columns an importer may leave out: the pipeline fills in the machine of local logs, and
# most sources know no one-hour cache writes
COLUMN_DEFAULTS: dict[str, Any] = {"machine": None, "cache_write_1h_tokens": 0}


def batch_from_columns(columns: dict[str, Any], **constants: Any) -> pa.RecordBatch:
    """A canonical batch from equal-length columns (lists or Arrow arrays) plus columns
    of one value each (every schema column must be given one way or the other, but those
    of `COLUMN_DEFAULTS`)."""
    n = len(next(iter(columns.values())))
    constants = {**COLUMN_DEFAULTS, **constants}
    arrays = [
        _as_array(columns[f.name], f.type)
        if f.name in columns
        else pa.array([constants[f.name]] * n, f.type)
        for f in _BUILD_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=_BUILD_SCHEMA)


def _as_array(values: Any, type_: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    return pa.array(values, type_)
